import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AuditSink } from '../../../src/commands/ports.js';
import { Dispatcher } from '../../../src/commands/dispatcher.js';
import { recipientSealer } from '../../../src/daemon/recipient-sealer.js';
import { ManualClock } from '../../../src/shared/clock.js';
import {
  AUDIT_FILE_MODE,
  AUDIT_FLUSH_BYTES,
  AUDIT_FLUSH_MS,
  auditLine,
  AuditTargetError,
  createAuditSink,
  type AuditEvent,
} from '../../../src/telemetry/audit.js';
import { captureLogger, DEFAULT_POLICY, FakeRegistry, FakeReply, FakeRole, FakeVault, profile, pwCmd, listCmd, SECRET, settle } from '../commands/fakes.js';

function event(overrides: Partial<AuditEvent> = {}): AuditEvent {
  return {
    time: '2024-03-13T20:50:00.000Z',
    event: 'getPassword',
    commandId: '1a2b',
    epoch: 8,
    gatewayId: 'gw-a',
    requestedBy: 'alice@example.com',
    ticketId: 'INC-1042',
    reason: 'Remote console launch',
    vault: 'pmp-prod',
    resource: '301',
    resourceId: '301',
    accountId: '902',
    accountName: 'administrator',
    outcome: 'ok',
    sealed: false,
    durationMs: 12,
    ...overrides,
  };
}

describe('createAuditSink', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'credgw-audit-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('appends one JSON line per event to a file: type "audit" and the event fields, nothing else', async () => {
    const file = join(dir, 'audit.log');
    writeFileSync(file, '{"earlier":true}\n');
    const sink = createAuditSink(file);
    await sink.ready();
    const port: AuditSink = sink;
    port.record(event());
    port.record(event({ event: 'listAccounts', requestedBy: null, ticketId: null, reason: undefined, accountId: null, accountName: null, outcome: 'VAULT_TIMEOUT' }));
    await sink.close();
    await sink.close();
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toBe('{"earlier":true}');
    expect(JSON.parse(lines[1] as string)).toEqual({ type: 'audit', ...event() });
    expect(lines[1]?.startsWith('{"type":"audit","time":"2024-03-13T20:50:00.000Z",')).toBe(true);
    const second = JSON.parse(lines[2] as string) as Record<string, unknown>;
    expect(second).not.toHaveProperty('reason');
    expect(second).toMatchObject({ event: 'listAccounts', outcome: 'VAULT_TIMEOUT', requestedBy: null });
  });

  it('removes password fields even if a caller passes a wider object', async () => {
    const file = join(dir, 'audit.log');
    const sink = createAuditSink(file);
    sink.record({ ...event(), password: SECRET, sealedPassword: 'c2VhbGVk' } as AuditEvent);
    await sink.close();
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain('sealedPassword');
    expect(JSON.parse(text)).toMatchObject({ commandId: '1a2b' });
  });

  it('batches lines: one flush timer for a batch, handed over at once when the batch is long', async () => {
    const file = join(dir, 'audit.log');
    const clock = new ManualClock();
    const sink = createAuditSink(file, { clock });
    await sink.ready();
    sink.record(event({ commandId: 'a' }));
    sink.record(event({ commandId: 'b' }));
    expect(clock.pending).toBe(1);
    clock.advance(AUDIT_FLUSH_MS);
    expect(clock.pending).toBe(0);
    const perLine = Buffer.byteLength(auditLine(event()));
    const n = Math.ceil(AUDIT_FLUSH_BYTES / perLine);
    for (let i = 0; i < n; i++) sink.record(event({ commandId: `c${i}` }));
    // The batch reached AUDIT_FLUSH_BYTES with the last line and was handed over: no timer left.
    expect(clock.pending).toBe(0);
    sink.record(event({ commandId: 'last' }));
    await sink.close();
    expect(clock.pending).toBe(0);
    const ids = readFileSync(file, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as AuditEvent).commandId);
    expect(ids).toEqual(['a', 'b', ...Array.from({ length: n }, (_, i) => `c${i}`), 'last']);
  });

  it('writes text beyond ASCII and a line longer than a whole batch intact and in order', async () => {
    const file = join(dir, 'audit.log');
    const clock = new ManualClock();
    const sink = createAuditSink(file, { clock });
    await sink.ready();
    const wide = 'Zoë 🔐 ünïcödé — ';
    const giant = 'x'.repeat(3 * AUDIT_FLUSH_BYTES) + wide;
    const sent = [
      event({ commandId: 'u1', reason: wide }),
      event({ commandId: 'big', requestedBy: giant }),
      event({ commandId: 'u2', accountName: wide.repeat(50) }),
    ];
    // Enough wide lines to cross batch boundaries several times.
    for (let i = 0; i < 200; i++) sent.push(event({ commandId: `w${i}`, reason: wide.repeat(20) }));
    for (const e of sent) sink.record(e);
    await sink.close();
    const got = readFileSync(file, 'utf8').trim().split('\n');
    expect(got).toEqual(sent.map((e) => auditLine(e).trimEnd()));
  });
  it('drops events after close, with a warning', async () => {
    const file = join(dir, 'audit.log');
    const { logger, lines } = captureLogger();
    const sink = createAuditSink(file, { logger });
    await sink.close();
    sink.record(event({ commandId: 'late' }));
    expect(readFileSync(file, 'utf8')).toBe('');
    expect(lines.some((l) => l.includes('audit event after close dropped') && l.includes('late'))).toBe(true);
  });

  it('refuses a relative path and accepts stdout', async () => {
    expect(() => createAuditSink('audit.log')).toThrow('audit target must be "stdout" or an absolute file path');
    const sink = createAuditSink('stdout');
    await expect(sink.close()).resolves.toBeUndefined();
  });

  it('a destination that cannot be opened: ready() rejects with one line naming the file, nothing logged', async () => {
    const { logger, lines } = captureLogger();
    const target = join(dir, 'missing-dir', 'audit.log');
    const sink = createAuditSink(target, { logger });
    await expect(sink.ready()).rejects.toMatchObject({
      name: 'AuditTargetError',
      code: 'AUDIT_UNAVAILABLE',
      message: `telemetry.audit: cannot open ${target} for appending: ${join(dir, 'missing-dir')} does not exist`,
    });
    await expect(sink.ready()).rejects.toBeInstanceOf(AuditTargetError);
    sink.record(event());
    sink.reopen();
    await sink.close();
    expect(lines).toEqual([]);
    const directory = createAuditSink(dir);
    await expect(directory.ready()).rejects.toThrow(`telemetry.audit: cannot open ${dir} for appending: it is a directory`);
  });

  it('creates a new file 0640 whatever the umask; an existing file keeps its mode', async () => {
    const previous = process.umask(0o077);
    try {
      const file = join(dir, 'new.log');
      const sink = createAuditSink(file);
      await sink.ready();
      await sink.close();
      expect(statSync(file).mode & 0o777).toBe(AUDIT_FILE_MODE);
      process.umask(0o022);
      const other = join(dir, 'new-022.log');
      await createAuditSink(other).close();
      expect(statSync(other).mode & 0o777).toBe(0o640);
      const kept = join(dir, 'kept.log');
      writeFileSync(kept, '', { mode: 0o600 });
      await createAuditSink(kept).close();
      expect(statSync(kept).mode & 0o777).toBe(0o600);
    } finally {
      process.umask(previous);
    }
  });

  it('reopen: after a rename (logrotate), new lines go to a new 0640 file at the path, earlier ones stay in the renamed file', async () => {
    const file = join(dir, 'audit.log');
    const { logger, lines } = captureLogger();
    const clock = new ManualClock();
    const sink = createAuditSink(file, { logger, clock });
    await sink.ready();
    sink.record(event({ commandId: 'before' }));
    clock.advance(AUDIT_FLUSH_MS);
    sink.record(event({ commandId: 'batched' })); // still in the batch at the rename: written to the old file on reopen
    renameSync(file, `${file}.1`);
    sink.reopen();
    sink.record(event({ commandId: 'after' }));
    await sink.close();
    const ids = (path: string): string[] => readFileSync(path, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as AuditEvent).commandId);
    expect(ids(`${file}.1`)).toEqual(['before', 'batched']);
    expect(ids(file)).toEqual(['after']);
    expect(statSync(file).mode & 0o777).toBe(0o640);
    expect(lines.filter((l) => l.includes('audit file reopened'))).toHaveLength(1);
  });

  it('reopen that cannot open the path keeps writing to the file open, and says so once', async () => {
    const file = join(dir, 'audit.log');
    const { logger, lines } = captureLogger();
    const sink = createAuditSink(file, { logger });
    await sink.ready();
    renameSync(file, `${file}.1`);
    mkdirSync(file); // the path is now a directory: it cannot be opened
    sink.reopen();
    // A turn of the event loop: a failure reported late by the destination would end the trail here.
    await new Promise((r) => setImmediate(r));
    sink.record(event({ commandId: 'still-recorded' }));
    await sink.close();
    expect(readFileSync(`${file}.1`, 'utf8')).toContain('"commandId":"still-recorded"');
    const failed = lines.filter((l) => l.includes('audit file not reopened, still writing to the one open'));
    expect(failed).toHaveLength(1);
    expect(failed[0]).toContain('it is a directory');
    expect(failed[0]).not.toContain('stack');
  });

  it('reopen is a no-op for stdout and after close', async () => {
    const sink = createAuditSink('stdout');
    expect(() => sink.reopen()).not.toThrow();
    const file = join(dir, 'closed.log');
    const closed = createAuditSink(file);
    await closed.close();
    rmSync(file);
    closed.reopen();
    expect(existsSync(file)).toBe(false);
  });

  it('with the dispatcher: no password in any audit line or log line, whatever the outcome', async () => {
    const file = join(dir, 'audit.log');
    const { logger, lines: logLines } = captureLogger();
    const sink = createAuditSink(file, { logger });
    const vault = new FakeVault();
    const clock = new ManualClock();
    const reply = new FakeReply();
    const dispatcher = new Dispatcher({
      vaults: new FakeRegistry(profile(), vault),
      role: new FakeRole(),
      policy: DEFAULT_POLICY,
      limits: { maxInFlight: 10, maxQueued: 0 },
      audit: sink,
      sealer: recipientSealer,
      logger,
      clock,
      gatewayId: 'gw-a',
    });
    dispatcher.handle(pwCmd(), reply); // ok
    dispatcher.handle(listCmd(), reply); // ok
    await settle();
    vault.holdPasswords = true;
    dispatcher.handle(pwCmd({}, { timeoutMs: 100 }), reply); // deadline
    await settle();
    clock.advance(100);
    vault.release();
    vault.holdPasswords = false;
    vault.failures.set('getPassword', new TypeError('bug'));
    dispatcher.handle(pwCmd(), reply); // internal
    await settle();
    await sink.close();
    expect(reply.sent.filter((m) => m.ok && JSON.stringify(m).includes(SECRET))).toHaveLength(1);
    const audit = readFileSync(file, 'utf8').trim().split('\n');
    expect(audit.map((l) => (JSON.parse(l) as AuditEvent).outcome)).toEqual(['ok', 'ok', 'DEADLINE_EXCEEDED', 'INTERNAL']);
    for (const line of [...audit, ...logLines]) expect(line).not.toContain(SECRET);
  });
});

describe('createAuditSink on process exit', () => {
  it('writes every recorded line when the process exits at once (process.exit right after record)', () => {
    const dist = process.env['CREDGW_TEST_DIST'] || join(process.cwd(), 'dist');
    const modulePath = join(dist, 'telemetry', 'audit.js');
    if (!existsSync(modulePath)) throw new Error(`${modulePath} does not exist: build first (npm test does; or set CREDGW_TEST_DIST)`);
    const dir = mkdtempSync(join(tmpdir(), 'credgw-audit-exit-'));
    try {
      const file = join(dir, 'audit.log');
      const script = `
        const { createAuditSink } = await import(${JSON.stringify(pathToFileURL(modulePath).href)});
        const sink = createAuditSink(${JSON.stringify(file)});
        await sink.ready();
        for (let i = 0; i < 500; i++) sink.record({ ...${JSON.stringify(event())}, commandId: 'c' + i });
        process.exit(3);`;
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(3);
      const lines = readFileSync(file, 'utf8').trim().split('\n');
      expect(lines.map((l) => (JSON.parse(l) as AuditEvent).commandId)).toEqual(Array.from({ length: 500 }, (_, i) => `c${i}`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('auditLine', () => {
  // What the line must equal: JSON.stringify of the event's own fields, in order.
  const reference = (e: AuditEvent): string =>
    `${JSON.stringify({
      type: 'audit',
      time: e.time,
      event: e.event,
      commandId: e.commandId,
      epoch: e.epoch,
      gatewayId: e.gatewayId,
      requestedBy: e.requestedBy,
      ticketId: e.ticketId,
      reason: e.reason,
      vault: e.vault,
      resource: e.resource,
      resourceId: e.resourceId,
      accountId: e.accountId,
      accountName: e.accountName,
      outcome: e.outcome,
      sealed: e.sealed,
      durationMs: e.durationMs,
    })}\n`;
  const tricky = [
    '',
    'plain',
    'say "hi"',
    'back\\slash',
    'tab\there',
    'new\nline',
    'nul\u0000byte',
    '\u001f\u007f',
    'é ü ß 漢字',
    'emoji 🔑',
    'lone \ud800 high',
    'lone \udfff low',
    'line sep \u2028 para sep \u2029',
    '</script>',
  ];

  it('is exactly what JSON.stringify writes, for every field holding awkward text', () => {
    for (const t of tricky) {
      const e = event({ requestedBy: t, ticketId: t, reason: t, resource: t, accountName: t, commandId: t, gatewayId: t, vault: t });
      expect(auditLine(e)).toBe(reference(e));
      expect(JSON.parse(auditLine(e))).toMatchObject({ requestedBy: t, reason: t, accountName: t });
    }
  });

  it('matches JSON.stringify for nulls, an absent reason, numbers and booleans', () => {
    const variants: AuditEvent[] = [
      event({ requestedBy: null, ticketId: null, resource: null, resourceId: null, accountId: null, accountName: null }),
      (({ reason: _r, ...rest }) => rest as AuditEvent)(event()),
      event({ reason: undefined }),
      event({ durationMs: 0.125, epoch: 0 }),
      event({ durationMs: -0, epoch: 2 ** 53 - 1 }),
      event({ durationMs: Number.NaN }),
      event({ durationMs: Number.POSITIVE_INFINITY }),
      event({ sealed: true, outcome: 'POLICY_DENIED', event: 'listAccounts' }),
    ];
    for (const e of variants) expect(auditLine(e)).toBe(reference(e));
    expect(auditLine(event({ reason: undefined }))).not.toContain('"reason"');
  });

  it('keeps only the event fields: a wider object passed in loses its other keys', () => {
    const wider = { ...event(), password: 'hunter2', sealedPassword: 'x' } as AuditEvent;
    expect(auditLine(wider)).not.toContain('hunter2');
    expect(auditLine(wider)).toBe(reference(event()));
  });
});
