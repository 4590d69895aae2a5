// The floor: PMP's password call straight on an undici Pool, as a minimal
// hand-written integration would do it (AUTHTOKEN header, JSON body, check
// the envelope). Same trust (system roots + the simulator's certificate,
// through credgw's own trustedConnectOptions) and same connection count as
// the vault client, so the comparison isolates the client's own cost. The
// minimal relay (relay.mjs) uses the same pool and call.

import { createSecureContext } from 'node:tls';
import { Pool } from 'undici';
import { importDist } from './env.mjs';

export const PASSWORD_PATH = '/restapi/json/v1/resources/301/accounts/902/password';

/**
 * An undici Pool to a PMP origin with credgw's trust for `caFile`, built as
 * the vault client builds its own (pmp-transport.ts).
 * @param {{ origin: string, caFile: string | null, connections?: number, timeoutMs?: number }} o
 *   `origin` may differ from the certificate's host (a tunnel's port); the
 *   certificate is still checked for 127.0.0.1.
 */
export async function pmpPool({ origin, caFile, connections = 32, timeoutMs = 10_000 }) {
  const { trustedConnectOptions } = await importDist('tls/index.js');
  const { ca, checkServerIdentity } = trustedConnectOptions({ caFile });
  return new Pool(origin, {
    connections,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    // One secure context for every connection, as the vault client has: with `ca` alone
    // Node builds a context (the whole root store) per connection, ~15 ms of blocked event
    // loop each time the simulator has closed an idle socket.
    connect: { secureContext: createSecureContext({ ca }), checkServerIdentity, timeout: timeoutMs },
  });
}

/** One GET to PMP; resolves with `operation.Details` of a successful answer, throws otherwise. */
export async function pmpGet(pool, path, headers, signal) {
  const res = await pool.request({ method: 'GET', path, headers, signal });
  const body = await res.body.json();
  const result = body?.operation?.result;
  if (res.statusCode !== 200 || result?.status !== 'Success') {
    throw new Error(`PMP answered ${res.statusCode} ${result?.status ?? 'without a status'}`);
  }
  return body.operation.Details;
}

/** The password of a password call's `Details` (an object, or an array of one). */
export function passwordOf(details) {
  const pw = (Array.isArray(details) ? details[0] : details)?.PASSWORD;
  if (typeof pw !== 'string' || pw === '') throw new Error('PMP answered without a password');
  return pw;
}

/** @param {{ origin: string, token: string, caFile: string, connections?: number }} o */
export async function rawPmpClient({ origin, token, caFile, connections = 32 }) {
  const pool = await pmpPool({ origin, caFile, connections });
  const headers = { AUTHTOKEN: token, accept: 'application/json' };
  return {
    /** One password call; `signal` (optional) is handed to undici as a deadline-carrying caller would. */
    getPassword: async (signal) => passwordOf(await pmpGet(pool, PASSWORD_PATH, headers, signal)),
    close: () => pool.close(),
  };
}
