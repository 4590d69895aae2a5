import { normalizeRotatedAt } from './notice.js';

/**
 * One syslog message, RFC 5424 or RFC 3164 (the BSD format PAM360's SIEM
 * integration sends), parsed leniently: real senders drop the hostname,
 * put an RFC 3339 time in a 3164 header, or leave out the PRI. Pure.
 */

export interface SyslogMessage {
  format: '5424' | '3164';
  /** From PRI; null without one. */
  facility: number | null;
  severity: number | null;
  /** The header's time as ISO when it names a zone (RFC 5424, RFC 3339 in a 3164 header), else null. */
  timestamp: string | null;
  /** An RFC 3164 header time as written (`Sep 23 11:39:00`: no year, no zone), else null. */
  bsdTimestamp: string | null;
  hostname: string | null;
  /** RFC 5424 APP-NAME, or the RFC 3164 TAG. */
  appName: string | null;
  /**
   * The message text. For RFC 3164 everything after the header, the TAG
   * included (PAM360's audit line begins with the operator's name and a
   * colon, which a 3164 reader takes for a TAG); for RFC 5424 the MSG.
   */
  msg: string;
}

const BSD_TIME = /^([A-Z][a-z]{2}) ( \d|\d\d) (\d\d:\d\d:\d\d) /;
const RFC3339_TIME = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d)) /;
const TAG = /^([^\s:[\]]{1,48})(?:\[[^\]]*\])?:/;

export function parseSyslog(text: string): SyslogMessage {
  let rest = text;
  let facility: number | null = null;
  let severity: number | null = null;
  const pri = /^<(\d{1,3})>/.exec(rest);
  if (pri && Number(pri[1]) <= 191) {
    facility = Math.floor(Number(pri[1]) / 8);
    severity = Number(pri[1]) % 8;
    rest = rest.slice(pri[0].length);
    if (/^[1-9]\d{0,2} /.test(rest)) return parse5424(rest.slice(rest.indexOf(' ') + 1), facility, severity);
  }
  return parse3164(rest, facility, severity);
}

function parse3164(rest: string, facility: number | null, severity: number | null): SyslogMessage {
  let timestamp: string | null = null;
  let bsdTimestamp: string | null = null;
  let hostname: string | null = null;
  const bsd = BSD_TIME.exec(rest);
  const iso = bsd ? null : RFC3339_TIME.exec(rest);
  if (bsd) {
    bsdTimestamp = `${bsd[1]} ${bsd[2]} ${bsd[3]}`;
    rest = rest.slice(bsd[0].length);
  } else if (iso) {
    timestamp = normalizeRotatedAt(iso[1]!);
    rest = rest.slice(iso[0].length);
  }
  if (bsd || iso) {
    // HOSTNAME follows the time, unless the sender left it out and the TAG comes first.
    const host = /^(\S+) /.exec(rest);
    if (host && !host[1]!.endsWith(':') && !host[1]!.includes('[')) {
      hostname = host[1]!;
      rest = rest.slice(host[0].length);
    }
  }
  const tag = TAG.exec(rest);
  return { format: '3164', facility, severity, timestamp, bsdTimestamp, hostname, appName: tag ? tag[1]! : null, msg: rest };
}

function parse5424(rest: string, facility: number, severity: number): SyslogMessage {
  const fields: (string | null)[] = [];
  for (let i = 0; i < 5; i++) {
    const sp = rest.indexOf(' ');
    const field = sp < 0 ? rest : rest.slice(0, sp);
    fields.push(field === '-' ? null : field);
    rest = sp < 0 ? '' : rest.slice(sp + 1);
  }
  const [time, hostname, appName] = fields;
  rest = rest.slice(structuredDataLength(rest));
  if (rest.startsWith(' ')) rest = rest.slice(1);
  if (rest.startsWith('\ufeff')) rest = rest.slice(1);
  return {
    format: '5424',
    facility,
    severity,
    timestamp: time ? normalizeRotatedAt(time) : null,
    bsdTimestamp: null,
    hostname: hostname ?? null,
    appName: appName ?? null,
    msg: rest,
  };
}

/** Length of the STRUCTURED-DATA at the start of `s`: `-`, or `[id k="v"]…` with `\"`, `\\`, `\]` escapes in values. */
function structuredDataLength(s: string): number {
  if (s.startsWith('-')) return 1;
  let i = 0;
  while (s[i] === '[') {
    let quoted = false;
    for (i++; i < s.length; i++) {
      const c = s[i];
      if (quoted && c === '\\') i++;
      else if (c === '"') quoted = !quoted;
      else if (c === ']' && !quoted) break;
    }
    if (i >= s.length) return s.length;
    i++;
  }
  return i;
}
