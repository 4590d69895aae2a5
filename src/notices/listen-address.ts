import { isIPv6 } from 'node:net';
import { errorWithCode } from '../shared/index.js';

/** Where a notice server binds: `0.0.0.0:9470`, `[::]:9470`, `10.1.2.5:9470`, `gw-a.corp.local:514`. */
export interface ListenAddress {
  host: string;
  port: number;
}

export class ListenAddressError extends errorWithCode('LISTEN_ADDRESS_INVALID') {
  override readonly name = 'ListenAddressError';
}

/** Parses `host:port` (IPv6 in brackets); port 0 picks a free one. Throws ListenAddressError. */
export function parseListenAddress(text: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65_535) throw new ListenAddressError(`${JSON.stringify(text)} is not host:port (IPv6 in brackets: "[::]:9470")`);
  const host = m[1] ?? m[2]!;
  if (m[1] !== undefined && !isIPv6(host)) throw new ListenAddressError(`${JSON.stringify(text)}: ${host} is not an IPv6 address`);
  return { host, port };
}

/** `host:port` with brackets around an IPv6 address. */
export function formatListenAddress(a: ListenAddress): string {
  return `${isIPv6(a.host) ? `[${a.host}]` : a.host}:${a.port}`;
}
