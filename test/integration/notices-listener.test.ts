import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { NOTICE_ERROR_CODES, NOTICE_ERROR_STATUS, NoticeListener, NoticeListenerError, type NoticeListenerOptions, type NoticeVaults } from '../../src/notices/index.js';
import { ManualClock } from '../../src/shared/clock.js';
import { connectRaw, FakeRecorder, FakeVaults, logCapture, readResponse, send, type RawTarget } from '../helpers/notice-harness.js';
import { testPki } from '../helpers/pki.js';

const TOKEN = 'notice-token-1';
const PASSWORD = 'N3w-S3cr3t!pw';
const OLD_PASSWORD = 'Old-S3cr3t!pw';
const NOTICE = { vault: 'pmp-prod', resourceName: 'Windows_Jump_Box', dnsName: 'jump01.corp.local', accountName: 'administrator', rotatedAt: '2026-12-03T10:15:02Z' };

describe('notice listener (protocol section 12, real HTTPS sockets)', () => {
  const pki = testPki();
  const logs = logCapture();
  const open: NoticeListener[] = [];
  let recorder: FakeRecorder;

  async function start(extra: Partial<NoticeListenerOptions> = {}): Promise<{ listener: NoticeListener; target: RawTarget; clock: ManualClock }> {
    const clock = new ManualClock();
    recorder = new FakeRecorder();
    const listener = await NoticeListener.start({
      listen: '127.0.0.1:0',
      certPem: pki.server.certPem,
      keyPem: pki.server.keyPem,
      token: TOKEN,
      vaults: new FakeVaults({ 'pmp-prod': 'ok', 'pmp-dr': 'disabled' }),
      recorder,
      clock,
      logger: logs.logger,
      ...extra,
    });
    open.push(listener);
    return { listener, target: { port: listener.address.port, ca: pki.ca.certPem }, clock };
  }

  afterEach(async () => {
    await Promise.all(open.splice(0).map((l) => l.close()));
  });

  afterAll(() => {
    // Nothing any test sent as a secret reached a log line.
    const text = logs.text();
    expect(text).toContain('rotation notice recorded');
    for (const secret of [TOKEN, PASSWORD, OLD_PASSWORD, 'wrong-token-9']) expect(text).not.toContain(secret);
  });

  it('202 with the event id once recorded, the notice as sent with source "listener"', async () => {
    const { target, listener } = await start();
    const res = await send(target, { body: NOTICE });
    expect(res.status).toBe(202);
    expect(res.json).toEqual({ eventId: expect.stringMatching(/^ev-/) });
    expect(res.headers['connection']).toBe('close');
    expect(recorder.notices).toEqual([{ ...NOTICE, rotatedAt: '2026-12-03T10:15:02.000Z', source: 'listener' }]);
    expect(listener.stats()).toEqual({ accepted: 1, refused: {} });
    expect(listener.pin).toBe(pki.server.pin);
    const line = logs.entries().find((e) => e['msg'] === 'rotation notice recorded' && e['eventId'] === (res.json as { eventId: string }).eventId);
    expect(line).toMatchObject({ vault: 'pmp-prod', resourceName: 'Windows_Jump_Box', accountName: 'administrator', remote: '127.0.0.1' });
  });

  it('the same change posted twice answers the same event id (the outbox derives it; the listener passes it through)', async () => {
    const { target } = await start();
    const a = await send(target, { body: NOTICE });
    const b = await send(target, { body: { ...NOTICE, rotatedAt: '2026-12-03T11:15:02+01:00' } });
    expect(b.status).toBe(202);
    expect(b.json).toEqual(a.json);
  });

  it('uses the receive time (the injected clock) when rotatedAt is absent', async () => {
    const { target, clock } = await start();
    const { rotatedAt: _t, ...noTime } = NOTICE;
    expect((await send(target, { body: noTime })).status).toBe(202);
    expect(recorder.notices[0]!.rotatedAt).toBe(new Date(clock.now()).toISOString());
  });

  it('answers 202 only once the recorder says the event is durable', async () => {
    const { target } = await start();
    recorder.hold();
    let answered = false;
    const pending = send(target, { body: NOTICE }).then((r) => ((answered = true), r));
    while (recorder.waiting === 0) await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 50));
    expect(answered).toBe(false);
    recorder.release();
    expect((await pending).status).toBe(202);
  });

  it('503 UNAVAILABLE when the event cannot be stored', async () => {
    const { target } = await start();
    recorder.fail();
    const res = await send(target, { body: NOTICE });
    expect(res.status).toBe(503);
    expect(res.json).toEqual({ error: { code: 'UNAVAILABLE', message: expect.any(String) } });
  });

  it('401 UNAUTHORIZED without a token, with a wrong one, or another scheme', async () => {
    const { target, listener } = await start();
    for (const req of [{ token: null }, { token: 'wrong-token-9' }, { token: `${TOKEN}x` }, { token: null, headers: { authorization: `Basic ${TOKEN}` } }]) {
      const res = await send(target, { body: NOTICE, ...req });
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer /);
      expect(res.json).toEqual({ error: { code: 'UNAUTHORIZED', message: expect.any(String) } });
    }
    expect(recorder.notices).toEqual([]);
    expect(listener.stats().refused).toEqual({ UNAUTHORIZED: 4 });
  });

  it('403 NOTICES_DISABLED and 404 UNKNOWN_VAULT by the vault lookup', async () => {
    const { target } = await start();
    expect(await send(target, { body: { ...NOTICE, vault: 'pmp-dr' } })).toMatchObject({ status: 403, json: { error: { code: 'NOTICES_DISABLED' } } });
    expect(await send(target, { body: { ...NOTICE, vault: 'nope' } })).toMatchObject({ status: 404, json: { error: { code: 'UNKNOWN_VAULT' } } });
  });

  it('404 NOT_FOUND for another path, 405 METHOD_NOT_ALLOWED for another method, 415 for another media type', async () => {
    const { target } = await start();
    expect(await send(target, { path: '/v1/notices', body: NOTICE })).toMatchObject({ status: 404, json: { error: { code: 'NOT_FOUND' } } });
    const get = await send(target, { method: 'GET' });
    expect(get).toMatchObject({ status: 405, json: { error: { code: 'METHOD_NOT_ALLOWED' } } });
    expect(get.headers['allow']).toBe('POST');
    expect(await send(target, { body: NOTICE, headers: { 'content-type': 'text/plain' } })).toMatchObject({ status: 415, json: { error: { code: 'UNSUPPORTED_MEDIA_TYPE' } } });
    expect((await send(target, { body: NOTICE, headers: { 'content-type': 'application/json; charset=utf-8' } })).status).toBe(202);
  });

  it('400 BAD_BODY and 400 PASSWORD_FIELD, whose value is never logged', async () => {
    const { target } = await start();
    expect(await send(target, { body: '{"vault":' })).toMatchObject({ status: 400, json: { error: { code: 'BAD_BODY' } } });
    expect(await send(target, { body: { vault: 'pmp-prod' } })).toMatchObject({ status: 400, json: { error: { code: 'BAD_BODY' } } });
    for (const body of [{ ...NOTICE, password: PASSWORD }, { ...NOTICE, oldPassword: OLD_PASSWORD, NEWPASSWORD: PASSWORD }, { ...NOTICE, x: { y: [{ NewPassword: PASSWORD }] } }]) {
      const res = await send(target, { body });
      expect(res).toMatchObject({ status: 400, json: { error: { code: 'PASSWORD_FIELD' } } });
      expect(res.body).not.toContain(PASSWORD);
    }
    expect(recorder.notices).toEqual([]);
    expect(logs.text()).not.toContain(PASSWORD);
  });

  it('413 BODY_TOO_LARGE for a declared length over 16 KiB, answered without waiting for the body', async () => {
    const { target } = await start();
    const socket = await connectRaw(target);
    const response = readResponse(socket);
    socket.write(`POST /v1/notices/rotation HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer ${TOKEN}\r\ncontent-type: application/json\r\ncontent-length: 10485760\r\n\r\n{"vault":`);
    const res = await response;
    expect(res).toMatchObject({ status: 413, json: { error: { code: 'BODY_TOO_LARGE' } } });
  });

  it('413 BODY_TOO_LARGE as soon as a chunked body passes 16 KiB, without reading the rest', async () => {
    const { target } = await start();
    const socket = await connectRaw(target);
    const response = readResponse(socket);
    socket.write(`POST /v1/notices/rotation HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer ${TOKEN}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n`);
    const chunk = 'x'.repeat(4096);
    for (let i = 0; i < 5; i++) socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    // The request never ends: the answer must come anyway.
    const res = await response;
    expect(res).toMatchObject({ status: 413, json: { error: { code: 'BODY_TOO_LARGE' } } });
  });

  it('takes a body of exactly 16 KiB', async () => {
    const { target } = await start();
    const base = JSON.stringify({ ...NOTICE, pad: '' });
    const body = JSON.stringify({ ...NOTICE, pad: 'p'.repeat(16 * 1024 - base.length) });
    expect(Buffer.byteLength(body)).toBe(16 * 1024);
    expect((await send(target, { body })).status).toBe(202);
  });

  it('408 REQUEST_TIMEOUT for a body slower than the request time-out (manual clock)', async () => {
    const { target, clock } = await start({ requestTimeoutMs: 5_000 });
    const socket = await connectRaw(target);
    // Expect: 100-continue makes the server say when it has read the headers.
    const continued = new Promise<void>((resolve) => socket.once('data', (c: Buffer) => (c.toString().startsWith('HTTP/1.1 100') ? resolve() : undefined)));
    socket.write(`POST /v1/notices/rotation HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer ${TOKEN}\r\ncontent-type: application/json\r\ncontent-length: 200\r\nexpect: 100-continue\r\n\r\n{"vault":"pmp-prod",`);
    await continued;
    const response = readResponse(socket);
    clock.advance(4_999);
    await new Promise((r) => setTimeout(r, 20));
    expect(socket.destroyed).toBe(false);
    clock.advance(1);
    expect(await response).toMatchObject({ status: 408, json: { error: { code: 'REQUEST_TIMEOUT' } } });
  });

  it('closes a connection that sends no request within the time-out', async () => {
    const { target, clock } = await start({ requestTimeoutMs: 5_000 });
    const socket = await connectRaw(target);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    while (clock.pending === 0) await new Promise((r) => setImmediate(r));
    clock.advance(5_000);
    await closed;
  });

  it('429 RATE_LIMITED past the burst (default 40, then 20/s per source), with Retry-After, per source address', async () => {
    const { target, clock } = await start();
    for (let i = 0; i < 40; i++) expect((await send(target, { token: 'wrong-token-9', body: NOTICE })).status).toBe(401);
    const limited = await send(target, { body: NOTICE });
    expect(limited).toMatchObject({ status: 429, json: { error: { code: 'RATE_LIMITED' } } });
    expect(limited.headers['retry-after']).toBe('1');
    expect((await send({ ...target, localAddress: '127.0.0.2' }, { body: NOTICE })).status).toBe(202);
    clock.advance(50);
    expect((await send(target, { body: NOTICE })).status).toBe(202);
    expect((await send(target, { body: NOTICE })).status).toBe(429);
  });

  it('403 FORBIDDEN_SOURCE outside allowFrom (address and CIDR), checked before the token', async () => {
    const one = await start({ allowFrom: ['127.0.0.1'] });
    expect((await send(one.target, { body: NOTICE })).status).toBe(202);
    const res = await send({ ...one.target, localAddress: '127.0.0.2' }, { token: null, body: NOTICE });
    expect(res).toMatchObject({ status: 403, json: { error: { code: 'FORBIDDEN_SOURCE' } } });
    const cidr = await start({ allowFrom: ['127.0.0.0/31'] });
    expect((await send({ ...cidr.target, localAddress: '127.0.0.1' }, { body: NOTICE })).status).toBe(202);
    expect((await send({ ...cidr.target, localAddress: '127.0.0.2' }, { body: NOTICE })).status).toBe(403);
  });

  it('allow-list on a dual-stack listener: IPv6 addresses and CIDRs, and IPv4 clients as IPv4', async () => {
    const v6 = await start({ listen: '[::]:0', allowFrom: ['::1'] });
    expect((await send({ ...v6.target, host: '::1' }, { body: NOTICE })).status).toBe(202);
    expect((await send({ ...v6.target, host: '127.0.0.1' }, { body: NOTICE })).status).toBe(403);
    const v4 = await start({ listen: '[::]:0', allowFrom: ['127.0.0.0/8', '::/128'] });
    expect((await send({ ...v4.target, host: '127.0.0.1' }, { body: NOTICE })).status).toBe(202);
    expect((await send({ ...v4.target, host: '::1' }, { body: NOTICE })).status).toBe(403);
    const net6 = await start({ listen: '[::1]:0', allowFrom: ['::/127'] });
    expect((await send({ ...net6.target, host: '::1' }, { body: NOTICE })).status).toBe(202);
  });

  it('500 INTERNAL when a port throws, logged with its stack', async () => {
    const broken: NoticeVaults = {
      vaultAccepts: () => {
        throw new Error('lookup bug');
      },
    };
    const { target } = await start({ vaults: broken });
    expect(await send(target, { body: NOTICE })).toMatchObject({ status: 500, json: { error: { code: 'INTERNAL' } } });
    expect(logs.entries().some((e) => e['msg'] === 'notice request failed')).toBe(true);
  });

  it('503 UNAVAILABLE while stopping; close waits for notices being recorded', async () => {
    const { target, listener } = await start();
    recorder.hold();
    const pending = send(target, { body: NOTICE });
    while (recorder.waiting === 0) await new Promise((r) => setImmediate(r));
    const closing = listener.close();
    recorder.release();
    expect((await pending).status).toBe(202);
    await closing;
  });

  it('has a status for every code, and every code a test above', () => {
    const seen = ['BAD_BODY', 'PASSWORD_FIELD', 'UNAUTHORIZED', 'FORBIDDEN_SOURCE', 'NOTICES_DISABLED', 'UNKNOWN_VAULT', 'NOT_FOUND', 'METHOD_NOT_ALLOWED', 'REQUEST_TIMEOUT', 'BODY_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'RATE_LIMITED', 'INTERNAL', 'UNAVAILABLE'];
    expect([...NOTICE_ERROR_CODES].sort()).toEqual([...seen].sort());
    for (const code of NOTICE_ERROR_CODES) expect(NOTICE_ERROR_STATUS[code]).toBeGreaterThanOrEqual(400);
  });

  it('refuses bad options: empty token, bad allowFrom, bad listen, a port in use', async () => {
    const base = { certPem: pki.server.certPem, keyPem: pki.server.keyPem, token: TOKEN, vaults: new FakeVaults({}), recorder: new FakeRecorder(), clock: new ManualClock(), logger: logs.logger };
    await expect(NoticeListener.start({ ...base, listen: '127.0.0.1:0', token: '' })).rejects.toMatchObject({ code: 'NOTICES_BAD_OPTIONS' });
    await expect(NoticeListener.start({ ...base, listen: '127.0.0.1:0', allowFrom: ['10.0.0.0/40'] })).rejects.toMatchObject({ code: 'NOTICES_BAD_OPTIONS' });
    await expect(NoticeListener.start({ ...base, listen: 'nonsense' })).rejects.toBeInstanceOf(NoticeListenerError);
    const { listener } = await start();
    await expect(NoticeListener.start({ ...base, listen: `127.0.0.1:${listener.address.port}` })).rejects.toMatchObject({ code: 'NOTICES_LISTEN_FAILED' });
  });
});
