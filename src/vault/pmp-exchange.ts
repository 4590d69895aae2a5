import type { IncomingHttpHeaders } from 'node:http';
import type { AbortLike } from '../shared/index.js';
import type { Dispatcher } from 'undici';
import type { DeadlineEntry, DeadlineLink, DeadlineQueue } from './deadline-queue.js';
import { responseTooLargeError } from './vault-errors.js';

/**
 * One HTTP exchange with PMP on undici's dispatch API: the answer is
 * collected into a string and settles one promise. Not `pool.request`,
 * which adds a response stream and an AbortController per request (tuned
 * for allocation: docs/benchmarks.md#why-the-hot-path-looks-as-it-does).
 *
 * The time-out (a DeadlineQueue entry) and the caller's abort (one listener
 * on the caller's own signal, none without one) both end the exchange
 * through `fail`, which settles at once and aborts the request through
 * undici's own controller: a request still queued for a connection is
 * aborted as soon as undici starts it, a running one tears its socket down
 * (so it is never completed, nor re-sent).
 *
 * The answer is bounded by `maxBytes` the same way: a Content-Length above
 * it, or a body that grows past it, ends the exchange with VAULT_ERROR and
 * tears the socket down, so a hostile vault cannot make the gateway hold
 * more than that per request.
 */

export interface PmpAnswer {
  status: number;
  body: string;
}

export class PmpExchange implements Dispatcher.DispatchHandler, DeadlineEntry {
  // DeadlineEntry fields, owned by the queue.
  deadline = 0;
  older: DeadlineLink | null = null;
  newer: DeadlineLink | null = null;
  /** Settles once: the answer, the transport error, or the reason given to `fail`. */
  readonly promise: Promise<PmpAnswer>;
  /** True once the DeadlineQueue expired the exchange. */
  timedOut = false;
  /** The API key the request carried, so that an echo of it can be redacted from the answer. */
  token: string | undefined;
  /** A POST or PUT and its form-urlencoded body; undefined for a GET (the usual call). */
  write: { method: 'POST' | 'PUT'; form: string } | undefined;
  private settled = false;
  private status = 0;
  private chunks: Buffer[] | undefined;
  private bytes = 0;
  private controller: Dispatcher.DispatchController | undefined;
  private resolve!: (answer: PmpAnswer) => void;
  private reject!: (reason: unknown) => void;

  /**
   * Starts the time-out (`deadlines`) and listens to `signal` (aborting
   * rejects with `signal.reason`). The caller checks `signal.aborted` first.
   * `maxBytes` caps the body (the profile's maxResponseBytes).
   */
  constructor(
    private readonly deadlines: DeadlineQueue,
    private readonly signal: AbortLike | undefined,
    private readonly maxBytes: number,
  ) {
    this.promise = new Promise<PmpAnswer>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    deadlines.add(this);
    // The exchange is its own listener (handleEvent): no closure per request.
    signal?.addEventListener('abort', this, { once: true });
  }

  /** Whether the exchange has settled (a request not yet dispatched must not be). */
  get done(): boolean {
    return this.settled;
  }

  /** Ends the exchange with `reason` (before or during the request). */
  fail(reason: unknown): void {
    if (this.settled) return;
    this.finish();
    // undici gets an Error of its own: the caller's reason can be any value, and it is not undici's to keep.
    this.controller?.abort(new Error('the vault request was abandoned'));
    this.reject(reason);
  }

  /** DeadlineEntry: the profile's time-out passed. */
  expire(): void {
    if (this.settled) return;
    this.timedOut = true;
    this.fail(new Error('the vault request timed out'));
  }

  /** EventListener of the caller's signal. */
  handleEvent(): void {
    this.fail(this.signal?.reason);
  }

  // ---- undici DispatchHandler ----------------------------------------------

  onRequestStart(controller: Dispatcher.DispatchController): void {
    // Asked again as the request goes out: one that waited for a free connection may no longer be
    // wanted (reading `aborted` runs the caller's guard, shared/abort.ts CommandAbort).
    if (!this.settled && this.signal?.aborted) this.fail(this.signal.reason);
    if (this.settled) {
      controller.abort(new Error('the vault request was abandoned'));
      return;
    }
    this.controller = controller;
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    // 1xx answers come first and carry no body: the last status is the final one.
    this.status = statusCode;
    const announced = Number(headers['content-length']);
    // No byte of a body announced too large is worth reading.
    if (announced > this.maxBytes) this.fail(responseTooLargeError(this.maxBytes, announced));
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.settled) return;
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) {
      this.fail(responseTooLargeError(this.maxBytes, undefined));
      return;
    }
    if (this.chunks) this.chunks.push(chunk);
    else this.chunks = [chunk];
  }

  onResponseEnd(): void {
    if (this.settled) return;
    const chunks = this.chunks;
    this.finish();
    const body = !chunks ? '' : chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8');
    this.resolve({ status: this.status, body });
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (this.settled) return;
    this.finish();
    this.reject(err);
  }

  private finish(): void {
    this.settled = true;
    this.chunks = undefined;
    this.deadlines.delete(this);
    this.signal?.removeEventListener('abort', this);
  }
}
