import type { CommandMessage, CommandName } from '../protocol/index.js';
import type { AuditFacts, CommandContext, CommandSpec } from './command-context.js';
import { checkInPasswordCommand } from './check-in-password.js';
import { getPasswordCommand } from './get-password.js';
import { listAccountsCommand } from './list-accounts.js';

/** Each command's params, by name, as protocol/ decodes them. */
type ParamsByName = { [C in CommandMessage as C['name']]: C['params'] };

/** Every command the protocol names has an entry: a name added to protocol's COMMAND_NAMES without one does not compile. */
type CommandTable = { readonly [N in CommandName]: CommandSpec<ParamsByName[N]> };

/** The commands the dispatcher runs: adding one is a file in commands/ and a row here. */
export const commandTable: CommandTable = {
  listAccounts: listAccountsCommand,
  getPassword: getPasswordCommand,
  checkInPassword: checkInPasswordCommand,
};

/** A command message whose name and params agree (what protocol/ decodes). */
interface TypedCommand<N extends CommandName> {
  name: N;
  params: ParamsByName[N];
}

/** Runs `cmd` by its table entry. */
export function executeCommand<N extends CommandName>(cmd: TypedCommand<N>, ctx: CommandContext): Promise<object> {
  return commandTable[cmd.name].execute(cmd.params, ctx);
}

/** Writes what `cmd`'s params tell the audit into `facts`. */
export function auditParams<N extends CommandName>(cmd: TypedCommand<N>, facts: AuditFacts): void {
  commandTable[cmd.name].audit(cmd.params, facts);
}
