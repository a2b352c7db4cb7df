export * from './options.js';
export * from './plan.js';
export * from './delay-queue.js';
export * from './lab.js';
