export * from './ports.js';
export * from './dispatcher.js';
export * from './policy.js';
export * from './resolve-resource.js';
export { listAccounts } from './list-accounts.js';
export { getPassword } from './get-password.js';
export type { CommandContext, AuditFacts } from './command-context.js';
