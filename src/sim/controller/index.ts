export * from './arbiter.js';
export * from './epoch-store.js';
export * from './hub.js';
export * from './server.js';
