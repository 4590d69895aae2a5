import type { Logger } from 'pino';
import { Pool } from './undici-pool.js';
import type { VaultProfile } from '../config/index.js';
import { type Clock, GatewayError, sleep, stripBrackets } from '../shared/index.js';
import type { AbortLike } from '../shared/index.js';
import { isTlsVerificationError } from '../tls/index.js';
import { decodeEnvelope, type PmpEnvelope } from './pmp-responses.js';
import { DeadlineQueue } from './deadline-queue.js';
import { PmpExchange } from './pmp-exchange.js';
import { isConnectPhaseError, transportErrorToError, type PmpCall } from './vault-errors.js';
import { VaultTrust } from './vault-trust.js';
import { tokenHeaders } from './auth-headers.js';

/** Waits before the first and second retry of a connect failure (then give up). */
export const CONNECT_RETRY_DELAYS_MS: readonly number[] = [100, 300];

/** How POST and PUT bodies are sent (PAM360's REST pages: "All parameters in the request should be form-urlencoded"). */
const FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded';

/** Idle keep-alive sockets are kept this long (PMP's Tomcat keeps them 60 s by default). */
const KEEP_ALIVE_MS = 30_000;

export interface PmpTransportDeps {
  /** Reads the API key, for each request whose key `peekToken` does not give. */
  readToken: () => Promise<string>;
  /**
   * The API key when it is at hand without waiting (a secret read once and
   * kept), else undefined; must not throw. With it the steady state sends a
   * request at once. Default: none, every request waits for `readToken`.
   */
  peekToken?: (() => string | undefined) | undefined;
  log: Logger;
  clock: Clock;
}

/** One PMP call, as `PmpTransport.request` takes it. */
export interface PmpRequest {
  /** Which call: for the logs and for mapping PMP's failures. */
  readonly call: PmpCall;
  /** The path under the vault's origin, its IDs already checked (pmp-paths.ts). */
  readonly path: string;
  /** The query string, without `?` (never logged: it may hold INPUT_DATA). */
  readonly query?: string | undefined;
  /** Default GET. POST and PUT carry `form` (PAM360's write calls take their parameters form-urlencoded). */
  readonly method?: 'GET' | 'POST' | 'PUT' | undefined;
  /** The body of a POST or PUT, already form-urlencoded (never logged: it holds INPUT_DATA). */
  readonly form?: string | undefined;
  /**
   * The orgName header of this call, already checked to be a header value
   * (shared/header-value.ts); null for none. Default: the profile's orgName.
   */
  readonly orgName?: string | null | undefined;
  /** The caller's signal: aborting ends the call with its reason. */
  readonly signal?: AbortLike | undefined;
}

/** How far the retries of one request have gone (see `request`). */
interface Tries {
  /** Connect-phase failures retried so far: the index into CONNECT_RETRY_DELAYS_MS. */
  readonly connectRetries: number;
  /** Whether a pinned certificate was learned anew for this request already. */
  readonly relearned: boolean;
}

const FIRST_TRY: Tries = Object.freeze({ connectRetries: 0, relearned: false });

/**
 * The HTTP side of one vault profile's client: PMP calls as GET requests on
 * one undici Pool, with the profile's trust (CA file or pinned key), time-out
 * and API key, and the retry rules of `request`.
 *
 * - Every request carries the token in a header, never the query string:
 *   AUTHTOKEN, or APP_AUTHTOKEN with APP_NAME for an integration token
 *   (auth-headers.ts); and `orgName`, the call's or the profile's, when set.
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
  /** The token string last read, as read and as sent, and the request headers made from it. */
  private lastToken: string | undefined;
  private lastSent: string | undefined;
  /** Without orgName, and with the profile's orgName (the same object when the profile sets none). */
  private lastBare: Readonly<Record<string, string>> | undefined;
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
      host: stripBrackets(url.hostname),
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
   * from before the pool and key are ready, so learning a pinned
   * certificate counts too) and the caller's signal. A failed exchange is
   * tried again only when that is safe: a connect-phase failure (the
   * request was never written), after CONNECT_RETRY_DELAYS_MS; and, in pin
   * mode, one TLS failure after learning a renewed certificate (a failed
   * handshake never carries the request either).
   */
  request(req: PmpRequest): Promise<PmpEnvelope> {
    return this.attempt(req, FIRST_TRY);
  }

  // Tuned for allocation (then() chains, no async frame): docs/benchmarks.md#why-the-hot-path-looks-as-it-does
  private attempt(req: PmpRequest, tries: Tries): Promise<PmpEnvelope> {
    const { signal } = req;
    if (this.closed) return Promise.reject(closedError());
    if (signal?.aborted) return Promise.reject(signal.reason);
    const ex = new PmpExchange(this.deadlines, signal, this.profile.maxResponseBytes);
    if (req.method !== undefined && req.method !== 'GET') ex.write = { method: req.method, form: req.form ?? '' };
    try {
      this.dispatch(ex, req.query ? `${req.path}?${req.query}` : req.path, req.orgName);
    } catch (err) {
      ex.fail(err);
    }
    const onFailure = (err: unknown, status?: number): Promise<PmpEnvelope> =>
      this.retryOrFail(req, tries, this.exchangeFailed(req, ex, err, status));
    return ex.promise.then((answer) => {
      let env: PmpEnvelope;
      try {
        env = decodeEnvelope(answer.status, answer.body, ex.token);
      } catch (err) {
        // PMP answered: nothing to retry, retryOrFail only passes the error on.
        return onFailure(err, answer.status);
      }
      if (this.log.isLevelEnabled('debug')) {
        this.log.debug({ call: req.call, method: req.method ?? 'GET', path: req.path, status: answer.status, outcome: env.status, durationMs: this.elapsed(ex) }, 'vault request');
      }
      return env;
    }, onFailure);
  }

  /** After a failed exchange: the same request again when that is safe (see request), else the error. */
  private async retryOrFail(req: PmpRequest, tries: Tries, err: unknown): Promise<PmpEnvelope> {
    const { signal } = req;
    if (signal?.aborted) throw signal.reason;
    if (err instanceof GatewayError) throw err;
    let relearned = tries.relearned;
    if (isTlsVerificationError(err) && this.trust.mode === 'pin' && !relearned) {
      let changed: boolean;
      try {
        changed = await this.trust.relearn(signal);
      } catch (relearnErr) {
        if (signal?.aborted) throw signal.reason;
        throw transportErrorToError(relearnErr);
      }
      if (changed) return this.attempt(req, { connectRetries: tries.connectRetries, relearned: true });
      relearned = true;
    }
    const delay = CONNECT_RETRY_DELAYS_MS[tries.connectRetries];
    if (delay === undefined || !isConnectPhaseError(err)) throw transportErrorToError(err);
    await sleep(this.clock, delay, signal);
    return this.attempt(req, { connectRetries: tries.connectRetries + 1, relearned });
  }

  /**
   * Logs a failed exchange and returns what the caller should see next: the
   * signal's reason (aborted), VAULT_TIMEOUT, or the error itself for
   * retryOrFail to sort.
   */
  private exchangeFailed(req: PmpRequest, ex: PmpExchange, err: unknown, status: number | undefined): unknown {
    const { call, path, signal } = req;
    const method = req.method ?? 'GET';
    if (signal?.aborted) {
      if (this.log.isLevelEnabled('debug')) {
        this.log.debug({ call, method, path, status, durationMs: this.elapsed(ex) }, 'vault request aborted by caller');
      }
      return signal.reason;
    }
    const mapped = ex.timedOut
      ? new GatewayError('VAULT_TIMEOUT', 'the vault did not answer in time', {
          cause: err,
          detail: `no answer within ${this.profile.timeoutMs} ms`,
        })
      : transportErrorToError(err);
    this.log.warn({ call, method, path, status, durationMs: this.elapsed(ex), code: mapped.code, detail: mapped.detail }, 'vault request failed');
    return ex.timedOut ? mapped : err;
  }

  /**
   * Hands the request to undici, unless the exchange ended first: at once
   * when the pool is ready and the key at hand (the steady state), else
   * once both are.
   */
  private dispatch(ex: PmpExchange, path: string, orgName: string | null | undefined): void {
    const pool = this.readyPool();
    const token = pool === undefined ? undefined : this.deps.peekToken?.();
    if (pool !== undefined && token !== undefined) {
      this.send(pool, ex, path, token, orgName);
    } else {
      this.ready()
        .then((parts) => this.send(parts.pool, ex, path, parts.token, orgName))
        .catch((err: unknown) => ex.fail(err));
    }
  }

  /** The pool and the API key, once both are ready. */
  private async ready(): Promise<{ pool: Pool; token: string }> {
    let token: string;
    try {
      token = await this.deps.readToken();
    } catch (err) {
      throw tokenError(err);
    }
    return { pool: this.readyPool() ?? (await this.currentPool()), token };
  }

  private send(pool: Pool, ex: PmpExchange, path: string, raw: string, orgName: string | null | undefined): void {
    const headers = this.headersFor(raw, orgName);
    if (ex.done) return;
    ex.token = this.lastSent;
    if (this.closed) throw closedError();
    const write = ex.write;
    if (write === undefined) pool.dispatch({ method: 'GET', path, headers }, ex);
    else pool.dispatch({ method: write.method, path, headers: { ...headers, 'content-type': FORM_CONTENT_TYPE }, body: write.form }, ex);
  }

  /**
   * Request headers for the token just read and the call's organisation:
   * the same token again reuses them; an organisation other than the
   * profile's (one per command, orgNameAttribute) costs one copy.
   */
  private headersFor(raw: string, orgName: string | null | undefined): Readonly<Record<string, string>> {
    if (raw !== this.lastToken || !this.lastHeaders || !this.lastBare) this.buildHeaders(raw);
    const org = orgName === undefined ? this.profile.orgName : orgName;
    if (org === this.profile.orgName) return this.lastHeaders as Readonly<Record<string, string>>;
    if (org === null || org === '') return this.lastBare as Readonly<Record<string, string>>;
    return { ...this.lastBare, orgName: org };
  }

  private buildHeaders(raw: string): void {
    if (typeof raw !== 'string') throw new GatewayError('VAULT_ERROR', 'the vault API key is empty or malformed');
    const token = raw.trim();
    // A header value with control characters would be refused by undici with an error we do not control.
    if (token === '' || /[\x00-\x1f\x7f]/.test(token)) {
      throw new GatewayError('VAULT_ERROR', 'the vault API key is empty or malformed');
    }
    const bare: Record<string, string> = { ...tokenHeaders(this.profile, token), accept: 'application/json' };
    this.lastBare = Object.freeze(bare);
    this.lastHeaders = this.profile.orgName ? Object.freeze({ ...bare, orgName: this.profile.orgName }) : this.lastBare;
    this.lastToken = raw;
    this.lastSent = token;
  }

  /** The pool when it needs no waiting: built, and trust settled for its generation. */
  private readyPool(): Pool | undefined {
    return this.pool !== undefined && this.poolGeneration === this.trust.generation && this.trust.ready !== undefined ? this.pool : undefined;
  }

  /** The pool for the current trust; rebuilt when a pinned leaf is (re)learned. */
  private async currentPool(): Promise<Pool> {
    const connect = await this.trust.connectOptions();
    if (this.closed) throw closedError();
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

function closedError(): GatewayError {
  return new GatewayError('VAULT_UNREACHABLE', 'the vault client is closed');
}

/** A failure to read the API key, as the caller sees it. */
function tokenError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  return new GatewayError('VAULT_ERROR', 'the vault API key cannot be read', { cause: err, detail: (err as Error)?.message });
}
