import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { intOption } from './cli-options.js';
import {
  LISTENER_ARGS,
  LISTENER_MODES,
  PmpSimError,
  type AccessControlOptions,
  type ListenerArg,
  type ListenerMode,
  type RotationOptions,
} from '../sim/pmp/index.js';

/**
 * The flags of `credgw sim pmp` for the vault's lifecycle: PAM360's access
 * control (approval timeout, auto check-in, replacement answers) and what a
 * password change sets off (reset listener, syslog target, operation
 * names). docs/pmp-simulator.md lists them.
 */

/** The raw flag values as commander gives them. */
export interface LifecycleFlags {
  approvalTimeoutMinutes?: string;
  autoCheckInMinutes?: string;
  accessAnswers?: string;
  resetListener?: string;
  resetListenerPreCommand?: string;
  resetListenerMode?: string;
  resetListenerArgs?: string;
  /** One collector, or several (the flag repeated). */
  syslog?: string | string[];
  syslogFacility?: string;
  changeOperation?: string;
  rotateOperation?: string;
}

export function addLifecycleOptions(cmd: Command): Command {
  return cmd
    .option('--approval-timeout-minutes <n>', 'a pending access request expires after this long (default 30)')
    .option('--auto-check-in-minutes <n>', 'an approved password (ACCESS now) is released, and checked out, for this long (default 30)')
    .option('--access-answers <file>', 'JSON file replacing the unconfirmed access-control answers (operation names, messages, status words)')
    .option('--reset-listener <file>', 'password reset listener run after each password change (legacy PMP arguments)')
    .option('--reset-listener-pre-command <cmd>', 'program (and arguments, space-separated) run with the listener as its argument, e.g. "powershell -File"')
    .option('--reset-listener-mode <mode>', `when the listener runs: ${LISTENER_MODES.join(', ')} (default post)`)
    .option('--reset-listener-args <list>', `the listener's arguments, comma-separated from ${LISTENER_ARGS.join(', ')} (default resource,dns,account,old,new)`)
    .option(
      '--syslog <target>',
      'send audit rows of password changes as RFC 3164 syslog: udp://host:port or tcp://host:port; repeat for several collectors (both gateways of a pair)',
      (value: string, earlier: string[] | undefined) => [...(earlier ?? []), value],
    )
    .option('--syslog-facility <facility>', 'syslog facility name or number (default auth)')
    .option('--change-operation <name>', 'audit operation of a change through the API (default "Password Changed")')
    .option('--rotate-operation <name>', 'audit operation of a rotation, POST /__sim/rotate (default "Password Reset")');
}

/** Access-control and rotation options from the flags; throws a message naming the flag. */
export function lifecycleOptions(f: LifecycleFlags): { accessControl: AccessControlOptions; rotation: RotationOptions } {
  const accessControl: AccessControlOptions = {};
  if (f.approvalTimeoutMinutes !== undefined) accessControl.approvalTimeoutMs = intOption(f.approvalTimeoutMinutes, '--approval-timeout-minutes', 1, 525_600) * 60_000;
  if (f.autoCheckInMinutes !== undefined) accessControl.autoCheckInMs = intOption(f.autoCheckInMinutes, '--auto-check-in-minutes', 1, 525_600) * 60_000;

  const rotation: RotationOptions = {};
  const listenerOnly = [f.resetListenerPreCommand, f.resetListenerMode, f.resetListenerArgs].some((v) => v !== undefined);
  if (f.resetListener === undefined && listenerOnly) throw new Error('--reset-listener-pre-command, --reset-listener-mode and --reset-listener-args need --reset-listener');
  if (f.resetListener !== undefined) {
    const mode = f.resetListenerMode ?? 'post';
    if (!(LISTENER_MODES as readonly string[]).includes(mode)) throw new Error(`--reset-listener-mode must be one of ${LISTENER_MODES.join(', ')} (got "${mode}")`);
    const args = f.resetListenerArgs?.split(',').map((a) => a.trim());
    for (const a of args ?? []) {
      if (!(LISTENER_ARGS as readonly string[]).includes(a)) throw new Error(`--reset-listener-args: "${a}" is not one of ${LISTENER_ARGS.join(', ')}`);
    }
    const pre = f.resetListenerPreCommand?.split(/\s+/).filter((w) => w !== '');
    rotation.listener = {
      command: f.resetListener,
      mode: mode as ListenerMode,
      ...(args ? { args: args as ListenerArg[] } : {}),
      ...(pre && pre.length > 0 ? { preCommand: pre } : {}),
    };
  }
  if (f.syslogFacility !== undefined && f.syslog === undefined) throw new Error('--syslog-facility needs --syslog');
  if (f.syslog !== undefined) {
    const facility = f.syslogFacility === undefined ? undefined : /^\d+$/.test(f.syslogFacility) ? Number(f.syslogFacility) : f.syslogFacility;
    const targets = typeof f.syslog === 'string' ? [f.syslog] : f.syslog;
    const collectors = targets.map((target) => ({ target, ...(facility !== undefined ? { facility } : {}) }));
    rotation.syslog = collectors.length === 1 ? collectors[0]! : collectors;
  }
  if (f.changeOperation !== undefined || f.rotateOperation !== undefined) {
    rotation.operations = {
      ...(f.changeOperation !== undefined ? { change: f.changeOperation } : {}),
      ...(f.rotateOperation !== undefined ? { rotate: f.rotateOperation } : {}),
    };
  }
  return { accessControl, rotation };
}

/** The replacement answers of an --access-answers file (validated when the simulator starts). */
export function readAccessAnswers(file: string): NonNullable<AccessControlOptions['answers']> {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as NonNullable<AccessControlOptions['answers']>;
  } catch (err) {
    throw new PmpSimError('SIM_OPTIONS_INVALID', '--access-answers', `cannot read ${file} as JSON: ${(err as Error).message}`, { cause: err });
  }
}
