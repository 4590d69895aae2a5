import { getEventListeners } from 'node:events';
import type { Dispatcher } from 'undici';
import { CommandAbort } from '../../../src/shared/abort.js';
import { ManualClock } from '../../../src/shared/clock.js';
import { DeadlineQueue } from '../../../src/vault/deadline-queue.js';
import { PmpExchange } from '../../../src/vault/pmp-exchange.js';

/** The dispatch handler of one PMP request, driven the way undici drives it (no sockets). */
describe('PmpExchange', () => {
  class FakeController implements Dispatcher.DispatchController {
    aborted = false;
    paused = false;
    reason: Error | null = null;
    abort(reason: Error): void {
      this.aborted = true;
      this.reason = reason;
    }
    pause(): void {
      this.paused = true;
    }
    resume(): void {
      this.paused = false;
    }
  }

  function setup(signal?: AbortSignal): { ex: PmpExchange; clock: ManualClock; queue: DeadlineQueue; ctl: FakeController } {
    const clock = new ManualClock();
    const queue = new DeadlineQueue(clock, 1000);
    return { ex: new PmpExchange(queue, signal, 1024), clock, queue, ctl: new FakeController() };
  }

  async function outcome(p: Promise<unknown>): Promise<unknown> {
    return p.then(
      (v) => ({ ok: v }),
      (err: unknown) => ({ err }),
    );
  }

  it('collects the body (a character split across chunks included) and leaves the time-out queue', async () => {
    const { ex, queue, ctl } = setup();
    expect(queue.size).toBe(1);
    const bytes = Buffer.from('{"p":"é€"}', 'utf8');
    ex.onRequestStart(ctl);
    ex.onResponseStart(ctl, 100, {}); // informational first
    ex.onResponseStart(ctl, 200, {});
    ex.onResponseData(ctl, bytes.subarray(0, 7));
    ex.onResponseData(ctl, bytes.subarray(7));
    ex.onResponseEnd();
    await expect(ex.promise).resolves.toEqual({ status: 200, body: '{"p":"é€"}' });
    expect(queue.size).toBe(0);
    expect(ex.done).toBe(true);
    expect(ctl.aborted).toBe(false);
  });

  it('asks the caller again as the request goes out: a guard that objects now stops it unsent', async () => {
    const clock = new ManualClock();
    const queue = new DeadlineQueue(clock, 1000);
    let reason: unknown;
    const signal = new CommandAbort(() => reason);
    const ex = new PmpExchange(queue, signal, 1024);
    // The request waited for a free connection; meanwhile the gateway lost its link.
    reason = 'link lost';
    const ctl = new FakeController();
    ex.onRequestStart(ctl);
    expect(ctl.aborted).toBe(true);
    await expect(ex.promise).rejects.toBe('link lost');
    expect(queue.size).toBe(0);
  });

  it('an empty answer is an empty body', async () => {
    const { ex, ctl } = setup();
    ex.onRequestStart(ctl);
    ex.onResponseStart(ctl, 200, {});
    ex.onResponseEnd();
    await expect(ex.promise).resolves.toEqual({ status: 200, body: '' });
  });

  it('a transport error rejects with that error', async () => {
    const { ex, queue, ctl } = setup();
    ex.onRequestStart(ctl);
    const err = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });
    ex.onResponseError(ctl, err);
    await expect(ex.promise).rejects.toBe(err);
    expect(queue.size).toBe(0);
  });

  it('the time-out passes on the clock: timedOut, rejected, the running request aborted, late data ignored', async () => {
    const { ex, clock, queue, ctl } = setup();
    ex.onRequestStart(ctl);
    ex.onResponseStart(ctl, 200, {});
    clock.advance(999);
    expect(ex.done).toBe(false);
    clock.advance(1);
    expect(ex.timedOut).toBe(true);
    expect(ctl.aborted).toBe(true);
    ex.onResponseData(ctl, Buffer.from('late'));
    ex.onResponseEnd();
    const r = (await outcome(ex.promise)) as { err?: Error };
    expect(r.err).toBeInstanceOf(Error);
    expect(queue.size).toBe(0);
  });

  it('the caller aborts during the request: rejects with the reason unchanged, stops listening', async () => {
    const ac = new AbortController();
    const { ex, queue, ctl } = setup(ac.signal);
    ex.onRequestStart(ctl);
    const reason = { any: 'value' };
    ac.abort(reason);
    await expect(ex.promise).rejects.toBe(reason);
    expect(ctl.aborted).toBe(true);
    expect(ctl.reason).toBeInstanceOf(Error); // undici gets an Error, never the caller's value
    expect(queue.size).toBe(0);
    // A late transport error changes nothing.
    ex.onResponseError(ctl, new Error('aborted'));
    await expect(ex.promise).rejects.toBe(reason);
  });

  it('ended before undici starts it (queued for a connection): aborted as soon as it starts, never sent', async () => {
    const ac = new AbortController();
    const { ex, ctl } = setup(ac.signal);
    ac.abort('gone');
    await expect(ex.promise).rejects.toBe('gone');
    ex.onRequestStart(ctl);
    expect(ctl.aborted).toBe(true);
  });

  it('after it settles, the caller’s later abort does nothing', async () => {
    const ac = new AbortController();
    const { ex, ctl } = setup(ac.signal);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(1);
    ex.onRequestStart(ctl);
    ex.onResponseStart(ctl, 200, {});
    ex.onResponseData(ctl, Buffer.from('{}'));
    ex.onResponseEnd();
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
    ac.abort('late');
    await expect(ex.promise).resolves.toEqual({ status: 200, body: '{}' });
    expect(ctl.aborted).toBe(false);
  });

  it('fail() before the request starts rejects with the given error', async () => {
    const { ex, queue } = setup();
    const err = new Error('token unreadable');
    ex.fail(err);
    ex.fail(new Error('second'));
    await expect(ex.promise).rejects.toBe(err);
    expect(queue.size).toBe(0);
  });

  it('a Content-Length over maxBytes ends the exchange at the headers: VAULT_ERROR, request aborted', async () => {
    const { ex, queue, ctl } = setup();
    ex.onRequestStart(ctl);
    ex.onResponseStart(ctl, 200, { 'content-length': '1025' });
    expect(ctl.aborted).toBe(true);
    await expect(ex.promise).rejects.toMatchObject({ code: 'VAULT_ERROR', detail: 'Content-Length 1025 is over 1024 bytes' });
    expect(queue.size).toBe(0);
  });

  it('a body growing past maxBytes ends the exchange: VAULT_ERROR, request aborted, nothing more kept', async () => {
    const { ex, ctl } = setup();
    ex.onRequestStart(ctl);
    ex.onResponseStart(ctl, 200, {});
    ex.onResponseData(ctl, Buffer.alloc(1024));
    expect(ctl.aborted).toBe(false);
    ex.onResponseData(ctl, Buffer.alloc(1));
    expect(ctl.aborted).toBe(true);
    await expect(ex.promise).rejects.toMatchObject({ code: 'VAULT_ERROR', detail: 'body longer than 1024 bytes' });
    expect((ex as unknown as { chunks: unknown }).chunks).toBeUndefined();
  });
});
