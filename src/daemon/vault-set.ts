import type { Logger } from 'pino';
import type { SecretRef, VaultProfile } from '../config/index.js';
import type { VaultLease, VaultRegistry } from '../commands/index.js';
import type { Clock } from '../shared/index.js';
import {
  createVaultClient,
  DnsIndex,
  type InstrumentedVault,
  instrumentVault,
  needsDnsIndex,
  type VaultCallObserver,
  VaultHealthMonitor,
  type VaultHealthState,
} from '../vault/index.js';
import type { VaultHealth } from '../protocol/index.js';
import { CachedSecret } from '../config/index.js';
import type { VaultMetadataCache } from '../vault/index.js';

/**
 * One profile with its client. It is also the lease a command holds (no
 * object per command): `leases` counts the commands holding it, and a
 * retired entry (replaced or removed by a reload) is closed when the last
 * one lets go.
 */
class Entry implements VaultLease {
  leases = 0;
  retired = false;
  /** The client's metadata cache (rotation events read IDs from it and drop a rotated resource's entries). */
  cache: VaultMetadataCache | null = null;
  private closing: Promise<void> | null = null;

  constructor(
    readonly profile: VaultProfile,
    readonly client: InstrumentedVault,
    readonly token: CachedSecret,
    /** The DNS-name index when the profile maps by host name or IP, else null; it stops with the entry. */
    readonly addressIndex: DnsIndex | null,
    /** The profile as JSON, to tell a changed profile from an unchanged one on reload. */
    readonly fingerprint: string,
    /** Called when a retired entry's last lease is released. */
    private readonly onReleased: (entry: Entry) => void,
    private readonly log: Logger,
  ) {}

  release(): void {
    this.leases--;
    if (this.retired && this.leases === 0) this.onReleased(this);
  }

  /** Closes the client once its calls under way (health probes included) are done: a retired entry. Idempotent. */
  close(): Promise<void> {
    this.addressIndex?.stop();
    this.closing ??= this.client.idle().then(() => this.closeClient());
    return this.closing;
  }

  /** Closes the client now, ending what is under way (a probe, a call of an abandoned command): the gateway's stop. */
  async closeNow(): Promise<void> {
    this.addressIndex?.stop();
    await this.closeClient();
    await this.closing;
  }

  private closeClient(): Promise<void> {
    return this.client.close().catch((err: unknown) => this.log.warn({ err, vault: this.profile.name }, 'closing a vault pool failed'));
  }
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

export interface VaultSetChanges {
  added: string[];
  changed: string[];
  removed: string[];
  kept: string[];
}

/**
 * The gateway's vault profiles, their clients (one pooled dispatcher each)
 * and their health. Warm on standby and active alike: pools, TLS sessions
 * and health probes run whatever the role, so a promoted gateway serves its
 * first command without a cold start. `apply()` swaps changed profiles on
 * reload without touching unchanged ones; a replaced client is closed once
 * no command holds it, and the one health monitor keeps every vault's
 * health across the swap. A profile that maps by address keeps its
 * DNS-name index warm the same way, whatever the role; it is rebuilt only
 * when its profile changes.
 */
export class VaultSet implements VaultRegistry {
  private entries = new Map<string, Entry>();
  /** Replaced or removed entries not closed yet: some command still holds them. */
  private readonly retired = new Set<Entry>();
  private readonly monitor: VaultHealthMonitor;
  private started = false;

  constructor(private readonly opts: VaultSetOptions) {
    this.monitor = new VaultHealthMonitor({ vaults: [], clock: opts.clock, logger: opts.logger });
    this.monitor.on('change', (health) => this.opts.onHealthChange?.(health));
  }

  acquire(name: string): VaultLease | undefined {
    const entry = this.entries.get(name);
    if (entry) entry.leases++;
    return entry;
  }

  /** The current profile named `name`. */
  profile(name: string): VaultProfile | undefined {
    return this.entries.get(name)?.profile;
  }

  /** The DNS-name index of the current profile `name`: null when it maps by attribute only. */
  dnsIndex(name: string): DnsIndex | null | undefined {
    return this.entries.get(name)?.addressIndex;
  }

  get names(): string[] {
    return [...this.entries.keys()];
  }

  /** PMP IDs of a resource and account from the vault's cache, without a vault call (rotation events). */
  cachedIds(vault: string, resourceName: string, accountName: string): { resourceId?: string | undefined; accountId?: string | undefined } {
    return this.entries.get(vault)?.cache?.cachedIds(resourceName, accountName) ?? {};
  }

  /** A password of this resource changed: what the vault's client caches about it goes (protocol section 11). */
  forgetResource(vault: string, resourceName: string): void {
    this.entries.get(vault)?.cache?.forgetResource(resourceName);
  }

  /** Installs `profiles`: new ones get clients, changed ones new clients, removed ones are retired. */
  apply(profiles: readonly VaultProfile[]): VaultSetChanges {
    const next = new Map<string, Entry>();
    const report: VaultSetChanges = { added: [], changed: [], removed: [], kept: [] };
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
    }
    const retiring = [...this.entries.values()].filter((old) => next.get(old.profile.name) !== old);
    for (const old of retiring) if (!next.has(old.profile.name)) report.removed.push(old.profile.name);
    this.entries = next;
    this.monitor.setVaults([...next.values()].map((e) => ({ client: e.client, intervalMs: e.profile.healthIntervalMs })));
    for (const old of retiring) this.retire(old);
    if (this.started) for (const entry of next.values()) entry.addressIndex?.start();
    return report;
  }

  /** Starts health probes and DNS-name indexes (an index already started carries on). */
  start(): void {
    this.started = true;
    this.monitor.start();
    for (const entry of this.entries.values()) entry.addressIndex?.start();
  }

  health(): VaultHealthState[] {
    return this.monitor.snapshot();
  }

  wire(): VaultHealth[] {
    return this.monitor.wire();
  }

  async close(): Promise<void> {
    this.monitor.stop();
    const entries = [...this.entries.values(), ...this.retired];
    this.entries = new Map();
    this.retired.clear();
    await Promise.all(entries.map((e) => e.closeNow()));
  }

  private retire(entry: Entry): void {
    entry.retired = true;
    this.retired.add(entry);
    if (entry.leases === 0) this.closeRetired(entry);
  }

  private closeRetired(entry: Entry): void {
    this.retired.delete(entry);
    void entry.close();
  }

  private build(profile: VaultProfile, fingerprint: string): Entry {
    const token = new CachedSecret(profile.token, this.opts.readSecret);
    const log = this.opts.logger.child({ vault: profile.name });
    const raw = createVaultClient(profile, {
      readToken: () => token.read(),
      peekToken: () => token.peek(),
      logger: log,
      clock: this.opts.clock,
    });
    const observe = this.opts.observe;
    const client = instrumentVault(raw, this.opts.clock, (call) => {
      // Real calls tell the monitor about the vault; a retired client's last calls no longer speak for it.
      if (call.operation !== 'probe' && call.outcome !== 'aborted' && this.entries.get(call.vault) === entry) {
        this.monitor.record(call.vault, call.outcome === 'ok' ? { ok: true } : { ok: false, error: call.error });
      }
      observe?.(call);
    });
    const dnsIndex = needsDnsIndex(profile)
      ? new DnsIndex({
          vault: raw,
          clock: this.opts.clock,
          logger: log,
          maxCallsPerMinute: profile.dnsIndex.maxCallsPerMinute,
          refreshIntervalMs: profile.dnsIndex.refreshIntervalMs,
        })
      : null;
    const entry = new Entry(profile, client, token, dnsIndex, fingerprint, (e) => this.closeRetired(e), this.opts.logger);
    entry.cache = raw.metadata;
    return entry;
  }
}
