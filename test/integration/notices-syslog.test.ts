import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import dgram from 'node:dgram';
import net from 'node:net';
import tls from 'node:tls';
import { SyslogReceiver, SyslogReceiverError, type SyslogReceiverOptions } from '../../src/notices/index.js';
import { ManualClock } from '../../src/shared/clock.js';
import { FakeRecorder, FakeVaults, logCapture } from '../helpers/notice-harness.js';
import { testPki } from '../helpers/pki.js';

/** Text an operator could type as a reason: it must never reach a log line. */
const REASON = 'reason-QX7-private';

function auditLine(opts: { operation?: string; status?: string; resource?: string; account?: string; time?: string } = {}): string {
  return `admin: ${opts.operation ?? 'Password_Reset'} 2026/12/03 ${opts.time ?? '10:15:02'} ${opts.status ?? 'Success'} 10.1.2.3 ${opts.resource ?? 'Windows_Jump_Box'}:${opts.account ?? 'administrator'}:${REASON}`;
}
const bsd = (line: string): string => `<38>Dec  3 10:15:02 pmp01 ${line}`;
const rfc5424 = (line: string): string => `<38>1 2026-12-03T10:15:02.120Z pmp01 PAM360 - AUDIT [meta x="1"] ${line}`;
const octets = (msg: string): string => `${Buffer.byteLength(msg)} ${msg}`;

async function waitFor(what: () => boolean, label: string): Promise<void> {
  for (let i = 0; i < 1000 && !what(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!what()) throw new Error(`timed out waiting for ${label}`);
}

describe('syslog receiver (real UDP, TCP and TLS sockets)', () => {
  const pki = testPki();
  const logs = logCapture();
  const open: SyslogReceiver[] = [];
  const closers: (() => void)[] = [];
  let recorder: FakeRecorder;

  async function start(extra: Partial<SyslogReceiverOptions> = {}): Promise<{ receiver: SyslogReceiver; clock: ManualClock }> {
    const clock = new ManualClock();
    recorder = new FakeRecorder();
    const receiver = await SyslogReceiver.start({
      udp: '127.0.0.1:0',
      tcp: '127.0.0.1:0',
      tls: { listen: '127.0.0.1:0', certPem: pki.server.certPem, keyPem: pki.server.keyPem },
      sources: [
        { vault: 'pmp-prod', from: ['127.0.0.1', '::1'] },
        { vault: 'pmp-dr', from: ['127.0.0.3'] },
      ],
      vaults: new FakeVaults({ 'pmp-prod': 'ok', 'pmp-dr': 'disabled' }),
      recorder,
      clock,
      logger: logs.logger,
      ...extra,
    });
    open.push(receiver);
    return { receiver, clock };
  }

  async function udpSend(port: number, msg: string | Buffer, from = '127.0.0.1', family: 'udp4' | 'udp6' = 'udp4', to = '127.0.0.1'): Promise<void> {
    const s = dgram.createSocket(family);
    await new Promise<void>((resolve) => s.bind(0, from, () => resolve()));
    await new Promise<void>((resolve, reject) => s.send(msg, port, to, (err) => (err ? reject(err) : resolve())));
    s.close();
  }

  function tcpConnect(port: number, localAddress = '127.0.0.1'): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port, localAddress }, () => resolve(s));
      s.once('error', reject);
      closers.push(() => s.destroy());
    });
  }

  function tlsConnect(port: number, client?: { cert: string; key: string }): Promise<tls.TLSSocket> {
    return new Promise((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port, ca: pki.ca.certPem, servername: 'localhost', ...client }, () => resolve(s));
      s.once('error', reject);
      closers.push(() => s.destroy());
    });
  }

  const closedBy = (s: net.Socket): Promise<void> => new Promise((resolve) => (s.destroyed ? resolve() : s.once('close', () => resolve())));

  afterEach(async () => {
    closers.splice(0).forEach((c) => c());
    await Promise.all(open.splice(0).map((r) => r.close()));
  });

  afterAll(() => {
    const text = logs.text();
    expect(text).toContain('rotation notice recorded');
    expect(text).not.toContain(REASON);
  });

  it('UDP: an RFC 3164 reset line becomes a notice (source "syslog", the vault of the sender, the time of the line)', async () => {
    const { receiver } = await start();
    await udpSend(receiver.addresses.udp!.port, bsd(auditLine()));
    await waitFor(() => recorder.notices.length === 1, 'the notice');
    expect(recorder.notices[0]).toEqual({ vault: 'pmp-prod', resourceName: 'Windows_Jump_Box', accountName: 'administrator', rotatedAt: '2026-12-03T10:15:02.000Z', source: 'syslog' });
    const line = logs.entries().find((e) => e['msg'] === 'rotation notice recorded' && e['transport'] === 'udp');
    expect(line).toMatchObject({ vault: 'pmp-prod', resourceName: 'Windows_Jump_Box', remote: '127.0.0.1', operation: 'Password_Reset', eventId: expect.any(String) });
  });

  it('UDP over IPv6, and the vault time zone', async () => {
    const { receiver } = await start({ udp: '[::1]:0', rules: { timeZone: 'Asia/Kolkata' } });
    await udpSend(receiver.addresses.udp!.port, bsd(auditLine({ time: '15:45:02' })), '::1', 'udp6', '::1');
    await waitFor(() => recorder.notices.length === 1, 'the notice');
    expect(recorder.notices[0]!.rotatedAt).toBe('2026-12-03T10:15:02.000Z');
  });

  it('UDP: refuses foreign senders, drops oversize datagrams, ignores other operations, counts failed resets and disabled vaults', async () => {
    const { receiver } = await start({ maxMessageBytes: 512 });
    const port = receiver.addresses.udp!.port;
    await udpSend(port, bsd(auditLine()), '127.0.0.2');
    await udpSend(port, bsd(`${auditLine()}${'x'.repeat(600)}`));
    await udpSend(port, bsd(auditLine({ operation: 'Account_Added' })));
    await udpSend(port, bsd(auditLine({ status: 'Failed' })));
    await udpSend(port, bsd(auditLine()), '127.0.0.3');
    await waitFor(() => {
      const s = receiver.stats();
      return s.foreign === 1 && s.oversize === 1 && s.ignored === 1 && s.failedResets === 1 && s.disabled === 1;
    }, 'the counts');
    expect(recorder.notices).toEqual([]);
    expect(receiver.stats()).toMatchObject({ received: 3, recorded: 0 });
  });

  it('UDP: drops messages while maxPending notices wait for the outbox', async () => {
    const { receiver } = await start({ maxPending: 2 });
    recorder.hold();
    for (const account of ['a1', 'a2', 'a3']) await udpSend(receiver.addresses.udp!.port, bsd(auditLine({ account })));
    await waitFor(() => receiver.stats().dropped === 1 && recorder.waiting === 2, 'the drop');
    recorder.release();
    await waitFor(() => recorder.notices.length === 2, 'the two notices');
  });

  it('TCP: LF-framed lines in one write and split across writes, and octet-counted RFC 5424', async () => {
    const { receiver } = await start();
    const s = await tcpConnect(receiver.addresses.tcp!.port);
    s.write(`${bsd(auditLine({ account: 'a1' }))}\n${bsd(auditLine({ account: 'a2' }))}\r\n${bsd(auditLine({ account: 'a3' })).slice(0, 20)}`);
    s.write(`${bsd(auditLine({ account: 'a3' })).slice(20)}\n`);
    s.write(octets(rfc5424(auditLine({ account: 'a4' }))));
    await waitFor(() => recorder.notices.length === 4, 'four notices');
    expect(recorder.notices.map((n) => n.accountName)).toEqual(['a1', 'a2', 'a3', 'a4']);
    expect(recorder.notices.every((n) => n.source === 'syslog' && n.vault === 'pmp-prod')).toBe(true);
  });

  it('TCP: a line over the limit is dropped and the stream stays in step; a last line without LF counts at the end', async () => {
    const { receiver } = await start({ maxMessageBytes: 512 });
    const s = await tcpConnect(receiver.addresses.tcp!.port);
    s.write(`${bsd(auditLine({ account: 'big' }))}${'x'.repeat(2000)}\n${bsd(auditLine({ account: 'after' }))}\n`);
    s.end(bsd(auditLine({ account: 'last' })));
    await waitFor(() => recorder.notices.length === 2, 'two notices');
    expect(recorder.notices.map((n) => n.accountName)).toEqual(['after', 'last']);
    expect(receiver.stats().oversize).toBe(1);
  });

  it('TCP: a foreign sender is disconnected at once; broken octet counting closes the connection', async () => {
    const { receiver } = await start();
    const foreign = await tcpConnect(receiver.addresses.tcp!.port, '127.0.0.2');
    await closedBy(foreign);
    const broken = await tcpConnect(receiver.addresses.tcp!.port);
    broken.write('12x <38>nonsense');
    await closedBy(broken);
    expect(receiver.stats()).toMatchObject({ foreign: 1, badFraming: 1, received: 0 });
  });

  it('TCP: a connection idle past the time-out is closed (manual clock)', async () => {
    const { receiver, clock } = await start({ idleTimeoutMs: 60_000 });
    const s = await tcpConnect(receiver.addresses.tcp!.port);
    await waitFor(() => clock.pending === 1, 'the idle timer');
    clock.advance(59_999);
    s.write(`${bsd(auditLine())}\n`);
    await waitFor(() => recorder.notices.length === 1, 'the notice');
    clock.advance(59_999);
    expect(s.destroyed).toBe(false);
    clock.advance(1);
    await closedBy(s);
  });

  it('TCP: connections past maxConnections are dropped', async () => {
    const { receiver } = await start({ maxConnections: 1 });
    const first = await tcpConnect(receiver.addresses.tcp!.port);
    await new Promise((r) => setTimeout(r, 20));
    const second = await tcpConnect(receiver.addresses.tcp!.port);
    await closedBy(second);
    first.write(`${bsd(auditLine())}\n`);
    await waitFor(() => recorder.notices.length === 1, 'the notice on the first connection');
  });

  it('TLS (RFC 5425): octet-counted messages', async () => {
    const { receiver } = await start();
    const s = await tlsConnect(receiver.addresses.tls!.port);
    s.write(octets(rfc5424(auditLine({ account: 't1' }))) + octets(bsd(auditLine({ account: 't2' }))));
    await waitFor(() => recorder.notices.length === 2, 'two notices');
    expect(recorder.notices[0]).toMatchObject({ accountName: 't1', rotatedAt: '2026-12-03T10:15:02.000Z' });
  });

  it('TLS with client certificates required: a client without one is refused, one the CA signed is heard', async () => {
    const { receiver } = await start({ tls: { listen: '127.0.0.1:0', certPem: pki.server.certPem, keyPem: pki.server.keyPem, clientCaPem: pki.ca.certPem } });
    const port = receiver.addresses.tls!.port;
    const anonymous = await tlsConnect(port).catch((err: Error) => err);
    if (anonymous instanceof Error) expect(anonymous.message).toMatch(/certificate|alert|socket hang up|ECONNRESET/i);
    else {
      anonymous.write(octets(bsd(auditLine({ account: 'anon' }))));
      await closedBy(anonymous);
    }
    const s = await tlsConnect(port, { cert: pki.client.certPem, key: pki.client.keyPem });
    s.write(octets(bsd(auditLine({ account: 'mutual' }))));
    await waitFor(() => recorder.notices.length === 1, 'the notice');
    expect(recorder.notices.map((n) => n.accountName)).toEqual(['mutual']);
  });

  it('a notice the outbox fails to store is counted and logged, not lost silently', async () => {
    const { receiver } = await start();
    recorder.fail();
    await udpSend(receiver.addresses.udp!.port, bsd(auditLine()));
    await waitFor(() => receiver.stats().notRecorded === 1, 'the failure');
    expect(logs.entries().some((e) => e['msg'] === 'rotation notice from syslog not recorded')).toBe(true);
  });

  it('a port that throws costs that message only: the connection and the receiver go on', async () => {
    let broken = true;
    const { receiver } = await start({
      vaults: {
        vaultAccepts: () => {
          if (broken) throw new Error('lookup bug');
          return 'ok';
        },
      },
    });
    const s = await tcpConnect(receiver.addresses.tcp!.port);
    s.write(`${bsd(auditLine({ account: 'first' }))}\n`);
    await waitFor(() => logs.entries().some((e) => e['msg'] === 'syslog message handling failed'), 'the error line');
    broken = false;
    s.write(`${bsd(auditLine({ account: 'second' }))}\n`);
    await waitFor(() => recorder.notices.length === 1, 'the second notice');
    expect(recorder.notices[0]!.accountName).toBe('second');
  });

  it('refuses bad options', async () => {
    const base = { sources: [{ vault: 'v', from: ['127.0.0.1'] }], vaults: new FakeVaults({}), recorder: new FakeRecorder(), clock: new ManualClock(), logger: logs.logger };
    await expect(SyslogReceiver.start({ ...base })).rejects.toThrow('at least one of udp, tcp, tls');
    await expect(SyslogReceiver.start({ ...base, udp: '127.0.0.1:0', sources: [] })).rejects.toThrow(SyslogReceiverError);
    await expect(SyslogReceiver.start({ ...base, udp: '127.0.0.1:0', sources: [{ vault: 'v', from: [] }] })).rejects.toThrow('lists no address');
    await expect(SyslogReceiver.start({ ...base, udp: '127.0.0.1:0', sources: [{ vault: 'v', from: ['x'] }] })).rejects.toThrow(SyslogReceiverError);
    await expect(SyslogReceiver.start({ ...base, udp: '127.0.0.1:0', rules: { pattern: '(' } })).rejects.toThrow(SyslogReceiverError);
    const { receiver } = await start();
    await expect(SyslogReceiver.start({ ...base, tcp: `127.0.0.1:${receiver.addresses.tcp!.port}` })).rejects.toThrow('cannot listen');
  });
});
