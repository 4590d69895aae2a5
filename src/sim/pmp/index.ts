export * from './pmp-simulator.js';
export { isLoopbackAddress } from './auth.js';
export type { PmpSimStats } from './stats.js';
export * from './sim-data.js';
export * from './sim-errors.js';
export { FAULT_KINDS, validateFault, type Fault, type FaultKind } from './faults.js';
export { MSG as PMP_SIM_MESSAGES, OP as PMP_OPERATIONS, PMP_VARIANTS, REQUEST_PLACEHOLDER, type PmpVariant } from './responses.js';
