export * from './trace.js';
export * from './endpoint.js';
export * from './host.js';
export * from './certs.js';
export * from './kernel.js';
export * from './node.js';
