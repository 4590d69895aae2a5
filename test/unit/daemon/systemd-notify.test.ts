import { EventEmitter } from 'node:events';
import { PassThrough, Writable } from 'node:stream';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import pino from 'pino';
import { ManualClock } from '../../../src/shared/clock.js';
import {
  createSystemdNotifier,
  systemdStatusLine,
  watchdogIntervalFromEnv,
  type SpawnFn,
} from '../../../src/daemon/systemd-notify.js';

/** A stand-in child process the test finishes by hand. */
class FakeChild extends EventEmitter {
  readonly stderr = new PassThrough();
  killedWith: string | null = null;
  kill(signal: string): boolean {
    this.killedWith = signal;
    queueMicrotask(() => this.emit('close', null, signal));
    return true;
  }
  exit(code: number, stderr = ''): void {
    if (stderr) this.stderr.write(stderr);
    this.stderr.end();
    // 'close' follows the end of stdio, as in node.
    setImmediate(() => this.emit('close', code, null));
  }
}

interface Call {
  command: string;
  args: readonly string[];
  options: SpawnOptions;
  child: FakeChild;
}

function fakeSpawn(): { spawn: SpawnFn; calls: Call[] } {
  const calls: Call[] = [];
  const spawn: SpawnFn = (command, args, options) => {
    const child = new FakeChild();
    calls.push({ command, args, options, child });
    return child as unknown as ChildProcess;
  };
  return { spawn, calls };
}

function captureLogger(): { logger: pino.Logger; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString('utf8'));
      cb();
    },
  });
  const logger = pino({ level: 'debug' }, stream);
  return {
    logger,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

const silent = pino({ level: 'silent' });
const SOCKET_ENV = { NOTIFY_SOCKET: '/run/systemd/notify', PATH: '/usr/bin:/bin' };

describe('watchdogIntervalFromEnv', () => {
  const cases: Array<[string, Record<string, string | undefined>, number | null]> = [
    ['no socket', { WATCHDOG_USEC: '30000000' }, null],
    ['no watchdog', { NOTIFY_SOCKET: '/s' }, null],
    ['half of WatchdogSec', { NOTIFY_SOCKET: '/s', WATCHDOG_USEC: '30000000' }, 15_000],
    ['our pid', { NOTIFY_SOCKET: '/s', WATCHDOG_USEC: '10000000', WATCHDOG_PID: '4242' }, 5_000],
    ['another pid', { NOTIFY_SOCKET: '/s', WATCHDOG_USEC: '10000000', WATCHDOG_PID: '1' }, null],
    ['garbage', { NOTIFY_SOCKET: '/s', WATCHDOG_USEC: '30s' }, null],
    ['zero', { NOTIFY_SOCKET: '/s', WATCHDOG_USEC: '0' }, null],
    ['tiny', { NOTIFY_SOCKET: '/s', WATCHDOG_USEC: '1' }, 1],
  ];
  it.each(cases)('%s', (_name, env, expected) => {
    expect(watchdogIntervalFromEnv(env, 4242)).toBe(expected);
  });
});

describe('createSystemdNotifier', () => {
  it('is a no-op without NOTIFY_SOCKET', async () => {
    const { spawn, calls } = fakeSpawn();
    const n = createSystemdNotifier({ env: { WATCHDOG_USEC: '1000000' }, logger: silent, spawn });
    expect(n.enabled).toBe(false);
    expect(n.watchdogIntervalMs).toBeNull();
    n.ready('up');
    n.watchdog();
    n.stopping();
    n.reloading();
    n.status('x');
    await n.flush();
    expect(calls).toHaveLength(0);
  });

  it('sends each message through systemd-notify, in order, one at a time, with the environment', async () => {
    const { spawn, calls } = fakeSpawn();
    const clock = new ManualClock();
    const env = { ...SOCKET_ENV, WATCHDOG_USEC: '20000000', WATCHDOG_PID: '77' };
    const n = createSystemdNotifier({ env, logger: silent, spawn, clock, pid: 77 });
    expect(n.enabled).toBe(true);
    expect(n.watchdogIntervalMs).toBe(10_000);

    n.ready('serving\n2 vaults');
    n.watchdog();
    n.stopping();
    expect(calls).toHaveLength(1);
    const first = calls[0]!;
    expect(first.command).toBe('systemd-notify');
    // No --no-block: the helper must wait for PID 1 (BARRIER=1).
    expect(first.args).toEqual(['READY=1', 'STATUS=serving 2 vaults']);
    expect(first.options.env).toMatchObject(env);

    first.child.exit(0);
    await new Promise((r) => setImmediate(r));
    expect(calls).toHaveLength(2);
    expect(calls[1]!.args).toEqual(['WATCHDOG=1']);
    calls[1]!.child.exit(0);
    await new Promise((r) => setImmediate(r));
    expect(calls[2]!.args).toEqual(['STOPPING=1']);
    calls[2]!.child.exit(0);
    await n.flush();
    expect(calls).toHaveLength(3);
    expect(clock.pending).toBe(0);
  });

  it('sends reloading, status and ready without a status', async () => {
    const { spawn, calls } = fakeSpawn();
    const n = createSystemdNotifier({ env: SOCKET_ENV, logger: silent, spawn, clock: new ManualClock() });
    n.reloading();
    n.status('reloaded');
    n.ready();
    for (let i = 0; i < 3; i++) {
      calls[i]!.child.exit(0);
      await new Promise((r) => setImmediate(r));
    }
    await n.flush();
    expect(calls.map((c) => c.args)).toEqual([['RELOADING=1'], ['STATUS=reloaded'], ['READY=1']]);
  });

  it('does not ping the watchdog when systemd expects no pings', async () => {
    const { spawn, calls } = fakeSpawn();
    const n = createSystemdNotifier({ env: SOCKET_ENV, logger: silent, spawn });
    expect(n.watchdogIntervalMs).toBeNull();
    n.watchdog();
    await n.flush();
    expect(calls).toHaveLength(0);
  });

  it('coalesces identical waiting messages', async () => {
    const { spawn, calls } = fakeSpawn();
    const n = createSystemdNotifier({
      env: { ...SOCKET_ENV, WATCHDOG_USEC: '1000000' },
      logger: silent,
      spawn,
      clock: new ManualClock(),
    });
    n.status('a'); // in flight
    n.watchdog();
    n.watchdog();
    n.watchdog();
    calls[0]!.child.exit(0);
    await new Promise((r) => setImmediate(r));
    calls[1]!.child.exit(0);
    await n.flush();
    expect(calls.map((c) => c.args)).toEqual([['STATUS=a'], ['WATCHDOG=1']]);
  });

  it('drops messages past maxQueued with a warning', async () => {
    const { spawn, calls } = fakeSpawn();
    const cap = captureLogger();
    const n = createSystemdNotifier({ env: SOCKET_ENV, logger: cap.logger, spawn, clock: new ManualClock(), maxQueued: 2 });
    n.status('1'); // in flight
    n.status('2');
    n.status('3');
    n.status('4'); // dropped
    for (let i = 0; i < 3; i++) {
      calls[i]!.child.exit(0);
      await new Promise((r) => setImmediate(r));
    }
    await n.flush();
    expect(calls.map((c) => c.args[0])).toEqual(['STATUS=1', 'STATUS=2', 'STATUS=3']);
    expect(cap.lines().some((l) => l.msg === 'systemd notification dropped' && l.queued === 2)).toBe(true);
  });

  it('logs a failed helper with its exit code and goes on with the next message', async () => {
    const { spawn, calls } = fakeSpawn();
    const cap = captureLogger();
    const n = createSystemdNotifier({ env: SOCKET_ENV, logger: cap.logger, spawn, clock: new ManualClock() });
    n.ready('secret-free status');
    n.stopping();
    calls[0]!.child.exit(1, 'Failed to notify init system: No such file or directory\n');
    await new Promise((r) => setImmediate(r));
    calls[1]!.child.exit(0);
    await n.flush();
    const warn = cap.lines().find((l) => l.msg === 'systemd notification failed');
    expect(warn).toMatchObject({
      level: 40,
      code: 1,
      message: 'READY,STATUS',
      stderr: 'Failed to notify init system: No such file or directory',
    });
    // The status text itself is not repeated in the warning.
    expect(JSON.stringify(warn)).not.toContain('secret-free status');
    expect(calls).toHaveLength(2);
  });

  it('logs a helper that cannot be started once, and keeps trying later messages', async () => {
    const cap = captureLogger();
    let attempts = 0;
    const spawn: SpawnFn = () => {
      attempts++;
      const child = new FakeChild();
      setImmediate(() => child.emit('error', Object.assign(new Error('spawn systemd-notify ENOENT'), { code: 'ENOENT' })));
      return child as unknown as ChildProcess;
    };
    const n = createSystemdNotifier({ env: SOCKET_ENV, logger: cap.logger, spawn, clock: new ManualClock() });
    n.ready();
    n.stopping();
    await n.flush();
    expect(attempts).toBe(2);
    const errors = cap.lines().filter((l) => l.msg === 'systemd notification helper could not be started');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ level: 50, command: 'systemd-notify' });
  });

  it('survives a spawn that throws synchronously', async () => {
    const cap = captureLogger();
    const spawn: SpawnFn = () => {
      throw new Error('EAGAIN');
    };
    const n = createSystemdNotifier({ env: SOCKET_ENV, logger: cap.logger, spawn, clock: new ManualClock() });
    n.ready();
    await n.flush();
    expect(cap.lines().filter((l) => l.level === 50)).toHaveLength(1);
  });

  it('kills a helper that hangs past sendTimeoutMs so later messages still go out', async () => {
    const { spawn, calls } = fakeSpawn();
    const clock = new ManualClock();
    const cap = captureLogger();
    const n = createSystemdNotifier({ env: SOCKET_ENV, logger: cap.logger, spawn, clock, sendTimeoutMs: 1000 });
    n.ready();
    n.stopping();
    clock.advance(999);
    expect(calls[0]!.child.killedWith).toBeNull();
    clock.advance(1);
    expect(calls[0]!.child.killedWith).toBe('SIGKILL');
    await new Promise((r) => setImmediate(r));
    expect(calls).toHaveLength(2);
    calls[1]!.child.exit(0);
    await n.flush();
    expect(cap.lines().some((l) => l.msg === 'systemd notification timed out' && l.timeoutMs === 1000)).toBe(true);
  });

  it('uses the configured helper command', async () => {
    const { spawn, calls } = fakeSpawn();
    const n = createSystemdNotifier({ env: SOCKET_ENV, logger: silent, spawn, command: '/usr/bin/systemd-notify' });
    n.stopping();
    calls[0]!.child.exit(0);
    await n.flush();
    expect(calls[0]!.command).toBe('/usr/bin/systemd-notify');
  });
});

describe('systemdStatusLine', () => {
  it('says the role with its epoch, the link, and a pending restart', () => {
    expect(systemdStatusLine({ role: 'active', epoch: 7, link: 'up', restartRequired: [] })).toBe('active epoch 7, link up');
    expect(systemdStatusLine({ role: 'unknown', epoch: null, link: 'backoff', restartRequired: [] })).toBe('role unknown, link backoff');
    expect(systemdStatusLine({ role: 'standby', epoch: 3, link: 'disabled', restartRequired: ['gatewayId', 'limits'] })).toBe(
      'standby epoch 3, link disabled; restart needed for gatewayId, limits',
    );
  });
});
