export * from './backoff.js';
export * from './controller-link.js';
export { controllerTlsOptions, openRawSocket, startTls } from './dial.js';
export * from './heartbeat.js';
export * from './link-errors.js';
export * from './link-state.js';
export * from './proxy.js';
export * from './violations.js';
