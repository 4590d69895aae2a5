export * from './ports.js';
export * from './dispatcher.js';
export * from './policy.js';
export * from './resolve-resource.js';
export { commandTable } from './command-table.js';
export { listAccounts, listAccountsCommand } from './list-accounts.js';
export { getPassword, getPasswordCommand } from './get-password.js';
export type { CommandContext, CommandSpec, AuditFacts } from './command-context.js';
