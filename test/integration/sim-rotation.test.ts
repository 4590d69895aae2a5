import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { request } from 'undici';
import { lifecycleOptions } from '../../src/cli/sim-pmp-lifecycle.js';
import { runSimPmp } from '../../src/cli/sim-pmp.js';
import { Pam360AuditRecognizer, parseSyslog } from '../../src/notices/index.js';
import { ManualClock } from '../../src/shared/clock.js';
import { SAMPLE_DATA, SAMPLE_TOKEN, startPmpSimulator, validateSimData, type PmpSimOptions, type PmpSimulator } from '../../src/sim/pmp/index.js';
import { AuditTrail } from '../../src/sim/pmp/audit-trail.js';
import { compileResponses } from '../../src/sim/pmp/responses.js';
import { Rotator } from '../../src/sim/pmp/rotation.js';
import { simFixture } from '../helpers/sim-fixture.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * The simulator as the vault that rotates, with real processes and real
 * sockets: a rotation runs the reset-listener script (a test script that
 * records its argument count and the non-password arguments, and only
 * whether the password arguments were the expected ones), sends the audit
 * line to UDP and TCP syslog receivers, and records the audit row.
 */

const fixture = simFixture();
const { pki, agent } = fixture;
const T0 = Date.UTC(2026, 0, 9, 12, 0, 0);
const OLD = 'Sim-Adm1n-Pass!';
const dir = mkdtempSync(join(tmpdir(), 'credgw-sim-rotation-'));

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/**
 * A listener that appends to `out` its argument count, its first three
 * arguments and only whether $4/$5 hash to the expected passwords (the
 * script holds hashes, never a password; its own environment is the
 * simulator's, so what it needs is written into it).
 */
function recorder(out: string, expect: { old?: string; new?: string } = {}): string {
  return `#!/bin/sh
same() { [ "$(printf %s "$1" | sha256sum | cut -d' ' -f1)" = "$2" ] && echo expected || echo other; }
{
  printf 'count=%s\\n' "$#"
  printf 'arg1=%s\\n' "$1"
  printf 'arg2=%s\\n' "$2"
  printf 'arg3=%s\\n' "$3"
  printf 'old=%s\\n' "$(same "$4" '${sha256(expect.old ?? '')}')"
  printf 'new=%s\\n' "$(same "$5" '${sha256(expect.new ?? '')}')"
} >> '${out}'
`;
}

function script(name: string, text: string, executable = true): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  chmodSync(file, executable ? 0o755 : 0o644);
  return file;
}

function record(out: string): Array<Record<string, string>> {
  return readFileSync(out, 'utf8')
    .trim()
    .split(/\n(?=count=)/)
    .map((run) => Object.fromEntries(run.split('\n').map((l) => l.split(/=(.*)/s).slice(0, 2) as [string, string])));
}

/** Lines a receiver got, taken in order by `next()`. */
class Lines {
  private readonly queued: string[] = [];
  private readonly waiting: Array<(line: string) => void> = [];

  push(line: string): void {
    const w = this.waiting.shift();
    if (w) w(line);
    else this.queued.push(line);
  }

  next(): Promise<string> {
    const line = this.queued.shift();
    return line !== undefined ? Promise.resolve(line) : new Promise((resolve) => this.waiting.push(resolve));
  }
}

async function udpReceiver(): Promise<{ socket: UdpSocket; port: number; got: Lines }> {
  const got = new Lines();
  const socket = createSocket('udp4');
  socket.on('message', (m) => got.push(m.toString('utf8')));
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  return { socket, port: socket.address().port, got };
}

async function tcpReceiver(): Promise<{ server: Server; port: number; got: Lines }> {
  const got = new Lines();
  const server = createServer((s) => {
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString('utf8');
      for (let i = buf.indexOf('\n'); i !== -1; i = buf.indexOf('\n')) {
        got.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, port: (server.address() as AddressInfo).port, got };
}

async function admin(sim: PmpSimulator, method: 'GET' | 'POST', call: string, body?: unknown): Promise<{ status: number; json: any; text: string }> {
  const res = await request(`${sim.url}/__sim/${call}`, { method, body: body === undefined ? undefined : JSON.stringify(body), dispatcher: agent });
  const text = await res.body.text();
  return { status: res.statusCode, json: JSON.parse(text), text };
}

async function password(sim: PmpSimulator, rid: string, aid: string): Promise<any> {
  const res = await request(`${sim.url}/restapi/json/v1/resources/${rid}/accounts/${aid}/password`, { headers: { AUTHTOKEN: SAMPLE_TOKEN }, dispatcher: agent });
  return ((await res.body.json()) as { operation: any }).operation;
}

/** A simulator of its own, on a clock of its own at T0. */
const withSim = (opts: PmpSimOptions, fn: (sim: PmpSimulator) => Promise<void>): Promise<void> => fixture.withSim({ clock: new ManualClock(T0), ...opts }, fn);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('PMP simulator: the vault that rotates', () => {
  it('rotate: the listener ran with PMP arguments, a syslog line reached UDP, the audit row is there', async () => {
    const out = join(dir, 'udp.out');
    const udp = await udpReceiver();
    try {
      await withSim(
        { rotation: { listener: { command: script('recorder.sh', recorder(out, { old: OLD, new: 'Sim-Rotated-1!' })) }, syslog: { target: `udp://127.0.0.1:${udp.port}` } } },
        async (sim) => {
          const r = await admin(sim, 'POST', 'rotate', { resourceId: '301', accountId: '902', newPassword: 'Sim-Rotated-1!' });
          expect(r.status).toBe(200);
          expect(r.json).toMatchObject({
            ok: true, resourceId: '301', resourceName: 'Windows_Jump_Box', accountId: '902', accountName: 'administrator', operation: 'Password Reset',
            listener: [{ phase: 'post', exitCode: 0, signal: null }],
            syslog: [{ target: `udp://127.0.0.1:${udp.port}`, sent: true }],
          });
          expect(r.text).not.toContain('Sim-Rotated-1!');
          expect(r.text).not.toContain(OLD);

          expect(record(out)).toEqual([
            { count: '5', arg1: 'Windows_Jump_Box', arg2: '10.1.2.3', arg3: 'administrator', old: 'expected', new: 'expected' },
          ]);
          const line = await udp.got.next();
          expect(line).toBe(
            '<38>Jan  9 12:00:00 pam360 admin: Password_Reset 2026/01/09 12:00:00 Success 127.0.0.1 Windows_Jump_Box:administrator:Scheduled password rotation',
          );
          // The gateway's syslog receiver, with its defaults, takes the line for this rotation.
          const parsed = parseSyslog(line);
          expect(parsed).toMatchObject({ facility: 4, severity: 6, hostname: 'pam360' });
          expect(new Pam360AuditRecognizer().recognise(parsed.msg)).toEqual({
            kind: 'rotation', operation: 'Password_Reset', resourceName: 'Windows_Jump_Box', accountName: 'administrator', rotatedAt: new Date(T0).toISOString(),
          });
          expect((await password(sim, '301', '902')).Details).toEqual({ PASSWORD: 'Sim-Rotated-1!' });

          const audit = await admin(sim, 'GET', 'audit');
          expect(audit.json.rows).toEqual([
            {
              time: new Date(T0).toISOString(), operation: 'Password Reset', operatedBy: 'admin', operatedFrom: '127.0.0.1',
              resourceName: 'Windows_Jump_Box', accountName: 'administrator', status: 'Success', reason: 'Scheduled password rotation',
              detail: { listener: [{ phase: 'post', exitCode: 0, signal: null }], syslog: [{ target: `udp://127.0.0.1:${udp.port}`, sent: true }] },
            },
          ]);
          expect(audit.text).not.toContain('Sim-Rotated-1!');
          expect((await admin(sim, 'GET', 'audit')).json.rows).toHaveLength(1);
        },
      );
    } finally {
      udp.socket.close();
    }
  });

  it('a syslog line reaches each TCP collector (line-feed framed, the facility configured); a generated password is served after', async () => {
    const tcp = await tcpReceiver();
    const twin = await tcpReceiver();
    try {
      const collector = (port: number): { target: string; facility: string; hostname: string } => ({ target: `tcp://127.0.0.1:${port}`, facility: 'local0', hostname: 'vault01' });
      await withSim({ rotation: { syslog: [collector(tcp.port), collector(twin.port)], operations: { rotate: 'Scheduled Password Reset' } } }, async (sim) => {
        const r = await sim.rotate({ resourceName: 'linux_web_01', accountName: 'DEPLOY', reason: 'policy' });
        expect(r).toMatchObject({
          resourceId: '302', accountId: '912', listener: [],
          syslog: [{ target: `tcp://127.0.0.1:${tcp.port}`, sent: true }, { target: `tcp://127.0.0.1:${twin.port}`, sent: true }],
        });
        const line = await tcp.got.next();
        expect(line).toBe('<134>Jan  9 12:00:00 vault01 admin: Scheduled_Password_Reset 2026/01/09 12:00:00 Success 127.0.0.1 Linux_Web_01:deploy:policy');
        expect(await twin.got.next()).toBe(line);
        expect(new Pam360AuditRecognizer().recognise(parseSyslog(line).msg)).toMatchObject({ kind: 'rotation', resourceName: 'Linux_Web_01', accountName: 'deploy' });
        const served = (await password(sim, '302', '912')).Details.PASSWORD as string;
        expect(served).toMatch(/^Sim-Rot-/);
        expect(served).not.toBe('Sim-Deploy-Pass!');
      });
    } finally {
      await Promise.all([tcp, twin].map((t) => new Promise((r) => t.server.close(r))));
    }
  });

  it('runs a pre-and-post listener through its pre-command, with the configured argument order', async () => {
    const out = join(dir, 'modes.out');
    const listener = { command: script('recorder-plain.sh', recorder(out), false), preCommand: ['/bin/sh'], mode: 'pre-and-post' as const, args: ['mode' as const, 'resource' as const, 'account' as const] };
    await withSim({ rotation: { listener } }, async (sim) => {
      const r = await sim.rotate({ resourceId: '301', accountId: '903' });
      expect(r.listener.map((l) => [l.phase, l.exitCode])).toEqual([['pre', 0], ['post', 0]]);
      expect(record(out).map((x) => [x['count'], x['arg1'], x['arg2'], x['arg3']])).toEqual([
        ['3', 'pre', 'Windows_Jump_Box', 'svc_backup'],
        ['3', 'post', 'Windows_Jump_Box', 'svc_backup'],
      ]);
    });
  });

  it('rotates an access-controlled password: released after approval, not before', async () => {
    await withSim({}, async (sim) => {
      await sim.rotate({ resourceId: '301', accountId: '905', newPassword: 'Sim-Breakglass-2!' });
      const res = await request(`${sim.url}/restapi/json/v1/accounts/905/requestpassword`, { method: 'POST', headers: { AUTHTOKEN: SAMPLE_TOKEN }, body: '', dispatcher: agent });
      await res.body.text();
      expect((await password(sim, '301', '905')).result.status).toBe('Failed');
      sim.approveRequest({ accountId: '905' });
      expect((await password(sim, '301', '905')).Details).toEqual({ PASSWORD: 'Sim-Breakglass-2!' });
    });
  });

  it('records a listener that cannot start and a syslog target that is down, and still rotates', async () => {
    const closed = await tcpReceiver();
    const port = closed.port;
    await new Promise((r) => closed.server.close(r));
    await withSim({ rotation: { listener: { command: join(dir, 'no-such-listener') }, syslog: { target: `tcp://127.0.0.1:${port}` } } }, async (sim) => {
      const r = await sim.rotate({ resourceId: '302', accountId: '912', newPassword: 'Sim-Deploy-2!' });
      expect(r.listener).toEqual([expect.objectContaining({ phase: 'post', exitCode: null, error: 'ENOENT' })]);
      expect(r.syslog).toEqual([{ target: `tcp://127.0.0.1:${port}`, sent: false, error: expect.stringContaining('ECONNREFUSED') }]);
      expect(sim.auditRows()[0]!.detail).toMatchObject({ listener: [{ error: 'ENOENT' }], syslog: [{ sent: false }] });
      expect((await password(sim, '302', '912')).Details).toEqual({ PASSWORD: 'Sim-Deploy-2!' });
    });
  });

  it('kills a listener that outlives its time-out on the simulator clock', async () => {
    const started = join(dir, 'hung.started');
    const hung = script('hung.sh', `#!/bin/sh\n: > '${started}'\nexec sleep 30\n`);
    const clock = new ManualClock(T0);
    await withSim({ clock, rotation: { listener: { command: hung, timeoutMs: 5_000 } } }, async (sim) => {
      const rotation = sim.rotate({ resourceId: '302', accountId: '912' });
      await waitFor(() => existsSync(started), 'the listener to start');
      clock.advance(5_000);
      expect((await rotation).listener).toEqual([expect.objectContaining({ phase: 'post', exitCode: null, signal: 'SIGKILL' })]);
    });
  });

  it('the change-password hook: the listener gets the old and the new password, the row says Password Changed', async () => {
    const out = join(dir, 'hook.out');
    const clock = new ManualClock(T0);
    const responses = compileResponses(validateSimData(SAMPLE_DATA), 'pmp-new');
    const audit = new AuditTrail(clock);
    const listener = { command: script('hook.sh', recorder(out, { old: OLD, new: 'Sim-Changed-1!' })) };
    const rotator = new Rotator({ responses, audit, clock, log: pino({ level: 'silent' }), options: { listener } });
    // What the change-password API does before it calls the hook: the new password is stored.
    responses.byId.get('301')!.byId.get('902')!.account.password = 'Sim-Changed-1!';
    const r = await rotator.passwordChanged('301', '902', { operatedBy: 'credgw-gateway', reason: 'Password Expired' });
    expect(r).toMatchObject({ operation: 'Password Changed', listener: [{ phase: 'post', exitCode: 0 }], syslog: [] });
    expect(record(out)).toEqual([{ count: '5', arg1: 'Windows_Jump_Box', arg2: '10.1.2.3', arg3: 'administrator', old: 'expected', new: 'expected' }]);
    expect(audit.rows()).toEqual([expect.objectContaining({ operation: 'Password Changed', operatedBy: 'credgw-gateway', reason: 'Password Expired' })]);
    expect(() => rotator.passwordChanged('301', '999')).toThrow(/accountId/);
  });

  it('a PUT …/password through the PMP API sets off the listener, the syslog line and the audit row, as a rotation does', async () => {
    const out = join(dir, 'put.out');
    const udp = await udpReceiver();
    try {
      await withSim(
        { rotation: { listener: { command: script('put.sh', recorder(out, { old: OLD, new: 'Sim-Put-1!' })) }, syslog: { target: `udp://127.0.0.1:${udp.port}` } } },
        async (sim) => {
          const res = await request(`${sim.url}/restapi/json/v1/resources/301/accounts/902/password`, {
            method: 'PUT',
            headers: { AUTHTOKEN: SAMPLE_TOKEN, 'content-type': 'application/x-www-form-urlencoded' },
            body: `INPUT_DATA=${encodeURIComponent(JSON.stringify({ operation: { Details: { NEWPASSWORD: 'Sim-Put-1!', REASON: 'rotate now' } } }))}`,
            dispatcher: agent,
          });
          expect(((await res.body.json()) as { operation: any }).operation.result.status).toBe('Success');
          // The side effects run after the answer; the syslog line is the last of them.
          const line = await udp.got.next();
          expect(line).toBe('<38>Jan  9 12:00:00 pam360 admin: Password_Changed 2026/01/09 12:00:00 Success 127.0.0.1 Windows_Jump_Box:administrator:');
          expect(new Pam360AuditRecognizer().recognise(parseSyslog(line).msg)).toMatchObject({ kind: 'rotation', resourceName: 'Windows_Jump_Box', accountName: 'administrator' });
          expect(record(out)).toEqual([{ count: '5', arg1: 'Windows_Jump_Box', arg2: '10.1.2.3', arg3: 'administrator', old: 'expected', new: 'expected' }]);
          const audit = await waitFor(async () => {
            const rows = (await admin(sim, 'GET', 'audit')).json.rows as any[];
            return rows.length > 0 ? rows : undefined;
          }, 'the audit row of the change');
          expect(audit).toEqual([
            expect.objectContaining({ operation: 'Password Changed', resourceName: 'Windows_Jump_Box', accountName: 'administrator', status: 'Success', detail: { listener: [{ phase: 'post', exitCode: 0, signal: null }], syslog: [{ target: `udp://127.0.0.1:${udp.port}`, sent: true }] } }),
          ]);
          expect((await password(sim, '301', '902')).Details).toEqual({ PASSWORD: 'Sim-Put-1!' });
        },
      );
    } finally {
      udp.socket.close();
    }
  });

  it('refuses an admin rotation that names nothing the simulator serves', async () => {
    await withSim({}, async (sim) => {
      expect(await admin(sim, 'POST', 'rotate', { resourceId: '999' })).toMatchObject({ status: 400, json: { code: 'SIM_ADMIN_INVALID' } });
      expect((await admin(sim, 'POST', 'rotate', { resourceId: '301', accountId: '911x' })).json.error).toMatch(/^accountId: /);
      expect((await admin(sim, 'POST', 'rotate', { resourceId: '301', accountId: '902', newPassword: '' })).json.error).toMatch(/^newPassword: /);
      expect(sim.auditRows()).toEqual([]);
    });
  });

  it('checks its options when it starts', async () => {
    await expect(startPmpSimulator({ tls: pki.server, rotation: { syslog: { target: 'http://127.0.0.1:514' } } })).rejects.toMatchObject({ code: 'SIM_OPTIONS_INVALID', keyPath: 'rotation.syslog.target' });
    await expect(startPmpSimulator({ tls: pki.server, rotation: { listener: { command: 'x', mode: 'during' as never } } })).rejects.toMatchObject({ keyPath: 'rotation.listener.mode' });
    await expect(startPmpSimulator({ tls: pki.server, rotation: { syslog: { target: 'udp://[::1]:514', facility: 'nope' } } })).rejects.toMatchObject({ keyPath: 'rotation.syslog.facility' });
  });
});

describe('credgw sim pmp: the lifecycle flags', () => {
  it('turn into options, and a rotation of that simulator reaches the syslog target', async () => {
    const udp = await udpReceiver();
    let banner = '';
    const out = new Writable({ write: (c, _e, cb) => ((banner += String(c)), cb()) });
    const opts = lifecycleOptions({
      approvalTimeoutMinutes: '5', autoCheckInMinutes: '7', syslog: `udp://127.0.0.1:${udp.port}`, syslogFacility: '10',
      resetListener: '/bin/true', resetListenerMode: 'pre', resetListenerArgs: 'resource,account', rotateOperation: 'Remote Password Reset',
    });
    expect(opts).toEqual({
      accessControl: { approvalTimeoutMs: 300_000, autoCheckInMs: 420_000 },
      rotation: {
        listener: { command: '/bin/true', mode: 'pre', args: ['resource', 'account'] },
        syslog: { target: `udp://127.0.0.1:${udp.port}`, facility: 10 },
        operations: { rotate: 'Remote Password Reset' },
      },
    });
    const running = await runSimPmp({ port: 0, ...opts }, out, pino({ level: 'silent' }));
    try {
      expect(banner).toContain(`  syslog      : udp://127.0.0.1:${udp.port}`);
      expect(banner).toContain('  listener    : /bin/true (pre-reset)');
      const r = await running.sim.rotate({ resourceId: '301', accountId: '902' });
      expect(r.listener).toEqual([expect.objectContaining({ phase: 'pre', exitCode: 0 })]);
      expect(await udp.got.next()).toMatch(/^<86>\w{3} [ \d]\d \d\d:\d\d:\d\d pam360 admin: Remote_Password_Reset \d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d Success 127\.0\.0\.1 Windows_Jump_Box:administrator:/);
    } finally {
      await running.close();
      udp.socket.close();
    }
  });

  it('refuses flags that do not fit', () => {
    expect(() => lifecycleOptions({ resetListenerMode: 'post' })).toThrow(/need --reset-listener/);
    expect(() => lifecycleOptions({ resetListener: 'x', resetListenerMode: 'later' })).toThrow(/--reset-listener-mode must be one of/);
    expect(() => lifecycleOptions({ resetListener: 'x', resetListenerArgs: 'resource,password' })).toThrow(/"password" is not one of/);
    expect(() => lifecycleOptions({ syslogFacility: 'auth' })).toThrow(/--syslog-facility needs --syslog/);
    // --syslog repeated: a collector each, the facility for all.
    expect(lifecycleOptions({ syslog: ['tcp://127.0.0.1:1514', 'tcp://127.0.0.1:1515'], syslogFacility: 'local0' }).rotation.syslog).toEqual([
      { target: 'tcp://127.0.0.1:1514', facility: 'local0' },
      { target: 'tcp://127.0.0.1:1515', facility: 'local0' },
    ]);
    expect(() => lifecycleOptions({ approvalTimeoutMinutes: '0' })).toThrow(/--approval-timeout-minutes must be an integer from 1/);
  });
});
