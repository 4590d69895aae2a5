import { EventEmitter } from 'node:events';
import { pino, type Logger } from 'pino';
import type { VaultHealth } from '../protocol/index.js';
import { type Clock, type ErrorCode, GatewayError, systemClock, type TimerHandle, unrefTimer } from '../shared/index.js';
import type { VaultClient } from './types.js';

/**
 * Probes every vault on its own interval and keeps what the gateway reports
 * in `hello` and `health` frames. A probe runs at start and then
 * `intervalMs` after the previous one ended (never two at once for a
 * vault). `change` fires only when a vault's health (healthy, error code)
 * changes. Outcomes of real calls may be recorded too, so an outage shows
 * before the next probe.
 */

export interface VaultHealthState extends VaultHealth {
  /** PMP's or the network's words for the last failure (never a secret). */
  lastError?: string | undefined;
  /** Epoch ms of the last probe or recorded outcome; undefined before the first. */
  lastCheckedAt?: number | undefined;
}

export interface MonitoredVault {
  client: VaultClient;
  /** Probe interval (the profile's healthIntervalMs). */
  intervalMs: number;
}

export interface VaultHealthMonitorOptions {
  vaults: readonly MonitoredVault[];
  /** Default: systemClock. */
  clock?: Clock;
  /** Default: a silent logger. */
  logger?: Logger;
}

export interface VaultHealthEvents {
  change: [health: VaultHealthState, previous: VaultHealthState];
}

/** Codes a real call can report that say something about the vault as a whole. */
const VAULT_WIDE_CODES: ReadonlySet<ErrorCode> = new Set(['VAULT_UNREACHABLE', 'VAULT_TLS_ERROR', 'VAULT_TIMEOUT']);

interface Entry {
  vault: MonitoredVault;
  state: VaultHealthState;
  timer: TimerHandle | undefined;
  probing: AbortController | undefined;
}

export class VaultHealthMonitor extends EventEmitter<VaultHealthEvents> {
  private readonly clock: Clock;
  private readonly log: Logger;
  private entries = new Map<string, Entry>();
  private running = false;

  constructor(opts: VaultHealthMonitorOptions) {
    super();
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger ?? pino({ level: 'silent' });
    for (const vault of opts.vaults) this.entries.set(vault.client.name, unknownEntry(vault));
  }

  /**
   * Replaces the monitored vaults (a config reload). A vault still named
   * keeps its health, so no `change` fires for it: with the same client it
   * is left alone; with a new client (a changed profile) it is probed again
   * at once and only a different result is a change. A new vault starts
   * unknown; a removed one is stopped.
   */
  setVaults(vaults: readonly MonitoredVault[]): void {
    const next = new Map<string, Entry>();
    for (const vault of vaults) {
      const name = vault.client.name;
      const old = this.entries.get(name);
      if (old && old.vault.client === vault.client) {
        old.vault = vault;
        next.set(name, old);
        continue;
      }
      const entry = unknownEntry(vault);
      if (old) {
        this.halt(old);
        entry.state = old.state;
      }
      next.set(name, entry);
    }
    for (const [name, old] of this.entries) if (!next.has(name)) this.halt(old);
    const previous = this.entries;
    this.entries = next;
    if (!this.running) return;
    for (const [name, entry] of next) if (previous.get(name) !== entry) this.schedule(entry, 0);
  }

  /** Starts probing every vault now (restarts cleanly when already running). */
  start(): void {
    this.stop();
    this.running = true;
    for (const entry of this.entries.values()) this.schedule(entry, 0);
  }

  /** Clears every timer and aborts probes under way. */
  stop(): void {
    this.running = false;
    for (const entry of this.entries.values()) this.halt(entry);
  }

  private halt(entry: Entry): void {
    this.clock.clearTimeout(entry.timer);
    entry.timer = undefined;
    entry.probing?.abort(new Error('health monitor stopped'));
    entry.probing = undefined;
  }

  /** Health of every vault, in profile order. */
  snapshot(): VaultHealthState[] {
    return [...this.entries.values()].map((e) => ({ ...e.state }));
  }

  /** What the protocol's `hello`/`health` frames carry. */
  wire(): VaultHealth[] {
    return this.snapshot().map((s) => (s.error ? { name: s.name, healthy: s.healthy, error: s.error } : { name: s.name, healthy: s.healthy }));
  }

  /**
   * The outcome of a real call: success marks the vault healthy; a
   * vault-wide failure (unreachable, TLS, time-out) marks it unhealthy;
   * other failures (an unknown account, a missing ticket…) say nothing.
   */
  record(name: string, outcome: { ok: true } | { ok: false; error: unknown }): void {
    const entry = this.entries.get(name);
    if (!entry) return;
    if (outcome.ok) {
      // The steady state of every successful call: healthy stays healthy, only the time moves, in place.
      if (entry.state.healthy && entry.state.lastCheckedAt !== undefined) entry.state.lastCheckedAt = this.clock.now();
      else this.update(entry, { healthy: true });
      return;
    }
    const err = outcome.error;
    if (err instanceof GatewayError && VAULT_WIDE_CODES.has(err.code)) {
      this.update(entry, { healthy: false, error: err.code, lastError: err.detail ?? err.message });
    }
  }

  /** Runs one probe of `name` now (also used by `start`). */
  async probe(name: string): Promise<VaultHealthState | undefined> {
    const entry = this.entries.get(name);
    if (!entry) return undefined;
    entry.probing?.abort(new Error('superseded'));
    const ac = new AbortController();
    entry.probing = ac;
    try {
      await entry.vault.client.probe({ signal: ac.signal });
      if (!ac.signal.aborted) this.update(entry, { healthy: true });
    } catch (err) {
      if (!ac.signal.aborted) {
        const ge = err instanceof GatewayError ? err : new GatewayError('VAULT_ERROR', 'health probe failed', { cause: err });
        this.update(entry, { healthy: false, error: ge.code, lastError: ge.detail ?? ge.message });
      }
    } finally {
      if (entry.probing === ac) entry.probing = undefined;
    }
    return { ...entry.state };
  }

  private schedule(entry: Entry, delayMs: number): void {
    this.clock.clearTimeout(entry.timer);
    entry.timer = unrefTimer(
      this.clock.setTimeout(() => {
        entry.timer = undefined;
        void this.probe(entry.state.name).then(() => {
          // A vault removed or replaced meanwhile (setVaults) is not probed again.
          const current = this.entries.get(entry.state.name) === entry;
          if (this.running && current && entry.timer === undefined) this.schedule(entry, entry.vault.intervalMs);
        });
      }, delayMs),
    );
  }

  private update(entry: Entry, next: { healthy: boolean; error?: ErrorCode; lastError?: string }): void {
    const previous = entry.state;
    const state: VaultHealthState = {
      name: previous.name,
      healthy: next.healthy,
      ...(next.healthy ? {} : { error: next.error, lastError: next.lastError }),
      lastCheckedAt: this.clock.now(),
    };
    entry.state = state;
    const changed = previous.lastCheckedAt === undefined || previous.healthy !== state.healthy || previous.error !== state.error;
    if (!changed) return;
    if (state.healthy) this.log.info({ vault: state.name }, 'vault healthy');
    else this.log.warn({ vault: state.name, code: state.error, detail: state.lastError }, 'vault unhealthy');
    this.emit('change', { ...state }, { ...previous });
  }
}

/** A vault not probed yet: unknown, which reads as not healthy with no error. */
function unknownEntry(vault: MonitoredVault): Entry {
  return { vault, state: { name: vault.client.name, healthy: false }, timer: undefined, probing: undefined };
}
