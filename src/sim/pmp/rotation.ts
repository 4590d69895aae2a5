import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../../shared/index.js';
import type { AuditTrail, SimAuditRow } from './audit-trail.js';
import { ListenerRunner, type ListenerRun, type ResetListenerOptions, type ResetValues } from './listener-runner.js';
import { storePassword, type CompiledAccount, type CompiledResource, type CompiledResponses } from './responses.js';
import { PmpSimError } from './sim-errors.js';
import { SyslogSender, type SyslogOptions } from './syslog-sender.js';

/**
 * The simulator as the vault that rotates: a password change does what
 * PMP/PAM360 do after a reset. The configured reset listener runs (before
 * and/or after the change, per its mode) with the reset's values as
 * arguments, the audit row is recorded, and it goes to each SIEM collector
 * as a syslog line. `rotate` is the scheduled rotation (POST /__sim/rotate);
 * `passwordChanged` is the hook for a change made through the API.
 */

/** Audit operation names *(unconfirmed: PAM360's audit pages list no names; the gateway's defaults match these)*. */
export const DEFAULT_OPERATIONS = Object.freeze({ change: 'Password Changed', rotate: 'Password Reset' });

export interface RotationOptions {
  /** The password reset listener. Default: none. */
  listener?: ResetListenerOptions;
  /** Where audit rows go as syslog: one collector, or several (PAM360 takes a collector per gateway of a pair). Default: nowhere. */
  syslog?: SyslogOptions | readonly SyslogOptions[];
  /** Operation names of a change through the API and of a rotation. Default {@link DEFAULT_OPERATIONS}. */
  operations?: { change?: string; rotate?: string };
  /** Operated By of a rotation (the syslog line's first word). Default 'admin'. */
  operator?: string;
  /** Operated From of the rows and lines. Default '127.0.0.1'. */
  operatedFrom?: string;
}

/** How a change went: never a password. */
export interface RotationResult {
  ok: true;
  resourceId: string;
  resourceName: string;
  accountId: string;
  accountName: string;
  operation: string;
  /** One entry per listener run (none without a listener). */
  listener: ListenerRun[];
  /** One entry per syslog collector, in the order configured (none without one). */
  syslog: SyslogDelivery[];
  audit: SimAuditRow;
}

/** How the line went to one syslog collector. */
export interface SyslogDelivery {
  target: string;
  sent: boolean;
  error?: string;
}

/** Who and why, for a change's audit row. */
export interface ChangeContext {
  operation?: string;
  operatedBy?: string;
  reason?: string;
}

export interface RotatorParts {
  responses: CompiledResponses;
  audit: AuditTrail;
  clock: Clock;
  log: Logger;
  options?: RotationOptions;
}

export class Rotator {
  private readonly listener: ListenerRunner | undefined;
  private readonly syslog: SyslogSender[];
  private readonly operations: { change: string; rotate: string };
  private readonly operator: string;
  private readonly operatedFrom: string;
  /** Each account's password as last seen, to give a listener the old one after a change made elsewhere. */
  private readonly known = new Map<string, string>();
  /** Changes run one at a time, so old and new passwords never interleave. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly parts: RotatorParts) {
    const o = parts.options ?? {};
    this.listener = o.listener ? new ListenerRunner(o.listener, parts.clock) : undefined;
    this.syslog = (o.syslog === undefined ? [] : Array.isArray(o.syslog) ? o.syslog : [o.syslog as SyslogOptions]).map((t) => new SyslogSender(t));
    this.operations = { ...DEFAULT_OPERATIONS, ...o.operations };
    this.operator = o.operator ?? 'admin';
    this.operatedFrom = o.operatedFrom ?? '127.0.0.1';
    for (const r of parts.responses.byId.values()) for (const a of r.byId.values()) this.known.set(a.account.id, a.account.password);
  }

  /**
   * A scheduled rotation (POST /__sim/rotate): body `{resourceId | resourceName,
   * accountId | accountName, newPassword?, reason?, operation?}`; a new
   * password is generated when none is given.
   */
  rotate(body: unknown): Promise<RotationResult> {
    const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    const { resource, account } = this.find(b);
    const given = b['newPassword'];
    if (given !== undefined && (typeof given !== 'string' || given === '')) throw new PmpSimError('SIM_ADMIN_INVALID', 'newPassword', 'must be a non-empty string');
    const newPassword = given ?? `Sim-Rot-${randomBytes(12).toString('base64url')}`;
    const ctx: ChangeContext = {
      operation: typeof b['operation'] === 'string' ? b['operation'] : this.operations.rotate,
      operatedBy: this.operator,
      reason: typeof b['reason'] === 'string' ? b['reason'] : 'Scheduled password rotation',
    };
    return this.serial(async () => {
      const values = this.values(resource, account, newPassword);
      const runs = await this.runListener('pre', values);
      this.apply(account, newPassword);
      return this.sideEffects(resource, account, values, ctx, runs);
    });
  }

  /**
   * The hook of a change already stored elsewhere (PMP's change-password
   * API): the listener (post-reset: the change is made), the audit row and
   * the syslog line, with the old password as the simulator last knew it.
   */
  passwordChanged(resourceId: string, accountId: string, ctx: ChangeContext = {}): Promise<RotationResult> {
    const { resource, account } = this.find({ resourceId, accountId });
    // The new password as stored now: a later change may land while this one waits in the queue.
    const newPassword = account.account.password;
    return this.serial(async () => {
      const values = { ...this.values(resource, account, newPassword), oldPassword: this.known.get(account.account.id) ?? '' };
      this.known.set(account.account.id, newPassword);
      return this.sideEffects(resource, account, values, { operation: this.operations.change, ...ctx }, []);
    });
  }

  private serial<T>(job: () => Promise<T>): Promise<T> {
    const run = this.queue.then(job, job);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private find(b: Record<string, unknown>): { resource: CompiledResource; account: CompiledAccount } {
    const { responses } = this.parts;
    const rid = b['resourceId'];
    const rname = b['resourceName'];
    const resource =
      typeof rid === 'string' ? responses.byId.get(rid) : typeof rname === 'string' ? responses.byName.get(rname.toLowerCase()) : undefined;
    if (!resource) throw new PmpSimError('SIM_ADMIN_INVALID', 'resourceId', 'give the resourceId or resourceName of a resource the simulator serves');
    const aid = b['accountId'];
    const aname = b['accountName'];
    const account =
      typeof aid === 'string' ? resource.byId.get(aid) : typeof aname === 'string' ? resource.byName.get(aname.toLowerCase()) : undefined;
    if (!account) throw new PmpSimError('SIM_ADMIN_INVALID', 'accountId', `give the accountId or accountName of an account of resource ${resource.resource.id}`);
    return { resource, account };
  }

  private values(resource: CompiledResource, account: CompiledAccount, newPassword: string): ResetValues {
    return {
      resourceName: resource.resource.name,
      dnsName: resource.resource.dnsName,
      accountName: account.account.name,
      oldPassword: account.account.password,
      newPassword,
    };
  }

  /** The new password is what the password call returns from now on. */
  private apply(account: CompiledAccount, newPassword: string): void {
    // An access-controlled account's stored answer stays "[Request]"; its release builds the answer when asked.
    storePassword(account, newPassword);
    this.known.set(account.account.id, newPassword);
  }

  private async runListener(phase: 'pre' | 'post', values: ResetValues): Promise<ListenerRun[]> {
    if (!this.listener?.runsIn(phase)) return [];
    const run = await this.listener.run(phase, values);
    this.parts.log.info({ phase, exitCode: run.exitCode, signal: run.signal, error: run.error, resource: values.resourceName, account: values.accountName }, 'reset listener ran');
    return [run];
  }

  private async sideEffects(
    resource: CompiledResource,
    account: CompiledAccount,
    values: ResetValues,
    ctx: ChangeContext,
    before: ListenerRun[],
  ): Promise<RotationResult> {
    const runs = [...before, ...(await this.runListener('post', values))];
    const operation = ctx.operation ?? this.operations.rotate;
    const operatedBy = ctx.operatedBy ?? this.operator;
    const reason = ctx.reason ?? '';
    const time = this.parts.clock.now();
    const row = { operator: operatedBy, operation, time, status: 'Success', operatedFrom: this.operatedFrom, resourceName: values.resourceName, accountName: values.accountName, reason };
    // All collectors at once, each on its own: one that is down delays or fails no other.
    const syslog = await Promise.all(this.syslog.map((sender) => this.deliver(sender, sender.message(row))));
    const audit = this.parts.audit.record({
      operation,
      operatedBy,
      operatedFrom: this.operatedFrom,
      resourceName: values.resourceName,
      accountName: values.accountName,
      status: 'Success',
      reason,
      detail: { listener: runs.map((r) => ({ phase: r.phase, exitCode: r.exitCode, signal: r.signal, ...(r.error ? { error: r.error } : {}) })), syslog },
    });
    return {
      ok: true,
      resourceId: resource.resource.id,
      resourceName: values.resourceName,
      accountId: account.account.id,
      accountName: values.accountName,
      operation,
      listener: runs,
      syslog,
      audit,
    };
  }

  private async deliver(sender: SyslogSender, line: string): Promise<SyslogDelivery> {
    const { transport, host, port } = sender.target;
    const target = `${transport}://${host.includes(':') ? `[${host}]` : host}:${port}`;
    try {
      await sender.send(line);
      return { target, sent: true };
    } catch (err) {
      this.parts.log.warn({ target, err: { message: (err as Error).message } }, 'syslog line not sent');
      return { target, sent: false, error: (err as Error).message };
    }
  }
}
