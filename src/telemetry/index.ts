export * from './logger.js';
export * from './audit.js';
export * from './metrics.js';
export * from './event-metrics.js';
export * from './liveness.js';
export * from './status.js';
export * from './http-server.js';
