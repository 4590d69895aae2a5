import type { Logger } from 'pino';
import { Pool } from './undici-pool.js';
import type { VaultProfile } from '../config/types.js';
import { sleep, type Clock } from '../shared/clock.js';
import { GatewayError } from '../shared/errors.js';
import type { AbortLike } from '../shared/abort.js';
import { isTlsVerificationError } from '../tls/trust.js';
import { decodeEnvelope, type PmpEnvelope } from './pmp-responses.js';
import { DeadlineQueue } from './deadline-queue.js';
import { PmpExchange } from './pmp-exchange.js';
import { isConnectPhaseError, transportErrorToError, type PmpCall } from './vault-errors.js';
import { VaultTrust } from './vault-trust.js';

/** Waits before the first and second retry of a connect failure (then give up). */
export const CONNECT_RETRY_DELAYS_MS: readonly number[] = [100, 300];

/** Idle keep-alive sockets are kept this long (PMP's Tomcat keeps them 60 s by default). */
const KEEP_ALIVE_MS = 30_000;

export interface PmpTransportDeps {
  /**
   * Reads the API key; called once per request (the caller may cache it:
   * the same string again costs no new check or header object). A string
   * returned as it is, not in a promise, lets the request go out at once.
   */
  readToken: () => string | Promise<string>;
  log: Logger;
  clock: Clock;
}

/**
 * The HTTP side of one vault profile's client: PMP calls as GET requests on
 * one undici Pool, with the profile's trust (CA file or pinned key), time-out
 * and API key, and the retry rules of `request`.
 *
 * - Every request carries the API key in the AUTHTOKEN header (never the
 *   query string) and `orgName` when the profile sets one.
 * - `timeoutMs` bounds each attempt as a whole (trust, a free connection,
 *   the answer) on the injected clock, through one DeadlineQueue timer for
 *   every request in flight; undici's connect, headers and body time-outs
 *   are back-ups. Requests go through undici's dispatch API (PmpExchange):
 *   no stream, timer or AbortController of our own per request.
 * - Answers are bounded by the profile's `maxResponseBytes` (PmpExchange).
 * - Logs carry method, path without query, status, duration and error
 *   code: never the key, a password, INPUT_DATA or a body.
 */
export class PmpTransport {
  private readonly origin: string;
  private readonly trust: VaultTrust;
  private readonly log: Logger;
  private readonly clock: Clock;
  private pool: Pool | undefined;
  private poolGeneration = -1;
  private closed = false;
  /** The profile's time-out of every request in flight, on one clock timer. */
  private readonly deadlines: DeadlineQueue;
  /** The token string last read and the request headers made from it. */
  private lastToken: string | undefined;
  private lastHeaders: Readonly<Record<string, string>> | undefined;

  constructor(
    private readonly profile: VaultProfile,
    private readonly deps: PmpTransportDeps,
  ) {
    this.log = deps.log;
    this.clock = deps.clock;
    const url = new URL(profile.url);
    if (url.protocol !== 'https:') throw new TypeError(`vault ${profile.name}: url must start with https://`);
    this.origin = url.origin;
    this.trust = new VaultTrust({
      caFile: profile.caFile,
      pinSha256: profile.pinSha256,
      host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port ? Number(url.port) : 443,
      timeoutMs: profile.timeoutMs,
    });
    this.deadlines = new DeadlineQueue(this.clock, profile.timeoutMs);
  }

  /** Ends every request: what is in flight ends with the pool, what has not been dispatched yet sees `closed`. */
  async close(): Promise<void> {
    this.closed = true;
    const pool = this.pool;
    this.pool = undefined;
    this.deadlines.stop();
    if (pool) await pool.destroy().catch(() => undefined);
  }

  /**
   * One PMP call: one HTTP exchange under the profile's time-out (counted
   * from before the pool and token are ready, so learning a pinned
   * certificate counts too) and the caller's signal. After a failure,
   * `failed` retries only connect-phase failures (the request was never
   * written) and, in pin mode, one TLS failure after learning a renewed
   * certificate (a failed handshake never carries the request either).
   *
   * Chained with one then() rather than written as async functions: a call
   * in flight holds one promise reaction here and no suspended frame (with
   * 1,000 commands waiting on a slow vault that is memory; on a fast vault,
   * every live object is also copied by each young-generation GC).
   */
  request(
    call: PmpCall,
    path: string,
    query: string | undefined,
    signal: AbortLike | undefined,
    retries = 0,
    relearned = false,
  ): Promise<PmpEnvelope> {
    if (this.closed) return Promise.reject(new GatewayError('VAULT_UNREACHABLE', 'the vault client is closed'));
    if (signal?.aborted) return Promise.reject(signal.reason);
    const ex = new PmpExchange(this.deadlines, signal, this.profile.maxResponseBytes);
    try {
      this.dispatch(ex, query ? `${path}?${query}` : path);
    } catch (err) {
      ex.fail(err);
    }
    const onFailure = (err: unknown, status?: number): Promise<PmpEnvelope> =>
      this.failed(call, path, query, signal, retries, relearned, this.exchangeFailed(call, path, status, ex, err, signal));
    return ex.promise.then((answer) => {
      let env: PmpEnvelope;
      try {
        env = decodeEnvelope(answer.status, answer.body, ex.token);
      } catch (err) {
        // PMP answered: nothing to retry, `failed` only passes the error on.
        return onFailure(err, answer.status);
      }
      if (this.log.isLevelEnabled('debug')) {
        this.log.debug({ call, method: 'GET', path, status: answer.status, outcome: env.status, durationMs: this.elapsed(ex) }, 'vault request');
      }
      return env;
    }, onFailure);
  }

  /** After a failed exchange: the same request again when that is safe (see request), else the error. */
  private async failed(
    call: PmpCall,
    path: string,
    query: string | undefined,
    signal: AbortLike | undefined,
    retries: number,
    relearned: boolean,
    err: unknown,
  ): Promise<PmpEnvelope> {
    if (signal?.aborted) throw signal.reason;
    if (err instanceof GatewayError) throw err;
    if (isTlsVerificationError(err) && this.trust.mode === 'pin' && !relearned) {
      let changed: boolean;
      try {
        changed = await this.trust.relearn(signal);
      } catch (relearnErr) {
        if (signal?.aborted) throw signal.reason;
        throw transportErrorToError(relearnErr);
      }
      if (changed) return this.request(call, path, query, signal, retries, true);
      relearned = true;
    }
    const delay = CONNECT_RETRY_DELAYS_MS[retries];
    if (delay === undefined || !isConnectPhaseError(err)) throw transportErrorToError(err);
    await sleep(this.clock, delay, signal);
    return this.request(call, path, query, signal, retries + 1, relearned);
  }

  /**
   * Logs a failed exchange and returns what the caller should see next: the
   * signal's reason (aborted), VAULT_TIMEOUT, or the error itself for
   * `failed` to sort.
   */
  private exchangeFailed(call: PmpCall, path: string, status: number | undefined, ex: PmpExchange, err: unknown, signal: AbortLike | undefined): unknown {
    if (signal?.aborted) {
      if (this.log.isLevelEnabled('debug')) {
        this.log.debug({ call, method: 'GET', path, status, durationMs: this.elapsed(ex) }, 'vault request aborted by caller');
      }
      return signal.reason;
    }
    const mapped = ex.timedOut
      ? new GatewayError('VAULT_TIMEOUT', 'the vault did not answer in time', {
          cause: err,
          detail: `no answer within ${this.profile.timeoutMs} ms`,
        })
      : transportErrorToError(err);
    this.log.warn({ call, method: 'GET', path, status, durationMs: this.elapsed(ex), code: mapped.code, detail: mapped.detail }, 'vault request failed');
    return ex.timedOut ? mapped : err;
  }

  /**
   * Hands the request to undici, unless the exchange ended first. In the
   * steady state (pool built, trust settled, key read) that happens at once,
   * with no promise; otherwise once the pool and the key are ready.
   */
  private dispatch(ex: PmpExchange, path: string): void {
    const pool = this.readyPool();
    let token: string | Promise<string>;
    try {
      token = this.deps.readToken();
    } catch (err) {
      ex.fail(tokenError(err));
      return;
    }
    if (pool && typeof token === 'string') {
      this.send(pool, ex, path, token);
      return;
    }
    this.dispatchWhenReady(ex, path, token).catch((err: unknown) => ex.fail(err));
  }

  private async dispatchWhenReady(ex: PmpExchange, path: string, token: string | Promise<string>): Promise<void> {
    let raw: string;
    try {
      raw = await token;
    } catch (err) {
      throw tokenError(err);
    }
    const pool = this.readyPool() ?? (await this.currentPool());
    this.send(pool, ex, path, raw);
  }

  private send(pool: Pool, ex: PmpExchange, path: string, raw: string): void {
    const headers = this.headersFor(raw);
    if (ex.done) return;
    ex.token = headers['AUTHTOKEN'];
    if (this.closed) throw new GatewayError('VAULT_UNREACHABLE', 'the vault client is closed');
    pool.dispatch({ method: 'GET', path, headers }, ex);
  }

  /** Request headers for the token just read; the same token again reuses them. */
  private headersFor(raw: string): Readonly<Record<string, string>> {
    if (raw === this.lastToken && this.lastHeaders) return this.lastHeaders;
    if (typeof raw !== 'string') throw new GatewayError('VAULT_ERROR', 'the vault API key is empty or malformed');
    const token = raw.trim();
    // A header value with control characters would be refused by undici with an error we do not control.
    if (token === '' || /[\x00-\x1f\x7f]/.test(token)) {
      throw new GatewayError('VAULT_ERROR', 'the vault API key is empty or malformed');
    }
    const headers: Record<string, string> = { AUTHTOKEN: token, accept: 'application/json' };
    if (this.profile.orgName) headers['orgName'] = this.profile.orgName;
    this.lastToken = raw;
    this.lastHeaders = Object.freeze(headers);
    return this.lastHeaders;
  }

  /** The pool when it needs no waiting: built, and trust settled for its generation. */
  private readyPool(): Pool | undefined {
    return this.pool !== undefined && this.poolGeneration === this.trust.generation && this.trust.ready !== undefined ? this.pool : undefined;
  }

  /** The pool for the current trust; rebuilt when a pinned leaf is (re)learned. */
  private async currentPool(): Promise<Pool> {
    const connect = await this.trust.connectOptions();
    if (this.closed) throw new GatewayError('VAULT_UNREACHABLE', 'the vault client is closed');
    if (this.pool && this.poolGeneration === this.trust.generation) return this.pool;
    const old = this.pool;
    this.pool = new Pool(this.origin, {
      connections: this.profile.maxConnections,
      pipelining: 1,
      keepAliveTimeout: KEEP_ALIVE_MS,
      // Back-ups of the client's own time-out (DeadlineQueue), which also covers waiting for a connection.
      headersTimeout: this.profile.timeoutMs,
      bodyTimeout: this.profile.timeoutMs,
      connect: {
        // Built once per trust generation (VaultTrust): never `ca` per connection.
        secureContext: connect.secureContext,
        checkServerIdentity: connect.checkServerIdentity,
        timeout: this.profile.timeoutMs,
      },
    });
    this.poolGeneration = this.trust.generation;
    if (old) old.close().catch(() => undefined);
    return this.pool;
  }

  private elapsed(ex: PmpExchange): number {
    return Math.round(this.clock.monotonic() - (ex.deadline - this.profile.timeoutMs));
  }
}

/** A failure to read the API key, as the caller sees it. */
function tokenError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  return new GatewayError('VAULT_ERROR', 'the vault API key cannot be read', { cause: err, detail: (err as Error)?.message });
}
