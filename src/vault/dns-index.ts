import type { Logger } from 'pino';
import type { AbortLike, Clock, TimerHandle } from '../shared/index.js';
import { GatewayError, StateMachine, toGatewayError } from '../shared/index.js';
import { normalizeAddress } from './dns-index-address.js';
import {
  DNS_INDEX_TRANSITIONS,
  MISS_RELIST_INTERVAL_MS,
  RETRY_DELAY_MS,
  type DnsIndexOptions,
  type DnsIndexState,
  type DnsIndexStats,
  type DnsMatch,
} from './dns-index-options.js';
import { CallPump } from './dns-index-pump.js';
import { IndexRound, type IndexTask, TaskQueue } from './dns-index-tasks.js';
import { DnsIndexTable, type AddressEntry, type IndexedResource } from './dns-index-table.js';
import { AddressWaiters } from './dns-index-waiters.js';
import type { PmpResource } from './types.js';

/**
 * The DNS-name index of one vault profile (protocol section 9): PMP has no
 * look-up by DNS name, so the gateway keeps, for every resource the API
 * user sees, its `DNS NAME` under a normalised address
 * (dns-index-address.ts), and answers a command's host name or IP with
 * exactly one resource ID, RESOURCE_NOT_FOUND or RESOURCE_AMBIGUOUS.
 *
 * Vault load is bounded by one budget (CallBudget, `maxCallsPerMinute`)
 * shared by everything the index calls:
 * - a pass: list the resources (one call), then read the DNS NAME of each
 *   (one account-list call per resource; none when the list carries it).
 *   The first pass builds the index; later ones (every `refreshIntervalMs`
 *   after the previous one ends) re-list and re-read every resource, new
 *   ones first.
 * - a miss once the index is complete: re-list (at most once per
 *   `missRelistIntervalMs`, shared by concurrent misses), then read only the
 *   new resources, and the resources whose NAME is the looked-up address.
 *
 * While the first pass runs, a lookup moves the resources whose NAME
 * matches the address to the head of the queue and waits for the address to
 * be filed or the pass to end (bounded by the caller's signal); it answers
 * the first match it sees. RESOURCE_NOT_FOUND comes only from a complete
 * index. A duplicate that the pass has not read yet shows once it has.
 */

/** Calls under way at once, so the budget and not the vault's latency sets the pace. */
const CONCURRENCY = 4;
/** Reads of one resource that fail with VAULT_ERROR or INTERNAL before it is left without an address until the next pass. */
const MAX_ATTEMPTS = 3;
/** Codes that may pass on their own: the vault is down or slow. Every call pauses, none is given up. */
const TRANSIENT: ReadonlySet<string> = new Set(['VAULT_UNREACHABLE', 'VAULT_TIMEOUT']);
/** Codes of one resource's read worth a few more tries. */
const WORTH_RETRYING: ReadonlySet<string> = new Set(['VAULT_ERROR', 'INTERNAL']);

export class DnsIndex {
  private readonly machine: StateMachine<DnsIndexState>;
  private readonly table = new DnsIndexTable();
  private readonly queue = new TaskQueue();
  private readonly pump: CallPump;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly abort = new AbortController();
  private readonly waiters = new AddressWaiters();
  /** Addresses whose duplicates were logged (again once their resources change). */
  private readonly warned = new Set<string>();
  private readonly ready: Promise<void>;
  private settleReady!: (err?: unknown) => void;
  private pass: IndexRound | null = null;
  private miss: IndexRound | null = null;
  private refreshTimer: TimerHandle | null = null;
  private lastListAt: number | undefined;
  /** A resource list has been read once. */
  private listed = false;
  /** Why the first list failed, while no list has been read: a lookup gets it rather than a wait. */
  private firstListError: GatewayError | undefined;
  private passStartedAt = 0;
  /** pump.calls when the pass started. */
  private passCallsBefore = 0;
  private passFailures = 0;

  constructor(private readonly opts: DnsIndexOptions) {
    this.clock = opts.clock;
    this.log = opts.logger;
    this.pump = new CallPump({
      clock: opts.clock,
      maxCallsPerMinute: opts.maxCallsPerMinute,
      concurrency: CONCURRENCY,
      queue: this.queue,
      run: (task) => this.run(task),
    });
    this.machine = new StateMachine<DnsIndexState>('dns-index', 'idle', DNS_INDEX_TRANSITIONS, opts.logger);
    this.ready = new Promise<void>((resolve, reject) => {
      this.settleReady = (err) => (err === undefined ? resolve() : reject(err));
    });
    this.ready.catch(() => undefined);
  }

  get state(): DnsIndexState {
    return this.machine.state;
  }

  /** Not complete yet: a miss waits rather than answers. */
  private get building(): boolean {
    return this.state === 'idle' || this.state === 'building';
  }

  /** Starts the first pass. */
  start(): void {
    if (this.state !== 'idle') return;
    this.machine.transition('building', 'started');
    this.startPass(false);
  }

  /** Cancels every call and timer; waiting lookups fail (retryable). */
  stop(): void {
    if (this.state === 'stopped') return;
    this.machine.transition('stopped', 'stopped');
    const err = stoppedError();
    this.abort.abort(err);
    this.pump.stop();
    this.clock.clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
    this.queue.clear();
    this.miss?.fail(err);
    this.settleReady(err);
    this.waiters.wakeAll();
  }

  /** Resolves once the first pass is complete; rejects if the index stops first. */
  whenReady(): Promise<void> {
    return this.ready;
  }

  /**
   * The one resource filed under a host name or IP address. Throws
   * RESOURCE_NOT_FOUND, RESOURCE_AMBIGUOUS (naming no resource; the
   * duplicates are logged once at warn), the vault's error when a miss's
   * re-list failed, or the signal's reason when it aborts the wait.
   */
  async lookup(address: string, opts?: { signal?: AbortLike | undefined }): Promise<DnsMatch> {
    const key = normalizeAddress(address);
    if (key === undefined) throw notFound();
    const signal = opts?.signal;
    let found = this.answer(key);
    if (found) return found;
    if (this.building) {
      this.queue.promote(this.table.candidates(key).filter((id) => !this.table.isFetched(id)));
      this.pump.kick();
      await this.waitFor(key, () => !this.building || this.firstListError !== undefined, signal);
      found = this.answer(key);
      if (found) return found;
      if (this.building && this.firstListError) throw this.firstListError;
    }
    if (this.state === 'stopped') throw stoppedError();
    const round = this.missRound(key);
    if (round) {
      await this.waitFor(key, () => round.settled, signal);
      found = this.answer(key);
      if (found) return found;
      if (round.error !== undefined) throw round.error;
    }
    throw notFound();
  }

  stats(): DnsIndexStats {
    return { state: this.state, resources: this.table.size, addresses: this.table.addressCount, calls: this.pump.calls, queued: this.queue.size };
  }

  resources(): IndexedResource[] {
    return this.table.resources();
  }

  addresses(): AddressEntry[] {
    return this.table.addresses();
  }

  duplicates(): AddressEntry[] {
    return this.table.duplicates();
  }

  // ---- answers and waiting --------------------------------------------------

  private answer(address: string): DnsMatch | undefined {
    const ids = this.table.find(address);
    if (ids === undefined) return undefined;
    if (typeof ids === 'string') return { id: ids, name: this.table.name(ids) ?? '' };
    if (!this.warned.has(address)) {
      this.warned.add(address);
      const resources = ids.map((id) => ({ id, name: this.table.name(id) }));
      this.log.warn({ address, resources }, 'DNS name shared by several vault resources, answered RESOURCE_AMBIGUOUS');
    }
    throw new GatewayError('RESOURCE_AMBIGUOUS', 'the address matches more than one vault resource');
  }

  /** Waits until `address` is filed, `until()` holds or the index stops; the signal's reason on abort. */
  private waitFor(address: string, until: () => boolean, signal: AbortLike | undefined): Promise<void> {
    const done = (): boolean => this.table.find(address) !== undefined || until() || this.state === 'stopped';
    return this.waiters.wait(address, done, signal);
  }

  // ---- passes and misses ----------------------------------------------------

  private startPass(refresh: boolean): void {
    this.refreshTimer = null;
    if (this.state === 'stopped') return;
    this.pass = new IndexRound('pass', refresh);
    this.passStartedAt = this.clock.monotonic();
    this.passCallsBefore = this.pump.calls;
    this.passFailures = 0;
    this.queue.add(null, this.pass, false);
    this.pump.kick();
  }

  /** The re-list a miss joins or starts; undefined when the last list is too recent. */
  private missRound(address: string): IndexRound | undefined {
    if (this.miss) {
      this.miss.addresses.add(address);
      for (const id of this.table.candidates(address)) this.queue.add(id, this.miss, true);
      this.pump.kick();
      return this.miss;
    }
    const interval = this.opts.missRelistIntervalMs ?? MISS_RELIST_INTERVAL_MS;
    if (this.lastListAt !== undefined && this.clock.monotonic() - this.lastListAt < interval) return undefined;
    const round = new IndexRound('miss', false);
    round.addresses.add(address);
    this.miss = round;
    this.queue.add(null, round, true);
    this.pump.kick();
    return round;
  }

  private roundDone(round: IndexRound): void {
    if (round.kind === 'miss') {
      if (this.miss === round) this.miss = null;
      round.finish();
      this.waiters.wakeAll();
      return;
    }
    if (this.pass !== round || this.state === 'stopped') return;
    this.pass = null;
    const fields = {
      resources: this.table.size,
      addresses: this.table.addressCount,
      duplicates: this.table.duplicates().length,
      calls: this.pump.calls - this.passCallsBefore,
      failed: this.passFailures,
      durationMs: Math.round(this.clock.monotonic() - this.passStartedAt),
    };
    if (this.state === 'building') {
      this.machine.transition('ready', 'first pass complete');
      this.log.info(fields, 'DNS-name index built');
      this.settleReady();
      this.waiters.wakeAll();
    } else {
      this.log.debug(fields, 'DNS-name index refreshed');
    }
    this.refreshTimer = this.clock.setTimeout(() => this.startPass(true), this.opts.refreshIntervalMs);
  }

  // ---- calls ----------------------------------------------------------------

  /** One call; never rejects. */
  private async run(task: IndexTask): Promise<void> {
    const signal = this.abort.signal;
    try {
      if (task.id === null) {
        this.lastListAt = this.clock.monotonic();
        const list = await this.opts.vault.listResources({ fresh: true, signal });
        if (this.state === 'stopped') return;
        this.listed = true;
        this.firstListError = undefined;
        this.reconcile(list, task);
      } else {
        const dnsName = await this.opts.vault.resourceDnsName(task.id, { signal });
        if (this.state === 'stopped') return;
        this.record(task.id, dnsName ?? null);
      }
      this.complete(task);
    } catch (err) {
      if (this.state !== 'stopped') this.failed(task, err);
    }
  }

  private complete(task: IndexTask): void {
    for (const round of this.queue.done(task)) this.roundDone(round);
  }

  /** Files a fresh resource list: new resources are read, gone ones forgotten, a refresh re-reads the rest. */
  private reconcile(list: readonly PmpResource[], task: IndexTask): void {
    const seen = new Set<string>();
    const fresh: string[] = [];
    const carried = new Set<string>();
    for (const r of list) {
      if (seen.has(r.id)) continue;
      seen.add(r.id);
      if (this.table.list(r.id, r.name)) fresh.push(r.id);
      if (r.dnsName !== undefined) {
        // Some builds put DNS NAME in the list too: then no call is needed.
        this.record(r.id, r.dnsName);
        carried.add(r.id);
      }
    }
    for (const id of [...this.table.ids()]) if (!seen.has(id)) this.forget(id);
    const urgent = task.rounds.some((r) => r.kind === 'miss');
    for (const round of task.rounds) {
      for (const id of fresh) if (!carried.has(id)) this.queue.add(id, round, urgent);
      if (round.refresh) for (const id of seen) if (!carried.has(id)) this.queue.add(id, round, false);
      for (const address of round.addresses) for (const id of this.table.candidates(address)) this.queue.add(id, round, true);
    }
    for (const address of this.waiters.addresses()) {
      this.queue.promote(this.table.candidates(address).filter((id) => !this.table.isFetched(id)));
    }
  }

  private record(id: string, dnsName: string | null): void {
    for (const address of this.table.setDnsName(id, dnsName)) {
      this.warned.delete(address);
      this.waiters.wake(address);
    }
  }

  private forget(id: string): void {
    const address = this.table.remove(id);
    if (address !== undefined) this.warned.delete(address);
  }

  /**
   * A resource gone since the list is forgotten. A vault that is down or
   * slow pauses every call for `retryDelayMs` and the call is made again; a
   * pass's list is retried that way whatever the error, while a miss gets
   * the error at once. A resource whose read keeps failing otherwise stays
   * without an address until the next pass.
   */
  private failed(task: IndexTask, err: unknown): void {
    const code = err instanceof GatewayError ? err.code : 'INTERNAL';
    if (task.id !== null && code === 'RESOURCE_NOT_FOUND') {
      this.forget(task.id);
      this.complete(task);
      return;
    }
    this.passFailures++;
    const transient = TRANSIENT.has(code);
    if (task.id === null) {
      if (!this.listed) this.firstListError = toGatewayError(err);
      for (const round of this.queue.detach(task, 'miss')) {
        if (this.miss === round) this.miss = null;
        round.fail(err);
      }
      this.waiters.wakeAll();
    } else if (!transient) {
      task.attempts++;
    }
    const retry = task.id === null ? task.rounds.length > 0 : transient || (WORTH_RETRYING.has(code) && task.attempts < MAX_ATTEMPTS);
    const retryDelayMs = this.opts.retryDelayMs ?? RETRY_DELAY_MS;
    const fields = { err, code, resourceId: task.id ?? undefined, retryInMs: retry ? retryDelayMs : undefined };
    if (this.passFailures === 1) this.log.warn(fields, 'DNS-name index vault call failed');
    else this.log.debug(fields, 'DNS-name index vault call failed');
    if (retry) {
      this.queue.retry(task);
      this.pump.pauseFor(retryDelayMs);
      return;
    }
    if (task.id !== null && !this.table.isFetched(task.id)) this.record(task.id, null);
    this.complete(task);
  }
}

function notFound(): GatewayError {
  return new GatewayError('RESOURCE_NOT_FOUND', 'no vault resource has that DNS name or address');
}

function stoppedError(): GatewayError {
  return new GatewayError('VAULT_UNREACHABLE', 'the DNS-name index of this vault was stopped');
}
