export * from './io.js';
export * from './wire/index.js';
export * from './connection/index.js';
export * from './congestion/index.js';
