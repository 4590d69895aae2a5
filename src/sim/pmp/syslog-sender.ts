import { createSocket } from 'node:dgram';
import { connect, isIP } from 'node:net';
import { PmpSimError } from './sim-errors.js';

/**
 * PAM360's SIEM integration, sending side (help "Integrating PAM360 with
 * SIEM tools"): an RFC 3164 message per audit row, over UDP or TCP, facility
 * AUTH unless configured. The documented text of a row is
 *
 *     admin: Account_Added 2019/09/23 11:39:00 Success pam_test windows-server1:account1:Testing
 *
 * operator, operation (spaces as underscores), date and time, status, where
 * the operator worked from, then resource:account:reason. The severity, the
 * header's host name, the time zone (UTC here) and TCP framing (a line
 * feed after each message here) are *(unconfirmed)* and configurable.
 */

export interface SyslogTarget {
  transport: 'udp' | 'tcp';
  host: string;
  port: number;
}

const FACILITIES: Record<string, number> = {
  kern: 0, user: 1, mail: 2, daemon: 3, auth: 4, syslog: 5, lpr: 6, news: 7, uucp: 8, cron: 9, authpriv: 10, ftp: 11,
  local0: 16, local1: 17, local2: 18, local3: 19, local4: 20, local5: 21, local6: 22, local7: 23,
};
/** Connect and write time-out of a TCP send. */
export const DEFAULT_SYSLOG_TIMEOUT_MS = 5_000;

export interface SyslogOptions {
  /** `udp://host:port` or `tcp://host:port` (IPv6 in brackets). */
  target: string;
  /** A facility name (auth, local0, …) or number 0–23. Default 'auth'. */
  facility?: string | number;
  /** Severity 0–7. Default 6 (informational) *(unconfirmed)*. */
  severity?: number;
  /** The header's HOSTNAME. Default 'pam360'. */
  hostname?: string;
  /** TCP framing: a line feed after each message, or RFC 6587 octet counting. Default 'lf'. */
  framing?: 'lf' | 'octet-counting';
  /** TCP connect-and-send time-out. Default {@link DEFAULT_SYSLOG_TIMEOUT_MS}. */
  timeoutMs?: number;
}

/** What one audit row says, for its syslog text. */
export interface AuditLine {
  operator: string;
  operation: string;
  /** Epoch ms. */
  time: number;
  status: string;
  operatedFrom: string;
  resourceName: string;
  accountName: string;
  reason: string;
}

export function parseSyslogTarget(raw: string): SyslogTarget {
  const m = /^(udp|tcp):\/\/(\[[^\]]+\]|[^:/[\]]+):(\d{1,5})\/?$/.exec(raw.trim());
  const port = m ? Number(m[3]) : 0;
  if (!m || port < 1 || port > 65535) {
    throw new PmpSimError('SIM_OPTIONS_INVALID', 'rotation.syslog.target', `must be udp://host:port or tcp://host:port (got "${raw}")`);
  }
  const host = m[2]!.startsWith('[') ? m[2]!.slice(1, -1) : m[2]!;
  return { transport: m[1] as 'udp' | 'tcp', host, port };
}

const two = (n: number): string => String(n).padStart(2, '0');
/** Keeps a field on one line and off the `:` separators' meaning where it can. */
const field = (s: string): string => s.replace(/[\r\n]+/g, ' ');

/** The PAM360 audit text, e.g. `admin: Password_Reset 2026/12/03 10:15:02 Success 127.0.0.1 Windows_Jump_Box:administrator:Scheduled rotation`. */
export function pam360AuditText(l: AuditLine): string {
  const d = new Date(l.time);
  const when = `${d.getUTCFullYear()}/${two(d.getUTCMonth() + 1)}/${two(d.getUTCDate())} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
  const op = field(l.operation).trim().replace(/\s+/g, '_');
  return `${field(l.operator)}: ${op} ${when} ${field(l.status)} ${field(l.operatedFrom)} ${field(l.resourceName)}:${field(l.accountName)}:${field(l.reason)}`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `<PRI>Mmm dd hh:mm:ss HOSTNAME text` (RFC 3164 section 4.1; the day space-padded). */
export function rfc3164(pri: number, time: number, hostname: string, text: string): string {
  const d = new Date(time);
  const stamp = `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
  return `<${pri}>${stamp} ${hostname} ${text}`;
}

export class SyslogSender {
  readonly target: SyslogTarget;
  private readonly pri: number;
  private readonly hostname: string;
  private readonly framing: 'lf' | 'octet-counting';
  private readonly timeoutMs: number;

  constructor(o: SyslogOptions) {
    this.target = parseSyslogTarget(o.target);
    const facility = typeof o.facility === 'number' ? o.facility : FACILITIES[(o.facility ?? 'auth').toLowerCase()];
    if (facility === undefined || !Number.isInteger(facility) || facility < 0 || facility > 23) {
      throw new PmpSimError('SIM_OPTIONS_INVALID', 'rotation.syslog.facility', `must be 0–23 or one of ${Object.keys(FACILITIES).join(', ')}`);
    }
    const severity = o.severity ?? 6;
    if (!Number.isInteger(severity) || severity < 0 || severity > 7) throw new PmpSimError('SIM_OPTIONS_INVALID', 'rotation.syslog.severity', 'must be 0–7');
    this.pri = facility * 8 + severity;
    this.hostname = o.hostname ?? 'pam360';
    if (!/^\S+$/.test(this.hostname)) throw new PmpSimError('SIM_OPTIONS_INVALID', 'rotation.syslog.hostname', 'must be one word');
    this.framing = o.framing ?? 'lf';
    this.timeoutMs = o.timeoutMs ?? DEFAULT_SYSLOG_TIMEOUT_MS;
  }

  /** The whole message for an audit row. */
  message(l: AuditLine): string {
    return rfc3164(this.pri, l.time, this.hostname, pam360AuditText(l));
  }

  /** Sends one message on its own datagram or connection; resolves once it is handed to the network. */
  send(message: string): Promise<void> {
    return this.target.transport === 'udp' ? this.sendUdp(message) : this.sendTcp(message);
  }

  private sendUdp(message: string): Promise<void> {
    const { host, port } = this.target;
    const socket = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
    return new Promise<void>((resolve, reject) => {
      socket.once('error', (err) => {
        socket.close();
        reject(err);
      });
      socket.send(Buffer.from(message), port, host, (err) => {
        socket.close();
        if (err) reject(err);
        else resolve();
      });
    });
  }

  private sendTcp(message: string): Promise<void> {
    const { host, port } = this.target;
    const body = Buffer.from(message);
    const framed = this.framing === 'lf' ? Buffer.concat([body, Buffer.from('\n')]) : Buffer.concat([Buffer.from(`${body.length} `), body]);
    return new Promise<void>((resolve, reject) => {
      const socket = connect({ host, port });
      socket.setTimeout(this.timeoutMs, () => socket.destroy(new Error(`syslog ${host}:${port}: no progress in ${this.timeoutMs} ms`)));
      socket.once('error', reject);
      socket.once('connect', () => socket.end(framed));
      // Written and FIN sent: delivered as far as a sender can tell. The idle time-out still ends a peer that never closes.
      socket.once('finish', () => resolve());
    });
  }
}
