import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import type { LimitsConfig, PolicyConfig, VaultProfile } from '../../../src/config/types.js';
import { Dispatcher, type DispatcherOptions } from '../../../src/commands/dispatcher.js';
import type { AuditEvent, ReplyPort, RolePort, ServingRole, VaultLease, VaultRegistry } from '../../../src/commands/ports.js';
import { recipientSealer } from '../../../src/daemon/recipient-sealer.js';
import { mayServe } from '../../../src/ha/role-machine.js';
import type { CommandMessage, ResultDelivery, ResultMessage } from '../../../src/protocol/index.js';
import type { AbortLike } from '../../../src/shared/abort.js';
import { ManualClock } from '../../../src/shared/clock.js';
import { GatewayError } from '../../../src/shared/errors.js';
import type {
  AccessRequestInput,
  AccessRequestState,
  CallOptions,
  ListAccountsOptions,
  FetchedPassword,
  PasswordRequest,
  PmpAccount,
  PmpAccountList,
  PmpResource,
  RaisedAccessRequest,
  VaultClient,
} from '../../../src/vault/types.js';

/** Fakes of the command layer's ports, for unit tests (no sockets, no sleeps). */

export const SECRET = 'Sup3r-S3cret-Pa55word!';

export function profile(overrides: Partial<VaultProfile> = {}): VaultProfile {
  return {
    name: 'pmp-prod',
    url: 'https://pmp.corp.local:7272',
    token: 'credential://pmp-prod',
    tokenKind: 'apiUser',
    appName: 'credgw',
    orgName: null,
    orgNameAttribute: null,
    accountPaging: 'auto',
    resourceIdAttribute: 'PMP Resource ID',
    includeAccountNotes: false,
    requireTicketId: false,
    caFile: null,
    pinSha256: null,
    timeoutMs: 10000,
    maxConnections: 32,
    metadataTtlMs: 30000,
    notesConcurrency: 8,
    healthIntervalMs: 15000,
    maxResponseBytes: 24 * 1024 * 1024,
    rotationNotices: false,
    resourceMatch: ['attribute'],
    dnsIndex: { maxCallsPerMinute: 120, refreshIntervalMs: 900_000 },
    ...overrides,
  };
}

function account(id: string, name: string, extra: Partial<PmpAccount> = {}): PmpAccount {
  return { id, passwdId: id, name, notes: undefined, ticketIdRequired: false, reasonRequired: false, accessDenied: false, ...extra };
}

/** An account behind the fake vault's access control: its API user's newest request, and whether another user holds it. */
export interface FakeAccess {
  state: Exclude<AccessRequestState, 'unknown'>;
  requestId: string | undefined;
  heldByOther: boolean;
}

export interface Call {
  method: string;
  args: unknown[];
  signal: AbortLike | undefined;
  /** The call's organisation (CallOptions.orgName). */
  orgName: string | null | undefined;
}

/**
 * A PMP with resource 301 "Windows_Jump_Box" (accounts 902 administrator,
 * 903 backup) and 302 "Linux_Box" (account 910 root). Calls are recorded;
 * `holdPasswords` makes getPassword wait for release() or its signal.
 */
export class FakeVault implements VaultClient {
  readonly name = 'pmp-prod';
  readonly calls: Call[] = [];
  resources = new Map<string, string>([
    ['301', 'Windows_Jump_Box'],
    ['302', 'Linux_Box'],
  ]);
  accounts = new Map<string, PmpAccount[]>([
    ['301', [account('902', 'administrator', { notes: 'Domain admin for the jump box', ticketIdRequired: true }), account('903', 'backup')]],
    ['302', [account('910', 'root', { reasonRequired: true })]],
  ]);
  password = SECRET;
  /** Thrown (or rejected with) by the named method. */
  failures = new Map<string, unknown>();
  holdPasswords = false;
  aborted: unknown[] = [];
  /** Accounts behind access control, by account ID (see accessControl()). */
  access = new Map<string, FakeAccess>();
  /** Answer every refused password call with APPROVAL_REQUIRED, as builds that send "[Request]" do. */
  placeholderOnly = false;
  private nextRequestId = 0;
  private held: Array<() => void> = [];

  private record(method: string, args: unknown[], opts?: CallOptions): void {
    this.calls.push({ method, args, signal: opts?.signal, orgName: opts?.orgName });
    const failure = this.failures.get(method);
    if (failure !== undefined) throw failure;
  }

  count(method: string): number {
    return this.calls.filter((c) => c.method === method).length;
  }

  async listResources(opts?: CallOptions): Promise<PmpResource[]> {
    this.record('listResources', [], opts);
    return [...this.resources].map(([id, name]) => ({ id, name, type: undefined, description: undefined, dnsName: undefined }));
  }

  async resolveResource(ref: string, opts?: CallOptions): Promise<{ id: string; name: string | undefined }> {
    this.record('resolveResource', [ref], opts);
    if (/^\d+$/.test(ref)) {
      const name = this.resources.get(ref);
      if (name === undefined) throw new GatewayError('RESOURCE_NOT_FOUND', `no resource ${ref}`);
      return { id: ref, name: undefined };
    }
    for (const [id, name] of this.resources) if (name.toLowerCase() === ref.toLowerCase()) return { id, name };
    throw new GatewayError('RESOURCE_NOT_FOUND', `no resource named ${ref}`);
  }

  async listAccounts(resourceId: string, opts?: ListAccountsOptions): Promise<PmpAccountList> {
    this.record('listAccounts', [resourceId, { includeNotes: opts?.includeNotes }], opts);
    const accounts = this.accounts.get(resourceId);
    if (!accounts) throw new GatewayError('RESOURCE_NOT_FOUND', `no resource ${resourceId}`);
    const listed = accounts.map((a) => ({ ...a, notes: opts?.includeNotes ? a.notes : undefined }));
    const resourceName = this.resources.get(resourceId) ?? '';
    if (opts?.page) {
      const { offset, limit } = opts.page;
      return { resourceId, resourceName, accounts: listed.slice(offset, offset + limit), totalAccounts: listed.length };
    }
    opts?.pick?.(listed);
    return { resourceId, resourceName, accounts: listed };
  }

  async accountNotes(resourceId: string, accountId: string, opts?: CallOptions): Promise<string | undefined> {
    this.record('accountNotes', [resourceId, accountId], opts);
    return this.accounts.get(resourceId)?.find((a) => a.id === accountId)?.notes;
  }

  async getPassword(resourceId: string, accountId: string, req: PasswordRequest, opts?: CallOptions): Promise<FetchedPassword> {
    this.record('getPassword', [resourceId, accountId, req], opts);
    const acc = this.accounts.get(resourceId)?.find((a) => a.id === accountId);
    if (!acc) throw new GatewayError('ACCOUNT_NOT_FOUND', `no account ${accountId}`);
    const access = this.access.get(accountId);
    if (access) this.refuseAccess(access);
    if (this.holdPasswords) {
      await new Promise<void>((resolve, reject) => {
        const signal = opts?.signal;
        if (signal?.aborted) {
          this.aborted.push(signal.reason);
          reject(signal.reason);
          return;
        }
        signal?.addEventListener(
          'abort',
          () => {
            this.aborted.push(signal.reason);
            reject(signal.reason);
          },
          { once: true },
        );
        this.held.push(resolve);
      });
    }
    return { resourceId, accountId, accountName: acc.name, password: this.password };
  }

  /** Puts an account behind access control with no request raised. */
  accessControl(accountId: string): FakeAccess {
    const a: FakeAccess = { state: 'none', requestId: undefined, heldByOther: false };
    this.access.set(accountId, a);
    return a;
  }

  /** What the password call of an access-controlled account answers (throws unless the password is released). */
  private refuseAccess(a: FakeAccess): void {
    if (a.heldByOther) throw new GatewayError('CHECKED_OUT', 'checked out by another user');
    if (a.state === 'approved' || a.state === 'checkedOut') return;
    if (this.placeholderOnly || a.state === 'none' || a.state === 'checkedIn') throw new GatewayError('APPROVAL_REQUIRED', 'approval required');
    if (a.state === 'pending') throw new GatewayError('APPROVAL_PENDING', 'waiting for approval', { detail: 'waiting' });
    throw new GatewayError('APPROVAL_DENIED', 'rejected or expired', { detail: a.state });
  }

  async requestAccess(resourceId: string, accountId: string, req: AccessRequestInput, opts?: CallOptions): Promise<RaisedAccessRequest> {
    this.record('requestAccess', [resourceId, accountId, req], opts);
    const a = this.access.get(accountId);
    if (!a) throw new GatewayError('VAULT_ERROR', 'not access controlled');
    a.state = 'pending';
    a.requestId = String(++this.nextRequestId);
    return { requestId: a.requestId, state: 'pending' };
  }

  async accessRequestState(accountId: string, requestId: string | undefined, opts?: CallOptions): Promise<AccessRequestState> {
    this.record('accessRequestState', [accountId, requestId], opts);
    const a = this.access.get(accountId);
    if (!a || (requestId !== undefined && a.requestId !== requestId)) return 'none';
    return a.state;
  }

  async checkIn(resourceId: string, accountId: string, opts?: CallOptions): Promise<void> {
    this.record('checkIn', [resourceId, accountId], opts);
    if (!this.accounts.get(resourceId)?.some((acc) => acc.id === accountId)) throw new GatewayError('ACCOUNT_NOT_FOUND', `no account ${accountId}`);
    const a = this.access.get(accountId);
    if (a?.heldByOther) throw new GatewayError('CHECKED_OUT', 'checked out by another user');
    if (a && (a.state === 'approved' || a.state === 'checkedOut')) a.state = 'checkedIn';
  }

  /** Lets every held getPassword finish. */
  release(): void {
    const held = this.held;
    this.held = [];
    for (const r of held) r();
  }

  async probe(opts?: CallOptions): Promise<void> {
    this.record('probe', [], opts);
  }

  async close(): Promise<void> {}
}

export class FakeRegistry implements VaultRegistry {
  readonly entries = new Map<string, { profile: VaultProfile; client: VaultClient }>();
  /** Leases taken and not released yet, by vault name. */
  readonly leases = new Map<string, number>();
  constructor(p: VaultProfile, client: VaultClient) {
    this.entries.set(p.name, { profile: p, client });
  }
  acquire(name: string): VaultLease | undefined {
    const entry = this.entries.get(name);
    if (!entry) return undefined;
    this.leases.set(name, (this.leases.get(name) ?? 0) + 1);
    let released = false;
    return {
      ...entry,
      release: () => {
        if (released) throw new Error(`lease of ${name} released twice`);
        released = true;
        this.leases.set(name, this.leases.get(name)! - 1);
      },
    };
  }
}

/** The role port as the daemon builds it: `state` as the controller granted it, the serving rule of ha/. */
export class FakeRole implements RolePort {
  state: ServingRole = { role: 'active', epoch: 8 };
  current(): ServingRole {
    return this.state;
  }
  mayServe(epoch: number): boolean {
    return mayServe({ state: this.state.role, epoch: this.state.epoch }, epoch);
  }
}

export class FakeReply implements ReplyPort {
  readonly sent: ResultMessage[] = [];
  connected = true;
  sendResult(message: ResultMessage): ResultDelivery {
    if (!this.connected) return 'gone';
    // Through JSON, as the link would put it on the wire.
    this.sent.push(JSON.parse(JSON.stringify(message)) as ResultMessage);
    return 'sent';
  }
}

/** A pino logger at trace level writing into `lines`. */
export function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  return { logger: pino({ level: 'trace' }, stream), lines };
}

export const DEFAULT_POLICY: PolicyConfig = { allowResources: null, denyAccounts: [], maxFetchesPerAccountPerMinute: null };

export interface Harness {
  dispatcher: Dispatcher;
  vault: FakeVault;
  registry: FakeRegistry;
  role: FakeRole;
  reply: FakeReply;
  clock: ManualClock;
  audit: AuditEvent[];
  logs: string[];
}

export function harness(
  opts: { profile?: Partial<VaultProfile>; policy?: Partial<PolicyConfig>; limits?: Partial<LimitsConfig>; dispatcher?: Partial<DispatcherOptions> } = {},
): Harness {
  const vault = new FakeVault();
  const registry = new FakeRegistry(profile(opts.profile), vault);
  const role = new FakeRole();
  const reply = new FakeReply();
  const clock = new ManualClock();
  const audit: AuditEvent[] = [];
  const { logger, lines } = captureLogger();
  const dispatcher = new Dispatcher({
    vaults: registry,
    role,
    policy: { ...DEFAULT_POLICY, ...opts.policy },
    limits: { maxInFlight: 256, maxQueued: 4096, ...opts.limits },
    audit: { record: (e) => audit.push(e) },
    sealer: recipientSealer,
    logger,
    clock,
    gatewayId: 'gw-a',
    ...opts.dispatcher,
  });
  return { dispatcher, vault, registry, role, reply, clock, audit, logs: lines };
}

let seq = 0;

export function listCmd(overrides: Partial<CommandMessage> & { attrs?: Record<string, string> } = {}): CommandMessage {
  const { attrs, ...rest } = overrides;
  return {
    ...envelope(),
    name: 'listAccounts',
    params: { vault: 'pmp-prod', resource: { id: 'opsramp-7d1', name: 'Windows_Jump_Box', customAttributes: attrs ?? { 'PMP Resource ID': '301' } }, offset: 0, limit: 500 },
    ...rest,
  } as CommandMessage;
}

/** What every command frame of these fakes carries: a fresh id, epoch 8, a 10 s time-out. */
function envelope(): Pick<CommandMessage, 'type' | 'id' | 'epoch' | 'timeoutMs'> {
  return { type: 'command', id: `cmd-${++seq}`, epoch: 8, timeoutMs: 10000 };
}

export function checkInCmd(
  params: Partial<Extract<CommandMessage, { name: 'checkInPassword' }>['params']> = {},
  overrides: Partial<Omit<CommandMessage, 'params' | 'name'>> = {},
): CommandMessage {
  return {
    ...envelope(),
    name: 'checkInPassword',
    params: {
      vault: 'pmp-prod',
      resource: { id: 'opsramp-7d1', customAttributes: { 'PMP Resource ID': '301' } },
      accountId: '902',
      ticketId: 'INC-1042',
      reason: 'Console session ended',
      requestedBy: 'alice@example.com',
      ...params,
    },
    ...overrides,
  };
}

export function pwCmd(
  params: Partial<Extract<CommandMessage, { name: 'getPassword' }>['params']> = {},
  overrides: Partial<Omit<CommandMessage, 'params' | 'name'>> = {},
): CommandMessage {
  return {
    ...envelope(),
    name: 'getPassword',
    params: {
      vault: 'pmp-prod',
      resource: { id: 'opsramp-7d1', customAttributes: { 'PMP Resource ID': '301' } },
      accountId: '902',
      ticketId: 'INC-1042',
      reason: 'Remote console launch',
      requestedBy: 'alice@example.com',
      ...params,
    },
    ...overrides,
  };
}

/** Lets pending promise chains of the fakes run (no timers involved). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
