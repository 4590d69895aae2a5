export * from './role-machine.js';
export * from './role-manager.js';
