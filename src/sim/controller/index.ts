export * from './arbiter.js';
export * from './epoch-store.js';
export * from './hub.js';
export * from './hub-options.js';
export * from './hub-types.js';
export { stableStringify } from './command-intake.js';
export * from './server.js';
