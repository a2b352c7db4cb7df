export * from './types.js';
export * from './seq.js';
export * from './options.js';
export * from './buffers.js';
export * from './isn.js';
export * from './connection.js';
