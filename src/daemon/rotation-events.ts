import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { GatewayConfig, NoticesConfig, SecretRef } from '../config/index.js';
import { EventSender, Outbox, OUTBOX_FILE, type StateDir } from '../events/index.js';
import {
  formatListenAddress,
  loadListenerCertificate,
  NoticeListener,
  SyslogReceiver,
  SyslogReceiverError,
  type ListenerCertificate,
  type RotationNotice,
  type VaultAcceptance,
} from '../notices/index.js';
import { parseIsoTime, type EventMessage } from '../protocol/index.js';
import type { Clock } from '../shared/index.js';
import { GatewayError } from '../shared/index.js';
import type { EventMetricsSnapshot, EventsStatus } from '../telemetry/index.js';

/** What rotation events need of the vault set. */
export interface RotationVaults {
  profile(name: string): { readonly rotationNotices: boolean } | undefined;
  /** IDs the vault's cache knows for these names (no vault call). */
  cachedIds(vault: string, resourceName: string, accountName: string): { resourceId?: string | undefined; accountId?: string | undefined };
  /** A rotation: what the vault's client caches about the resource goes. */
  forgetResource(vault: string, resourceName: string): void;
}

export interface RotationEventsOptions {
  config: GatewayConfig;
  stateDir: StateDir;
  vaults: RotationVaults;
  /** Hands an event frame to the link; false when it is not up. */
  send: (message: EventMessage) => boolean;
  readSecret: (ref: SecretRef) => Promise<string>;
  clock: Clock;
  logger: Logger;
}

/** Settings of notices.* the listener takes live (SIGHUP), by restarting itself on its address. */
type LiveSettings = Pick<NoticesConfig, 'allowFrom' | 'ratePerSecond' | 'burst'> & { token: string };

/** notices.* keys only a restart applies. */
const RESTART_NOTICE_KEYS = ['listen', 'certFile', 'keyFile', 'altNames', 'syslog'] as const;

/** The keys under `stateDir`, `events` and `notices` that changed from `started` to `next` and wait for a restart. */
export function eventRestartKeys(started: GatewayConfig, next: GatewayConfig): string[] {
  const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
  const keys: string[] = [];
  if (started.stateDir !== next.stateDir) keys.push('stateDir');
  if (!same(started.events, next.events)) keys.push('events');
  for (const key of RESTART_NOTICE_KEYS) if (!same(started.notices[key], next.notices[key])) keys.push(`notices.${key}`);
  return keys;
}

/**
 * Rotation events, wired (protocol sections 11 and 12): the outbox in the
 * state directory, the sender that delivers it over the link, and the
 * sources that fill it — the notice listener (with its certificate) and
 * the syslog receiver. A notice gets the resource and account IDs the
 * vault's cache knows (no vault call), becomes a durable event, and drops
 * the vault's cache of that resource. Started before the link dials;
 * stopped sources first, then the sender, then the outbox.
 */
export class RotationEvents {
  readonly outbox: Outbox;
  readonly sender: EventSender;
  private certificate: ListenerCertificate | null = null;
  private listener: NoticeListener | null = null;
  private syslog: SyslogReceiver | null = null;
  private live: LiveSettings | null = null;
  /** Counts of listeners replaced by a reload, so the totals never go back. */
  private readonly earlier: { accepted: number; refused: Record<string, number> } = { accepted: 0, refused: {} };
  private listenerError: string | null = null;
  private changing: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly log: Logger;

  /** Whether the gateway keeps an outbox: a source is configured, or an earlier run left events to deliver. */
  static wanted(config: GatewayConfig, stateDir: StateDir): boolean {
    return config.notices.listen !== null || config.notices.syslog !== null || existsSync(join(stateDir.path, OUTBOX_FILE));
  }

  /**
   * Opens the outbox, then the listener (and its certificate), then syslog.
   * Rejects with what failed (OutboxError, SecretError for notices.token,
   * ListenerCertificateError, NoticeListenerError, SyslogReceiverError),
   * having closed what it opened.
   */
  static async open(opts: RotationEventsOptions): Promise<RotationEvents> {
    const { config, clock, logger } = opts;
    const outbox = await Outbox.open({ dir: opts.stateDir.path, maxStored: config.events.maxStored, mergeWindowMs: config.events.mergeWindowMs, clock, logger });
    const events = new RotationEvents(opts, outbox);
    try {
      await events.startSources();
    } catch (err) {
      await events.stop();
      throw err;
    }
    logger.info({ stateDir: opts.stateDir.path, from: opts.stateDir.from, pending: outbox.stats().pending }, 'rotation events on');
    return events;
  }

  private constructor(
    private readonly opts: RotationEventsOptions,
    outbox: Outbox,
  ) {
    this.outbox = outbox;
    this.log = opts.logger;
    this.sender = new EventSender({ outbox, send: opts.send, logger: opts.logger });
  }

  /** A `welcome`: every pending event goes out again, paced by acks. */
  welcomed(): void {
    this.sender.welcomed();
  }

  /** An `ack` from the controller. */
  ack(id: string): void {
    this.sender.ack(id);
  }

  linkDown(): void {
    this.sender.linkDown();
  }

  /**
   * A reload: the listener takes a changed token (the secret is re-read),
   * allow-list or rate at once, by restarting on its address (what only a
   * restart applies: eventRestartKeys).
   */
  reload(next: GatewayConfig): void {
    if (this.opts.config.notices.listen !== null && next.notices.listen !== null) this.serially(() => this.applyLive(next.notices));
  }

  /** Sources first (a notice being stored finishes), then the sender, then the outbox. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.changing;
    await Promise.all([this.listener?.close(), this.syslog?.close()]);
    this.sender.stop();
    await this.outbox.close();
  }

  status(): EventsStatus {
    const o = this.outbox.stats();
    const listener = this.listener;
    return {
      stateDir: this.opts.stateDir.path,
      pending: o.pending,
      oldestAgeMs: o.oldestAgeMs,
      droppedTotal: o.droppedTotal,
      inFlight: this.sender.stats().inFlight,
      listener: listener ? { listen: formatListenAddress(listener.address), pin: listener.pin, ...this.listenerCounts() } : null,
      syslog: this.syslog
        ? { listen: Object.fromEntries(Object.entries(this.syslog.addresses).map(([t, a]) => [t, formatListenAddress(a)])), counts: { ...this.syslog.stats() } }
        : null,
      listenerError: this.listenerError,
    };
  }

  metrics(): EventMetricsSnapshot {
    const o = this.outbox.stats();
    const counts = this.listenerCounts();
    return {
      events: this.outbox.tally.snapshot(),
      pending: o.pending,
      oldestAgeMs: o.oldestAgeMs,
      listener: this.opts.config.notices.listen === null ? null : { accepted: counts.accepted, ...counts.refused },
      syslog: this.syslog ? { ...this.syslog.stats() } : null,
    };
  }

  private listenerCounts(): { accepted: number; refused: Record<string, number> } {
    const now = this.listener?.stats() ?? { accepted: 0, refused: {} };
    const refused: Record<string, number> = { ...this.earlier.refused };
    for (const [code, n] of Object.entries(now.refused)) refused[code] = (refused[code] ?? 0) + n;
    return { accepted: this.earlier.accepted + now.accepted, refused };
  }

  private async startSources(): Promise<void> {
    const { notices } = this.opts.config;
    const syslog = notices.syslog;
    if (notices.listen !== null || (syslog?.tls && syslog.tls.certFile === null)) {
      this.certificate = await loadListenerCertificate({
        ...(notices.certFile !== null && notices.keyFile !== null ? { certFile: notices.certFile, keyFile: notices.keyFile } : {}),
        stateDir: this.opts.stateDir.path,
        altNames: notices.altNames,
        clock: this.opts.clock,
      });
      if (this.certificate.generated) this.log.warn({ certFile: this.certificate.certFile, pin: this.certificate.pin }, 'made a certificate for the notice listener: give its pin to the vault\'s reset-listener script');
    }
    if (notices.listen !== null) {
      this.live = { token: await this.opts.readSecret(notices.token!), allowFrom: notices.allowFrom, ratePerSecond: notices.ratePerSecond, burst: notices.burst };
      this.listener = await this.startListener(notices.listen, this.live);
    }
    if (syslog) {
      const tls = syslog.tls;
      const pair = tls?.certFile && tls.keyFile ? { certPem: await readPem(tls.certFile), keyPem: await readPem(tls.keyFile) } : this.certificate;
      this.syslog = await SyslogReceiver.start({
        ...(syslog.tcp !== null ? { tcp: syslog.tcp } : {}),
        ...(syslog.udp !== null ? { udp: syslog.udp } : {}),
        ...(tls && pair
          ? { tls: { listen: tls.listen, certPem: pair.certPem, keyPem: pair.keyPem, ...(tls.clientCaFile ? { clientCaPem: await readPem(tls.clientCaFile) } : {}) } }
          : {}),
        sources: syslog.sources,
        rules: { ...(syslog.operations ? { operations: syslog.operations } : {}), ...(syslog.pattern !== null ? { pattern: syslog.pattern } : {}), timeZone: syslog.timeZone },
        vaults: this.noticeVaults(),
        recorder: { record: (n) => this.record(n) },
        clock: this.opts.clock,
        logger: this.log,
      });
      if (syslog.udp !== null) this.log.warn({ udp: syslog.udp }, 'syslog over UDP is on: unauthenticated, its source addresses can be forged (docs/pmp-admin.md)');
    }
  }

  private startListener(listen: string, live: LiveSettings): Promise<NoticeListener> {
    const cert = this.certificate!;
    return NoticeListener.start({
      listen,
      certPem: cert.certPem,
      keyPem: cert.keyPem,
      ...live,
      vaults: this.noticeVaults(),
      recorder: { record: (n) => this.record(n) },
      clock: this.opts.clock,
      logger: this.log,
    });
  }

  private noticeVaults(): { vaultAccepts(name: string): VaultAcceptance } {
    return {
      vaultAccepts: (name) => {
        const profile = this.opts.vaults.profile(name);
        return profile === undefined ? 'unknown' : profile.rotationNotices ? 'ok' : 'disabled';
      },
    };
  }

  /** A notice → a durable event (IDs from the vault's cache when it knows them) → the vault's cache of the resource dropped. */
  private async record(n: RotationNotice): Promise<{ eventId: string }> {
    const rotatedAtMs = parseIsoTime(n.rotatedAt);
    if (rotatedAtMs === null) throw new GatewayError('BAD_REQUEST', 'rotatedAt is not a time');
    const ids = this.opts.vaults.cachedIds(n.vault, n.resourceName, n.accountName);
    const { eventId } = await this.outbox.record({
      vault: n.vault,
      resourceName: n.resourceName,
      accountName: n.accountName,
      rotatedAtMs,
      source: n.source,
      dnsName: n.dnsName,
      resourceId: ids.resourceId,
      accountId: ids.accountId,
    });
    this.opts.vaults.forgetResource(n.vault, n.resourceName);
    return { eventId };
  }

  private serially(step: () => Promise<void>): void {
    this.changing = this.changing.then(step).catch((err: unknown) => this.log.error({ err }, 'applying the notice listener settings failed'));
  }

  /** Restarts the listener on its address when its token (re-read), allow-list or rate changed. */
  private async applyLive(next: NoticesConfig): Promise<void> {
    let token: string;
    try {
      token = await this.opts.readSecret(next.token!);
    } catch (err) {
      this.log.error({ err: { message: (err as Error).message } }, 'notices.token unreadable on reload: the listener keeps its token');
      return;
    }
    const live: LiveSettings = { token, allowFrom: next.allowFrom, ratePerSecond: next.ratePerSecond, burst: next.burst };
    if (this.stopped || JSON.stringify(live) === JSON.stringify(this.live)) return;
    const old = this.listener;
    // Its own address (the real port when 0 was configured); a notice that finds it closed goes to the other gateway.
    const listen = old ? formatListenAddress(old.address) : this.opts.config.notices.listen!;
    if (old) {
      await old.close();
      const s = old.stats();
      this.earlier.accepted += s.accepted;
      for (const [code, n] of Object.entries(s.refused)) this.earlier.refused[code] = (this.earlier.refused[code] ?? 0) + n;
      this.listener = null;
    }
    try {
      this.listener = await this.startListener(listen, live);
      this.live = live;
      this.listenerError = null;
      this.log.info({ listen, allowFrom: live.allowFrom, ratePerSecond: live.ratePerSecond, burst: live.burst }, 'notice listener restarted with new settings');
    } catch (err) {
      this.listenerError = (err as Error).message;
      this.log.error({ err: { message: this.listenerError }, listen }, 'notice listener could not restart: notices go to the other gateway until a restart');
    }
  }
}

/** A PEM file of notices.syslog.tls. */
async function readPem(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new SyslogReceiverError(`notices.syslog.tls: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
  }
}
