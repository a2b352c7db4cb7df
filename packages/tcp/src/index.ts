export * from './io.js';
export * from './wire/index.js';
export * from './connection/index.js';
export * from './congestion/index.js';
export * from './host/host.js';
export * from './host/syn-cookies.js';
export * from './host/socket.js';
