export * from './errors.js';
export * from './clock.js';
export * from './version.js';
export * from './state-machine.js';
export * from './url.js';
export * from './pmp-id.js';
