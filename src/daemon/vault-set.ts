import type { Logger } from 'pino';
import type { SecretRef, VaultProfile } from '../config/types.js';
import type { VaultRegistry } from '../commands/ports.js';
import type { Clock } from '../shared/clock.js';
import { createVaultClient, VaultHealthMonitor, type VaultHealthState } from '../vault/index.js';
import type { VaultHealth } from '../protocol/messages.js';
import { CachedSecret } from './cached-secret.js';
import { instrumentVault, type InstrumentedVault, type VaultCallObserver } from './instrumented-vault.js';

interface Entry {
  profile: VaultProfile;
  client: InstrumentedVault;
  token: CachedSecret;
  /** The profile as JSON, to tell a changed profile from an unchanged one on reload. */
  fingerprint: string;
}

export interface VaultSetOptions {
  logger: Logger;
  clock: Clock;
  readSecret: (ref: SecretRef) => Promise<string>;
  /** Every real vault call, for metrics. */
  observe?: VaultCallObserver;
  /** A vault's health changed (probe or real call). */
  onHealthChange?: (health: VaultHealthState) => void;
}

/**
 * The gateway's vault profiles, their clients (one pooled dispatcher each)
 * and their health. Warm on standby and active alike: pools, TLS sessions
 * and health probes run whatever the role, so a promoted gateway serves its
 * first command without a cold start. `apply()` swaps changed profiles on
 * reload without touching unchanged ones; a replaced pool is closed
 * gracefully (undici lets its in-flight requests finish).
 */
export class VaultSet implements VaultRegistry {
  private entries = new Map<string, Entry>();
  private monitor: VaultHealthMonitor | null = null;
  private running = false;

  constructor(private readonly opts: VaultSetOptions) {}

  get(name: string): { profile: VaultProfile; client: InstrumentedVault } | undefined {
    // The entry itself (it has both): once per command, no object of its own.
    return this.entries.get(name);
  }

  get names(): string[] {
    return [...this.entries.keys()];
  }

  /** Installs `profiles`: new ones get clients, changed ones new clients, removed ones are closed. */
  apply(profiles: readonly VaultProfile[]): { added: string[]; changed: string[]; removed: string[]; kept: string[] } {
    const next = new Map<string, Entry>();
    const report = { added: [] as string[], changed: [] as string[], removed: [] as string[], kept: [] as string[] };
    const retired: Entry[] = [];
    for (const profile of profiles) {
      const fingerprint = JSON.stringify(profile);
      const old = this.entries.get(profile.name);
      if (old && old.fingerprint === fingerprint) {
        // Same profile: keep the pool, re-read the token on next use (secret files may have changed).
        old.token.forget();
        next.set(profile.name, old);
        report.kept.push(profile.name);
        continue;
      }
      next.set(profile.name, this.build(profile, fingerprint));
      (old ? report.changed : report.added).push(profile.name);
      if (old) retired.push(old);
    }
    for (const [name, old] of this.entries) {
      if (!next.has(name)) {
        retired.push(old);
        report.removed.push(name);
      }
    }
    this.entries = next;
    this.restartMonitor();
    // A replaced pool may still carry calls of commands in flight: close it once they are done.
    for (const old of retired) void old.client.idle().then(() => this.closeQuietly(old));
    return report;
  }

  start(): void {
    this.running = true;
    this.restartMonitor();
  }

  health(): VaultHealthState[] {
    return this.monitor?.snapshot() ?? this.names.map((name) => ({ name, healthy: false }));
  }

  wire(): VaultHealth[] {
    return this.monitor?.wire() ?? this.names.map((name) => ({ name, healthy: false }));
  }

  /** Records a real call's outcome so an outage shows before the next probe. */
  record(name: string, outcome: { ok: true } | { ok: false; error: unknown }): void {
    this.monitor?.record(name, outcome);
  }

  async close(): Promise<void> {
    this.running = false;
    this.monitor?.stop();
    this.monitor = null;
    const entries = [...this.entries.values()];
    this.entries = new Map();
    await Promise.all(entries.map((e) => this.closeQuietly(e)));
  }

  private build(profile: VaultProfile, fingerprint: string): Entry {
    const token = new CachedSecret(profile.token, this.opts.readSecret);
    const raw = createVaultClient(profile, {
      readToken: () => token.get(),
      logger: this.opts.logger.child({ vault: profile.name }),
      clock: this.opts.clock,
    });
    const observe = this.opts.observe;
    const client = instrumentVault(raw, this.opts.clock, (call) => {
      if (call.operation !== 'probe' && call.outcome !== 'aborted') {
        this.record(call.vault, call.outcome === 'ok' ? { ok: true } : { ok: false, error: call.error });
      }
      observe?.(call);
    });
    return { profile, client, token, fingerprint };
  }

  private restartMonitor(): void {
    // Carry health over so a reload does not flap every vault to "unknown".
    const previous = new Map((this.monitor?.snapshot() ?? []).map((s) => [s.name, s]));
    this.monitor?.stop();
    this.monitor = null;
    if (!this.running) return;
    const monitor = new VaultHealthMonitor({
      vaults: [...this.entries.values()].map((e) => ({ client: e.client, intervalMs: e.profile.healthIntervalMs })),
      clock: this.opts.clock,
      logger: this.opts.logger,
    });
    monitor.on('change', (health) => this.opts.onHealthChange?.(health));
    for (const [name, state] of previous) {
      if (this.entries.has(name) && state.healthy) monitor.record(name, { ok: true });
    }
    this.monitor = monitor;
    monitor.start();
  }

  private async closeQuietly(entry: Entry): Promise<void> {
    try {
      await entry.client.close();
    } catch (err) {
      this.opts.logger.warn({ err, vault: entry.profile.name }, 'closing a vault pool failed');
    }
  }
}
