export * from './errors.js';
export * from './clock.js';
export * from './version.js';
export * from './state-machine.js';
