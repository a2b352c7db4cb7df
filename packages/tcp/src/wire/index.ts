export * from './types.js';
export * from './address.js';
export * from './checksum.js';
export * from './ip.js';
export * from './tcp-options.js';
export * from './tcp.js';
export * from './packet.js';
export * from './describe.js';
