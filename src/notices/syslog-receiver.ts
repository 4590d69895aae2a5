import dgram from 'node:dgram';
import net, { isIPv6, type AddressInfo, type Socket } from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import { type Clock, errorWithCode, isoTime, type TimerHandle } from '../shared/index.js';
import { AddressAllowList, normalizeAddress } from './address-allow-list.js';
import { formatListenAddress, parseListenAddress, type ListenAddress } from './listen-address.js';
import { LogThrottle } from './log-throttle.js';
import type { NoticeRecorder, NoticeVaults, RotationNotice } from './notice.js';
import { Pam360AuditRecognizer, type AuditRules } from './pam360-audit.js';
import { SyslogFramer, SyslogFramingError } from './syslog-framer.js';
import { parseSyslog } from './syslog-message.js';
import { bsdTimeToUtcMs } from './vault-time.js';

/**
 * The syslog receiver (`notices.syslog`): PAM360's SIEM integration sends
 * its audit trail here, over UDP, TCP (octet-counted or LF-framed,
 * RFC 6587) or TLS (RFC 5425). A line from an allowed source that reports
 * a password reset becomes a notice (`source: "syslog"`) for the vault
 * that source belongs to, recorded through the same port as the
 * listener's.
 *
 * UDP is unauthenticated and its source address can be forged: the allow
 * list is all that stands in the way (docs/pmp-admin.md). Use TCP or TLS.
 *
 * Bounded: a message is at most `maxMessageBytes`, connections at most
 * `maxConnections` per transport, an idle connection is closed, and at most
 * `maxPending` notices wait for the outbox (TCP and TLS then stop reading;
 * UDP drops). Never logged: a line's text, which could hold a reason an
 * operator typed; only its length and the fields taken from it.
 */

export const DEFAULT_SYSLOG_MAX_MESSAGE_BYTES = 8 * 1024;
export const DEFAULT_SYSLOG_MAX_CONNECTIONS = 64;
export const DEFAULT_SYSLOG_IDLE_TIMEOUT_MS = 10 * 60_000;
export const DEFAULT_SYSLOG_MAX_PENDING = 256;
/** Node's own bound on a TLS handshake (the idle time-out starts after it). */
const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

/** The addresses a vault's syslog comes from (`notices.syslog.sources`). */
export interface SyslogSource {
  vault: string;
  /** Addresses and CIDRs; at least one. */
  from: readonly string[];
}

export interface SyslogReceiverOptions {
  /** `host:port` for UDP. Default: no UDP. */
  udp?: string;
  /** `host:port` for plain TCP. Default: no TCP. */
  tcp?: string;
  /** TLS (RFC 5425): where, the server's PEM certificate and key, and optionally a CA that client certificates must chain to. */
  tls?: { listen: string; certPem: string; keyPem: string; clientCaPem?: string };
  /** Which vault each sender is; a sender in none is refused. */
  sources: readonly SyslogSource[];
  /** Which lines are password resets. Default: PAM360's documented shape. */
  rules?: AuditRules;
  /** Largest message. Default 8 KiB. */
  maxMessageBytes?: number;
  /** Connections at once, per transport. Default 64. */
  maxConnections?: number;
  /** A connection silent this long is closed. Default 10 minutes. */
  idleTimeoutMs?: number;
  /** Notices waiting for the outbox. Default 256. */
  maxPending?: number;
  vaults: NoticeVaults;
  recorder: NoticeRecorder;
  clock: Clock;
  logger: Logger;
}

export interface SyslogReceiverStats {
  /** Messages read from allowed sources. */
  received: number;
  /** Notices recorded. */
  recorded: number;
  /** Messages that are not a password reset. */
  ignored: number;
  /** Resets the vault reported as failed. */
  failedResets: number;
  /** Messages or connections from senders in no source list. */
  foreign: number;
  /** Messages over maxMessageBytes. */
  oversize: number;
  /** Connections closed for a broken octet count. */
  badFraming: number;
  /** Resets for a vault without rotationNotices (or unknown). */
  disabled: number;
  /** UDP messages dropped while maxPending notices waited. */
  dropped: number;
  /** Notices the outbox failed to store. */
  notRecorded: number;
}

type Transport = 'udp' | 'tcp' | 'tls';

export class SyslogReceiverError extends errorWithCode('SYSLOG_RECEIVER_FAILED') {
  override readonly name = 'SyslogReceiverError';
}

export class SyslogReceiver {
  private readonly sources: { vault: string; allow: AddressAllowList }[];
  private readonly recognizer: Pam360AuditRecognizer;
  private readonly counts: SyslogReceiverStats = {
    received: 0, recorded: 0, ignored: 0, failedResets: 0, foreign: 0, oversize: 0, badFraming: 0, disabled: 0, dropped: 0, notRecorded: 0,
  };
  private readonly throttle: LogThrottle;
  private readonly log: Logger;
  private readonly maxBytes: number;
  private readonly maxPending: number;
  private readonly sockets = new Map<Socket, { timer: TimerHandle | null }>();
  private readonly paused = new Set<Socket>();
  private readonly inFlight = new Set<Promise<void>>();
  private servers: net.Server[] = [];
  private udp: dgram.Socket | null = null;
  private closing: Promise<void> | null = null;
  /** Where each transport listens (real ports when 0 was asked). */
  readonly addresses: Partial<Record<Transport, ListenAddress>> = {};

  private constructor(private readonly opts: SyslogReceiverOptions) {
    if (!opts.udp && !opts.tcp && !opts.tls) throw new SyslogReceiverError('notices.syslog: give at least one of udp, tcp, tls');
    if (opts.sources.length === 0) throw new SyslogReceiverError('notices.syslog.sources is empty: name the vault behind each sending address');
    try {
      this.sources = opts.sources.map((s) => {
        if (s.from.length === 0) throw new Error(`the source of vault ${JSON.stringify(s.vault)} lists no address`);
        return { vault: s.vault, allow: new AddressAllowList(s.from) };
      });
      this.recognizer = new Pam360AuditRecognizer(opts.rules);
    } catch (err) {
      throw new SyslogReceiverError(`notices.syslog: ${(err as Error).message}`, { cause: err });
    }
    this.throttle = new LogThrottle(opts.clock);
    this.log = opts.logger;
    this.maxBytes = opts.maxMessageBytes ?? DEFAULT_SYSLOG_MAX_MESSAGE_BYTES;
    this.maxPending = opts.maxPending ?? DEFAULT_SYSLOG_MAX_PENDING;
  }

  /** Starts every configured transport; rejects with SyslogReceiverError (and closes what it opened). */
  static async start(opts: SyslogReceiverOptions): Promise<SyslogReceiver> {
    const r = new SyslogReceiver(opts);
    try {
      if (opts.udp) await r.listenUdp(opts.udp);
      if (opts.tcp) await r.listenStream('tcp', opts.tcp, net.createServer());
      if (opts.tls) {
        const { certPem, keyPem, clientCaPem } = opts.tls;
        const server = tls.createServer({
          cert: certPem, key: keyPem, minVersion: 'TLSv1.2', handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS,
          ...(clientCaPem ? { ca: clientCaPem, requestCert: true, rejectUnauthorized: true } : {}),
        });
        server.on('tlsClientError', (err: Error, socket: Socket) =>
          r.log.debug({ err: { message: err.message }, remote: socket.remoteAddress }, 'syslog TLS handshake failed'),
        );
        await r.listenStream('tls', opts.tls.listen, server);
      }
    } catch (err) {
      await r.close();
      throw err;
    }
    return r;
  }

  stats(): SyslogReceiverStats {
    return { ...this.counts };
  }

  /** Stops every transport, lets waiting notices reach the outbox, closes connections. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const closed = this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
      this.udp?.close();
      for (const [socket, s] of this.sockets) {
        this.opts.clock.clearTimeout(s.timer);
        socket.destroy();
      }
      this.sockets.clear();
      await Promise.allSettled([...this.inFlight]);
      await Promise.all(closed);
    })();
    return this.closing;
  }

  private vaultOf(address: string | undefined): string | null {
    const a = normalizeAddress(address)?.address;
    return (a !== undefined && this.sources.find((s) => s.allow.allows(a))?.vault) || null;
  }

  private async listenUdp(listen: string): Promise<void> {
    const want = this.parse(listen, 'udp');
    const socket = dgram.createSocket(isIPv6(want.host) ? 'udp6' : 'udp4');
    socket.on('message', (msg, rinfo) => {
      const vault = this.vaultOf(rinfo.address);
      if (!vault) return this.foreign(rinfo.address, 'udp');
      if (msg.length > this.maxBytes) return this.oversize(rinfo.address, msg.length);
      if (this.inFlight.size >= this.maxPending) {
        this.counts.dropped++;
        if (this.throttle.allow('udp dropped')) this.log.warn({ maxPending: this.maxPending }, 'syslog message dropped: too many notices wait for the outbox');
        return;
      }
      this.onMessage(msg, vault, normalizeAddress(rinfo.address)?.address ?? rinfo.address, 'udp');
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', (err) => reject(this.listenError('udp', want, err)));
      socket.bind(want.port, want.host, () => resolve());
    });
    socket.on('error', (err) => this.log.error({ err }, 'syslog UDP socket error'));
    this.udp = socket;
    const a = socket.address();
    this.bound('udp', { host: a.address, port: a.port });
  }

  private async listenStream(transport: 'tcp' | 'tls', listen: string, server: net.Server): Promise<void> {
    const want = this.parse(listen, transport);
    server.maxConnections = this.opts.maxConnections ?? DEFAULT_SYSLOG_MAX_CONNECTIONS;
    server.on(transport === 'tls' ? 'secureConnection' : 'connection', (socket: Socket) => this.onConnection(socket, transport));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(this.listenError(transport, want, err)));
      server.listen(want.port, want.host, () => resolve());
    });
    server.on('error', (err) => this.log.error({ err, transport }, 'syslog server error'));
    this.servers.push(server);
    const a = server.address() as AddressInfo;
    this.bound(transport, { host: a.address, port: a.port });
  }

  private onConnection(socket: Socket, transport: 'tcp' | 'tls'): void {
    const remote = normalizeAddress(socket.remoteAddress)?.address ?? socket.remoteAddress;
    const vault = this.vaultOf(remote);
    if (!vault || this.closing) {
      if (!vault) this.foreign(remote, transport);
      socket.destroy();
      return;
    }
    const state = { timer: null as TimerHandle | null };
    const idleMs = this.opts.idleTimeoutMs ?? DEFAULT_SYSLOG_IDLE_TIMEOUT_MS;
    const arm = (): void => {
      this.opts.clock.clearTimeout(state.timer);
      state.timer = this.opts.clock.setTimeout(() => socket.destroy(), idleMs);
    };
    arm();
    this.sockets.set(socket, state);
    const framer = new SyslogFramer({
      maxFrameBytes: this.maxBytes,
      onFrame: (frame) => this.onMessage(frame, vault, remote, transport, socket),
      onOversize: (bytes) => this.oversize(remote, bytes),
    });
    socket.on('data', (chunk: Buffer) => {
      arm();
      try {
        framer.push(chunk);
      } catch (err) {
        if (!(err instanceof SyslogFramingError)) throw err;
        this.counts.badFraming++;
        if (this.throttle.allow(`framing ${remote}`)) this.log.warn({ remote, transport, reason: err.message }, 'syslog connection closed: broken framing');
        socket.destroy();
      }
    });
    socket.on('end', () => {
      framer.end();
      socket.end();
    });
    socket.on('error', (err) => this.log.debug({ err: { message: err.message }, remote, transport }, 'syslog connection error'));
    socket.on('close', () => {
      this.opts.clock.clearTimeout(state.timer);
      this.sockets.delete(socket);
      this.paused.delete(socket);
    });
  }

  private onMessage(frame: Buffer, vault: string, remote: string | undefined, transport: Transport, socket?: Socket): void {
    this.counts.received++;
    try {
      this.handleMessage(frame, vault, remote, transport, socket);
    } catch (err) {
      // A bug (or a port that throws) costs this message, not the receiver.
      this.log.error({ err, remote, transport, bytes: frame.length }, 'syslog message handling failed');
    }
  }

  private handleMessage(frame: Buffer, vault: string, remote: string | undefined, transport: Transport, socket?: Socket): void {
    const msg = parseSyslog(frame.toString('utf8'));
    const line = this.recognizer.recognise(msg.msg);
    if (line.kind === 'other') {
      this.counts.ignored++;
      return;
    }
    if (line.kind === 'failed') {
      this.counts.failedResets++;
      this.log.info({ vault, operation: line.operation, remote }, 'vault reports a failed password reset: no notice');
      return;
    }
    if (this.opts.vaults.vaultAccepts(vault) !== 'ok') {
      this.counts.disabled++;
      if (this.throttle.allow(`disabled ${vault}`)) this.log.warn({ vault, remote }, 'password reset seen in syslog for a vault without rotation notices: ignored');
      return;
    }
    const now = this.opts.clock.now();
    const headerTime = msg.bsdTimestamp ? bsdTimeToUtcMs(msg.bsdTimestamp, this.opts.rules?.timeZone ?? 'UTC', now) : null;
    const notice: RotationNotice = {
      vault,
      resourceName: line.resourceName,
      accountName: line.accountName,
      rotatedAt: line.rotatedAt ?? msg.timestamp ?? isoTime(headerTime ?? now),
      source: 'syslog',
    };
    if (line.dnsName) notice.dnsName = line.dnsName;
    this.record(notice, { remote, transport, operation: line.operation, bytes: frame.length }, socket);
  }

  private record(notice: RotationNotice, context: Record<string, unknown>, socket?: Socket): void {
    const work = this.opts.recorder
      .record(notice)
      .then(
        ({ eventId }) => {
          this.counts.recorded++;
          this.log.info({ ...context, vault: notice.vault, resourceName: notice.resourceName, accountName: notice.accountName, dnsName: notice.dnsName, rotatedAt: notice.rotatedAt, eventId }, 'rotation notice recorded');
        },
        (err: unknown) => {
          this.counts.notRecorded++;
          this.log.error({ ...context, err, vault: notice.vault }, 'rotation notice from syslog not recorded');
        },
      )
      .finally(() => {
        this.inFlight.delete(work);
        if (this.paused.size > 0 && this.inFlight.size <= this.maxPending / 2) {
          for (const s of this.paused) s.resume();
          this.paused.clear();
        }
      });
    this.inFlight.add(work);
    if (socket && this.inFlight.size >= this.maxPending) {
      socket.pause();
      this.paused.add(socket);
    }
  }

  private foreign(address: string | undefined, transport: Transport): void {
    this.counts.foreign++;
    if (this.throttle.allow(`foreign ${address}`)) this.log.warn({ remote: address, transport }, 'syslog from a source in no notices.syslog.sources list: refused');
  }

  private oversize(address: string | undefined, bytes: number): void {
    this.counts.oversize++;
    if (this.throttle.allow(`oversize ${address}`)) this.log.warn({ remote: address, bytes, maxBytes: this.maxBytes }, 'syslog message over the size limit: dropped');
  }

  private parse(listen: string, transport: Transport): ListenAddress {
    try {
      return parseListenAddress(listen);
    } catch (err) {
      throw new SyslogReceiverError(`notices.syslog.${transport}: ${(err as Error).message}`, { cause: err });
    }
  }

  private listenError(transport: Transport, want: ListenAddress, err: NodeJS.ErrnoException): SyslogReceiverError {
    return new SyslogReceiverError(`syslog ${transport}: cannot listen on ${formatListenAddress(want)} (${err.code ?? err.message})`, { cause: err });
  }

  private bound(transport: Transport, a: ListenAddress): void {
    this.addresses[transport] = a;
    this.log.info({ transport, listen: formatListenAddress(a) }, 'syslog receiver listening');
  }
}
