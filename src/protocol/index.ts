export * from './messages.js';
export * from './codec.js';
export * from './decoded.js';
export * from './validate.js';
export * from './json-shape.js';
export * from './event-codec.js';
export * from './access-params.js';
