export * from './pin.js';
export * from './certificates.js';
export * from './seal.js';
export * from './trust.js';
export * from './inspect.js';
