import { decodeCommand, type CommandMessage, type RejectedCommand, type ResultDelivery, type ResultError, type ResultMessage } from '../../../src/protocol/index.js';
import { GatewayError, type ErrorCode } from '../../../src/shared/errors.js';
import type { CommandOutcome, DispatcherOptions } from '../../../src/commands/dispatcher.js';
import { FakeReply, harness, listCmd, pwCmd, SECRET, settle } from './fakes.js';

/** maxInFlight 1: `running` holds the slot (its password call held back), `queued` waits behind it. */
async function runningAndQueued(
  running = pwCmd(),
  queued = pwCmd(),
  dispatcher: Partial<DispatcherOptions> = {},
): Promise<{ h: ReturnType<typeof harness>; running: CommandMessage; queued: CommandMessage }> {
  const h = harness({ limits: { maxInFlight: 1, maxQueued: 4 }, dispatcher });
  h.vault.holdPasswords = true;
  h.dispatcher.handle(running, h.reply);
  h.dispatcher.handle(queued, h.reply);
  await settle();
  return { h, running, queued };
}

function errorOf(m: ResultMessage | undefined): ResultError['error'] {
  if (!m || m.ok) throw new Error(`expected an error result, got ${JSON.stringify(m)}`);
  return m.error;
}

describe('Dispatcher: results', () => {
  it('answers listAccounts with the protocol shape, carrying the command epoch', async () => {
    const h = harness();
    const cmd = listCmd();
    h.dispatcher.handle(cmd, h.reply);
    await settle();
    expect(h.reply.sent).toEqual([
      {
        type: 'result',
        id: cmd.id,
        epoch: 8,
        ok: true,
        data: {
          resourceId: '301',
          resourceName: 'Windows_Jump_Box',
          accounts: [
            { accountId: '902', accountName: 'administrator', ticketIdRequired: true, reasonRequired: false },
            { accountId: '903', accountName: 'backup', ticketIdRequired: false, reasonRequired: false },
          ],
          totalAccounts: 2,
        },
      },
    ]);
    expect(h.dispatcher.inFlight).toBe(0);
    expect(h.audit).toEqual([
      {
        time: new Date(h.clock.now()).toISOString(),
        event: 'listAccounts',
        commandId: cmd.id,
        epoch: 8,
        gatewayId: 'gw-a',
        requestedBy: null,
        ticketId: null,
        vault: 'pmp-prod',
        resource: '301',
        resourceId: '301',
        accountId: null,
        accountName: null,
        outcome: 'ok',
        sealed: false,
        durationMs: 0,
      },
    ]);
  });

  it('answers getPassword with the password in plaintext when no recipientKey is given', async () => {
    const h = harness();
    const cmd = pwCmd();
    h.dispatcher.handle(cmd, h.reply);
    await settle();
    expect(h.reply.sent).toEqual([
      {
        type: 'result',
        id: cmd.id,
        epoch: 8,
        ok: true,
        data: { resourceId: '301', accountId: '902', accountName: 'administrator', password: SECRET },
      },
    ]);
    expect(h.vault.calls.find((c) => c.method === 'getPassword')?.args).toEqual([
      '301',
      '902',
      { ticketId: 'INC-1042', reason: 'Remote console launch' },
    ]);
    expect(h.audit).toEqual([
      expect.objectContaining({
        event: 'getPassword',
        commandId: cmd.id,
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
      }),
    ]);
    expect(JSON.stringify(h.audit)).not.toContain(SECRET);
  });
});

describe('Dispatcher: fencing (protocol section 4)', () => {
  it.each([
    ['standby', { role: 'standby', epoch: 8 }],
    ['active with another epoch', { role: 'active', epoch: 9 }],
    ['unknown role', { role: 'unknown', epoch: null }],
    ['active without an epoch', { role: 'active', epoch: null }],
  ] as const)('%s: NOT_ACTIVE, retryable, no vault touched', async (_label, state) => {
    const h = harness();
    h.role.state = { ...state };
    const cmd = pwCmd();
    h.dispatcher.handle(cmd, h.reply);
    await settle();
    expect(h.reply.sent).toHaveLength(1);
    expect(h.reply.sent[0]).toMatchObject({ id: cmd.id, epoch: 8, ok: false });
    expect(errorOf(h.reply.sent[0])).toMatchObject({ code: 'NOT_ACTIVE', retryable: true });
    expect(h.vault.calls).toEqual([]);
    expect(h.audit).toEqual([expect.objectContaining({ outcome: 'NOT_ACTIVE', commandId: cmd.id })]);
  });
});

describe('Dispatcher: a command in flight when the link is lost (section 4)', () => {
  it('makes no further vault call once the role is unknown: NOT_ACTIVE, no password fetched', async () => {
    // A deny list makes getPassword list the accounts before the password call: two vault steps.
    const h = harness({ policy: { denyAccounts: ['backup'] } });
    const cmd = pwCmd();
    h.dispatcher.handle(cmd, h.reply);
    expect(h.vault.count('listAccounts')).toBe(1);
    // The link went silent past its deadline while the list call was out (a stopped process woke up).
    h.role.state = { role: 'unknown', epoch: 8 };
    await settle();
    expect(h.vault.count('getPassword')).toBe(0);
    expect(errorOf(h.reply.sent[0])).toMatchObject({ code: 'NOT_ACTIVE', message: 'the link to the controller was lost while the command ran' });
    expect(h.dispatcher.inFlight).toBe(0);
  });

  it('lets a command finish on standby (demoted) or resigning: only a lost link stops it', async () => {
    const h = harness({ policy: { denyAccounts: ['backup'] } });
    h.dispatcher.handle(pwCmd(), h.reply);
    h.role.state = { role: 'standby', epoch: 8 };
    await settle();
    expect(h.vault.count('getPassword')).toBe(1);
    expect(h.reply.sent[0]).toMatchObject({ ok: true });
  });
});

describe('Dispatcher: decoder rejections', () => {
  function rejected(frame: Record<string, unknown>): RejectedCommand {
    const d = decodeCommand({ type: 'command', ...frame });
    if (d.kind !== 'rejected') throw new Error(`expected a rejection, got ${d.kind}`);
    return d;
  }

  it('answers BAD_REQUEST and UNKNOWN_COMMAND with the frame epoch', () => {
    const h = harness();
    h.dispatcher.reject(rejected({ id: 'a1', epoch: 8, name: 'getPassword', params: { vault: 'pmp-prod' } }), h.reply);
    h.dispatcher.reject(rejected({ id: 'a2', epoch: 8, name: 'rotatePassword', params: {} }), h.reply);
    expect(h.reply.sent.map((m) => [m.id, m.epoch, errorOf(m).code, errorOf(m).retryable])).toEqual([
      ['a1', 8, 'BAD_REQUEST', false],
      ['a2', 8, 'UNKNOWN_COMMAND', false],
    ]);
    expect(h.vault.calls).toEqual([]);
  });

  it('uses the gateway epoch, or 0 when it has none, when the frame epoch was unusable', () => {
    const h = harness();
    h.role.state = { role: 'standby', epoch: 5 };
    h.dispatcher.reject(rejected({ id: 'b1', epoch: 'x', name: 'listAccounts', params: {} }), h.reply);
    h.role.state = { role: 'unknown', epoch: null };
    h.dispatcher.reject(rejected({ id: 'b2', epoch: -1, name: 'listAccounts', params: {} }), h.reply);
    expect(h.reply.sent.map((m) => [m.id, m.epoch, errorOf(m).code])).toEqual([
      ['b1', 5, 'BAD_REQUEST'],
      ['b2', 0, 'BAD_REQUEST'],
    ]);
  });
});

describe('Dispatcher: a refused frame whose id is in flight joins it (section 5)', () => {
  const rejected = (id: string, epoch: number | null = 8): RejectedCommand => ({ kind: 'rejected', id, epoch, code: 'BAD_REQUEST', message: 'params must be an object' });

  it('running: no BAD_REQUEST, the one result is the original', async () => {
    const h = harness();
    h.vault.holdPasswords = true;
    const cmd = pwCmd();
    h.dispatcher.handle(cmd, h.reply);
    await settle();
    h.dispatcher.reject(rejected(cmd.id), h.reply);
    expect(h.reply.sent).toEqual([]);
    h.vault.release();
    await settle();
    expect(h.reply.sent.map((m) => [m.id, m.ok])).toEqual([[cmd.id, true]]);
    expect(h.dispatcher.stats().joined).toBe(1);
  });

  it('queued: joins there too; from another connection it gets the same result with its own epoch', async () => {
    const { h, running: first, queued } = await runningAndQueued();
    const other = new FakeReply();
    h.dispatcher.reject(rejected(queued.id), h.reply);
    h.dispatcher.reject(rejected(queued.id, null), other);
    expect(h.reply.sent).toEqual([]);
    h.vault.release();
    await settle();
    h.vault.release();
    await settle();
    expect(h.reply.sent.map((m) => [m.id, m.ok])).toEqual([
      [first.id, true],
      [queued.id, true],
    ]);
    expect(other.sent.map((m) => [m.id, m.epoch, m.ok])).toEqual([[queued.id, 8, true]]);
  });

  it('an id not in flight still gets its BAD_REQUEST', () => {
    const h = harness();
    h.dispatcher.reject(rejected('not-running'), h.reply);
    expect(h.reply.sent.map((m) => [m.id, errorOf(m).code])).toEqual([['not-running', 'BAD_REQUEST']]);
  });
});

describe('Dispatcher: a result too large for a frame', () => {
  it('is recorded as RESULT_TOO_LARGE in the audit and the metrics when the connection replaced it', async () => {
    const seen: CommandOutcome[] = [];
    const h = harness({ dispatcher: { onOutcome: (o) => seen.push(o) } });
    const replacing = { sendResult: (): ResultDelivery => 'replaced' };
    const cmd = pwCmd();
    h.dispatcher.handle(cmd, replacing);
    await settle();
    expect(h.audit.map((e) => e.outcome)).toEqual(['RESULT_TOO_LARGE']);
    expect(seen.map((o) => o.outcome)).toEqual(['RESULT_TOO_LARGE']);
  });
});

describe('Dispatcher: local refusals', () => {
  it('UNKNOWN_VAULT for a profile it does not know', async () => {
    const h = harness();
    h.dispatcher.handle(pwCmd({ vault: 'pmp-test' }), h.reply);
    h.dispatcher.handle(listCmd({ params: { vault: 'nope', resource: { customAttributes: {} } } } as never), h.reply);
    await settle();
    expect(h.reply.sent.map((m) => errorOf(m).code)).toEqual(['UNKNOWN_VAULT', 'UNKNOWN_VAULT']);
    expect(h.vault.calls).toEqual([]);
  });

  it.each([
    ['no attribute', {}],
    ['an empty value', { 'PMP Resource ID': '  ' }],
    ['two keys that differ only in case', { 'pmp resource id': '301', 'PMP RESOURCE ID': '302' }],
  ])('RESOURCE_NOT_MAPPED for %s', async (_label, attrs) => {
    const h = harness();
    h.dispatcher.handle(pwCmd({ resource: { customAttributes: attrs } }), h.reply);
    h.dispatcher.handle(listCmd({ attrs }), h.reply);
    await settle();
    expect(h.reply.sent.map((m) => [errorOf(m).code, errorOf(m).retryable])).toEqual([
      ['RESOURCE_NOT_MAPPED', false],
      ['RESOURCE_NOT_MAPPED', false],
    ]);
    expect(h.vault.calls).toEqual([]);
  });

  it('TICKET_ID_REQUIRED from the profile before any PMP call', async () => {
    const h = harness({ profile: { requireTicketId: true } });
    h.dispatcher.handle(pwCmd({ ticketId: undefined }), h.reply);
    await settle();
    expect(errorOf(h.reply.sent[0])).toMatchObject({ code: 'TICKET_ID_REQUIRED', retryable: false });
    expect(h.vault.calls).toEqual([]);
    h.dispatcher.handle(pwCmd({ ticketId: 'INC-1' }), h.reply);
    await settle();
    expect(h.reply.sent[1]?.ok).toBe(true);
  });
});

describe('Dispatcher: vault failures', () => {
  const passThrough: ErrorCode[] = [
    'RESOURCE_NOT_FOUND',
    'ACCOUNT_NOT_FOUND',
    'TICKET_ID_REQUIRED',
    'REASON_REQUIRED',
    'APPROVAL_REQUIRED',
    'ACCESS_DENIED',
    'VAULT_UNREACHABLE',
    'VAULT_TLS_ERROR',
    'VAULT_TIMEOUT',
    'VAULT_ERROR',
  ];

  it.each(passThrough)('%s from the vault client passes through with its message', async (code) => {
    const h = harness();
    h.vault.failures.set('getPassword', new GatewayError(code, `pmp says ${code}`, { detail: 'raw message' }));
    const cmd = pwCmd();
    h.dispatcher.handle(cmd, h.reply);
    await settle();
    expect(h.reply.sent).toEqual([
      { type: 'result', id: cmd.id, epoch: 8, ok: false, error: new GatewayError(code, `pmp says ${code}`).toWire() },
    ]);
    expect(h.audit[0]?.outcome).toBe(code);
  });

  it('RESOURCE_NOT_FOUND when the attribute names a resource PMP does not have', async () => {
    const h = harness();
    h.dispatcher.handle(listCmd({ attrs: { 'PMP Resource ID': 'No_Such_Box' } }), h.reply);
    await settle();
    expect(errorOf(h.reply.sent[0]).code).toBe('RESOURCE_NOT_FOUND');
  });

  it('INTERNAL for a bug: logged with its stack, retryable, never the password', async () => {
    const h = harness();
    h.vault.failures.set('getPassword', new TypeError('cannot read properties of undefined'));
    const cmd = pwCmd();
    h.dispatcher.handle(cmd, h.reply);
    await settle();
    expect(h.reply.sent).toEqual([
      { type: 'result', id: cmd.id, epoch: 8, ok: false, error: { code: 'INTERNAL', message: 'internal error', retryable: true } },
    ]);
    const line = h.logs.map((l) => JSON.parse(l) as { msg: string; err?: { stack?: string } }).find((l) => l.msg === 'command failed with an internal error');
    expect(line?.err?.stack).toContain('TypeError: cannot read properties of undefined');
    expect(h.audit[0]?.outcome).toBe('INTERNAL');
  });
});

describe('Dispatcher: duplicate ids', () => {
  it('a duplicate on the same connection joins: one vault call, one result', async () => {
    const h = harness();
    h.vault.holdPasswords = true;
    const cmd = pwCmd();
    h.dispatcher.handle(cmd, h.reply);
    await settle();
    h.dispatcher.handle({ ...cmd }, h.reply);
    expect(h.dispatcher.inFlight).toBe(1);
    h.vault.release();
    await settle();
    expect(h.vault.count('getPassword')).toBe(1);
    expect(h.reply.sent).toHaveLength(1);
    expect(h.reply.sent[0]?.ok).toBe(true);
    expect(h.audit).toHaveLength(1);
    expect(h.dispatcher.stats().joined).toBe(1);
  });

  it('a duplicate from another connection gets the same result there, with its own epoch', async () => {
    const h = harness();
    h.vault.holdPasswords = true;
    const cmd = pwCmd();
    h.dispatcher.handle(cmd, h.reply);
    await settle();
    // The controller re-grants (epoch 9) and re-sends the command on a new connection.
    h.role.state = { role: 'active', epoch: 9 };
    const other = new FakeReply();
    h.dispatcher.handle({ ...cmd, epoch: 9 }, other);
    h.vault.release();
    await settle();
    expect(h.vault.count('getPassword')).toBe(1);
    expect(h.reply.sent.map((m) => [m.id, m.epoch, m.ok])).toEqual([[cmd.id, 8, true]]);
    expect(other.sent.map((m) => [m.id, m.epoch, m.ok])).toEqual([[cmd.id, 9, true]]);
  });

  it('a same-connection duplicate with a newer epoch moves the answer to that epoch', async () => {
    const h = harness();
    h.vault.holdPasswords = true;
    const cmd = pwCmd();
    h.dispatcher.handle(cmd, h.reply);
    await settle();
    h.role.state = { role: 'active', epoch: 9 };
    h.dispatcher.handle({ ...cmd, epoch: 9 }, h.reply);
    h.vault.release();
    await settle();
    expect(h.reply.sent.map((m) => m.epoch)).toEqual([9]);
  });

  it('a duplicate with a stale epoch does not join: NOT_ACTIVE', async () => {
    const h = harness();
    h.vault.holdPasswords = true;
    const cmd = pwCmd();
    h.dispatcher.handle(cmd, h.reply);
    await settle();
    h.role.state = { role: 'active', epoch: 9 };
    const other = new FakeReply();
    h.dispatcher.handle(cmd, other);
    expect(other.sent.map((m) => errorOf(m).code)).toEqual(['NOT_ACTIVE']);
    h.vault.release();
    await settle();
    expect(h.reply.sent).toHaveLength(1);
  });

  it('an id that finished runs again when it comes back (the controller owns retries)', async () => {
    const h = harness();
    const cmd = pwCmd();
    h.dispatcher.handle(cmd, h.reply);
    await settle();
    h.dispatcher.handle(cmd, h.reply);
    await settle();
    expect(h.vault.count('getPassword')).toBe(2);
    expect(h.reply.sent).toHaveLength(2);
  });
});

describe('Dispatcher: limits and deadlines', () => {
  it('queues past maxInFlight in arrival order; OVERLOADED only past maxQueued; joins take no slot', async () => {
    const h = harness({ limits: { maxInFlight: 2, maxQueued: 2 } });
    h.vault.holdPasswords = true;
    const a = pwCmd();
    const b = pwCmd({ accountId: '903' });
    h.dispatcher.handle(a, h.reply);
    h.dispatcher.handle(b, h.reply);
    const other = new FakeReply();
    h.dispatcher.handle(a, other); // join
    const c = pwCmd();
    const d = pwCmd();
    h.dispatcher.handle(c, h.reply);
    h.dispatcher.handle(d, h.reply);
    h.dispatcher.handle(d, other); // join of a queued command: no queue place either
    const e = pwCmd();
    h.dispatcher.handle(e, h.reply);
    expect(h.reply.sent.map((m) => [m.id, errorOf(m).code, errorOf(m).retryable])).toEqual([[e.id, 'OVERLOADED', true]]);
    expect(h.dispatcher.stats()).toMatchObject({ inFlight: 2, queued: 2, joined: 2 });
    await settle();
    expect(h.vault.count('getPassword')).toBe(2);
    h.clock.advance(250);
    h.vault.release();
    await settle();
    // a and b done; c and d started in arrival order, then released too.
    h.vault.release();
    await settle();
    expect(h.dispatcher.stats()).toMatchObject({ inFlight: 0, queued: 0 });
    expect(h.reply.sent.map((m) => [m.id, m.ok])).toEqual([
      [e.id, false],
      [a.id, true],
      [b.id, true],
      [c.id, true],
      [d.id, true],
    ]);
    expect(other.sent.map((m) => m.id)).toEqual([a.id, d.id]);
    expect(h.vault.count('getPassword')).toBe(4);
    expect(h.dispatcher.stats().outcomes.find((o) => o.outcome === 'ok')?.count).toBe(4);
  });

  it('reports how long a queued command waited (queuedMs), and nothing for one that never waited', async () => {
    const seen: CommandOutcome[] = [];
    const { h, running: first, queued: second } = await runningAndQueued(pwCmd(), pwCmd(), { onOutcome: (o) => seen.push(o) });
    h.clock.advance(300);
    h.vault.release();
    await settle();
    h.vault.release();
    await settle();
    expect(seen.map((o) => [o.id, o.queuedMs])).toEqual([
      [first.id, undefined],
      [second.id, 300],
    ]);
  });

  it('a queued command whose deadline passes gets DEADLINE_EXCEEDED without touching the vault', async () => {
    const { h, running: slow, queued: waiting } = await runningAndQueued(pwCmd({}, { timeoutMs: 5000 }), pwCmd({}, { timeoutMs: 500 }));
    h.clock.advance(500);
    expect(h.reply.sent.map((m) => [m.id, errorOf(m).code, errorOf(m).message])).toEqual([
      [waiting.id, 'DEADLINE_EXCEEDED', 'the command waited in the admission queue for its whole 500 ms'],
    ]);
    expect(h.dispatcher.stats()).toMatchObject({ inFlight: 1, queued: 0 });
    h.vault.release();
    await settle();
    expect(h.vault.count('getPassword')).toBe(1);
    expect(h.audit.map((e) => [e.commandId, e.outcome])).toEqual([
      [waiting.id, 'DEADLINE_EXCEEDED'],
      [slow.id, 'ok'],
    ]);
    expect(h.clock.pending).toBe(0);
  });

  it('fences a queued command again when it starts: NOT_ACTIVE if the epoch moved while it waited', async () => {
    const { h, running, queued } = await runningAndQueued();
    h.role.state = { role: 'active', epoch: 9 };
    h.vault.release();
    await settle();
    expect(h.reply.sent.map((m) => [m.id, m.ok ? 'ok' : m.error.code])).toEqual([
      [running.id, 'ok'],
      [queued.id, 'NOT_ACTIVE'],
    ]);
    expect(h.vault.count('getPassword')).toBe(1);
    expect(h.dispatcher.stats()).toMatchObject({ inFlight: 0, queued: 0 });
  });

  it('DEADLINE_EXCEEDED at timeoutMs: the vault call is aborted and no second result follows', async () => {
    const h = harness();
    h.vault.holdPasswords = true;
    const cmd = pwCmd({}, { timeoutMs: 500 });
    h.dispatcher.handle(cmd, h.reply);
    await settle();
    h.clock.advance(499);
    await settle();
    expect(h.reply.sent).toEqual([]);
    h.clock.advance(1);
    expect(h.reply.sent).toEqual([
      {
        type: 'result',
        id: cmd.id,
        epoch: 8,
        ok: false,
        error: { code: 'DEADLINE_EXCEEDED', message: 'the command did not finish within 500 ms', retryable: true },
      },
    ]);
    const signal = h.vault.calls.find((c) => c.method === 'getPassword')?.signal;
    expect(signal?.aborted).toBe(true);
    expect(h.vault.aborted).toHaveLength(1);
    expect((h.vault.aborted[0] as GatewayError).code).toBe('DEADLINE_EXCEEDED');
    h.vault.release();
    await settle();
    expect(h.reply.sent).toHaveLength(1);
    expect(h.audit).toEqual([expect.objectContaining({ outcome: 'DEADLINE_EXCEEDED', durationMs: 500 })]);
    expect(h.dispatcher.inFlight).toBe(0);
    expect(h.clock.pending).toBe(0);
  });

  it('a command that finishes clears its deadline timer', async () => {
    const h = harness();
    h.dispatcher.handle(pwCmd(), h.reply);
    await settle();
    expect(h.clock.pending).toBe(0);
    h.clock.advance(20000);
    expect(h.reply.sent).toHaveLength(1);
  });
});

describe('Dispatcher: connections', () => {
  it('a result for a connection that is gone is dropped and logged without its data', async () => {
    const h = harness();
    h.reply.connected = false;
    h.dispatcher.handle(pwCmd(), h.reply);
    await settle();
    expect(h.reply.sent).toEqual([]);
    const dropped = h.logs.find((l) => l.includes('result dropped: connection gone'));
    expect(dropped).toBeDefined();
    expect(h.logs.join('\n')).not.toContain(SECRET);
    expect(h.dispatcher.inFlight).toBe(0);
  });

  it('a reply port that throws does not break the dispatcher', async () => {
    const h = harness();
    const bad = { sendResult: (): ResultDelivery => { throw new Error('socket exploded'); } };
    h.dispatcher.handle(pwCmd(), bad);
    await settle();
    expect(h.dispatcher.inFlight).toBe(0);
    h.dispatcher.handle(pwCmd(), h.reply);
    await settle();
    expect(h.reply.sent).toHaveLength(1);
  });
});

describe('Dispatcher: shutdown', () => {
  it('stopAccepting: new commands get NOT_ACTIVE, in-flight ones finish, joins still attach; drain resolves true', async () => {
    const h = harness();
    h.vault.holdPasswords = true;
    const cmd = pwCmd();
    h.dispatcher.handle(cmd, h.reply);
    await settle();
    h.dispatcher.stopAccepting();
    expect(h.dispatcher.accepting).toBe(false);
    const fresh = pwCmd();
    h.dispatcher.handle(fresh, h.reply);
    expect(h.reply.sent.map((m) => [m.id, errorOf(m).code])).toEqual([[fresh.id, 'NOT_ACTIVE']]);
    const other = new FakeReply();
    h.dispatcher.handle(cmd, other);
    const drained = h.dispatcher.drain(1000);
    h.vault.release();
    await expect(drained).resolves.toBe(true);
    expect(h.reply.sent.map((m) => [m.id, m.ok])).toEqual([
      [fresh.id, false],
      [cmd.id, true],
    ]);
    expect(other.sent.map((m) => [m.id, m.ok])).toEqual([[cmd.id, true]]);
    expect(h.clock.pending).toBe(0);
  });

  it('stopAccepting answers queued commands NOT_ACTIVE at once (they touched no vault); drain waits only for running ones', async () => {
    const { h, running, queued } = await runningAndQueued();
    h.dispatcher.stopAccepting();
    expect(h.reply.sent.map((m) => [m.id, errorOf(m).code, errorOf(m).retryable])).toEqual([[queued.id, 'NOT_ACTIVE', true]]);
    expect(h.dispatcher.stats()).toMatchObject({ inFlight: 1, queued: 0 });
    const drained = h.dispatcher.drain(1000);
    h.vault.release();
    await expect(drained).resolves.toBe(true);
    expect(h.reply.sent.map((m) => [m.id, m.ok])).toEqual([
      [queued.id, false],
      [running.id, true],
    ]);
    expect(h.vault.count('getPassword')).toBe(1);
  });

  it('drain resolves at once when idle and false when time runs out', async () => {
    const h = harness();
    await expect(h.dispatcher.drain(1000)).resolves.toBe(true);
    h.vault.holdPasswords = true;
    h.dispatcher.handle(pwCmd({}, { timeoutMs: 5000 }), h.reply);
    await settle();
    const drained = h.dispatcher.drain(1000);
    h.clock.advance(1000);
    await expect(drained).resolves.toBe(false);
    expect(h.dispatcher.inFlight).toBe(1);
    h.vault.release();
    await settle();
    expect(h.dispatcher.inFlight).toBe(0);
  });

  it('abandonRunning: every waiter of a running command gets the error, its vault call is aborted, one audit line; a late answer changes nothing', async () => {
    const h = harness();
    h.vault.holdPasswords = true;
    const cmd = pwCmd();
    h.dispatcher.handle(cmd, h.reply);
    await settle();
    const other = new FakeReply();
    h.dispatcher.handle(cmd, other);
    h.dispatcher.stopAccepting();
    const error = new GatewayError('NOT_ACTIVE', 'the gateway stopped before the command finished');
    expect(h.dispatcher.abandonRunning(error)).toBe(1);
    expect(h.dispatcher.inFlight).toBe(0);
    await expect(h.dispatcher.drain(1000)).resolves.toBe(true);
    expect(h.vault.aborted).toEqual([error]);
    for (const r of [h.reply, other]) expect(r.sent.map((m) => [m.id, errorOf(m).code])).toEqual([[cmd.id, 'NOT_ACTIVE']]);
    expect(h.audit.map((e) => [e.commandId, e.outcome])).toEqual([[cmd.id, 'NOT_ACTIVE']]);
    h.vault.release();
    await settle();
    expect(h.reply.sent).toHaveLength(1);
    expect(h.audit).toHaveLength(1);
    expect(h.clock.pending).toBe(0);
  });
});

describe('Dispatcher: metrics', () => {
  it('counts outcomes by name and code and calls onOutcome once per command', async () => {
    const seen: CommandOutcome[] = [];
    const h = harness({ dispatcher: { onOutcome: (o) => seen.push(o) } });
    h.dispatcher.handle(pwCmd(), h.reply);
    h.dispatcher.handle(pwCmd(), h.reply);
    h.dispatcher.handle(listCmd(), h.reply);
    h.dispatcher.handle(pwCmd({ vault: 'nope' }), h.reply);
    await settle();
    h.dispatcher.reject({ kind: 'rejected', id: 'x', epoch: 8, code: 'UNKNOWN_COMMAND', message: 'unknown command' }, h.reply);
    expect(seen.map((o) => [o.name, o.outcome])).toEqual([
      ['getPassword', 'UNKNOWN_VAULT'],
      ['getPassword', 'ok'],
      ['getPassword', 'ok'],
      ['listAccounts', 'ok'],
      [null, 'UNKNOWN_COMMAND'],
    ]);
    const stats = h.dispatcher.stats();
    expect(stats.inFlight).toBe(0);
    expect(stats.outcomes.map((c) => [c.name, c.outcome, c.count]).sort()).toEqual(
      [
        ['getPassword', 'ok', 2],
        ['getPassword', 'UNKNOWN_VAULT', 1],
        ['listAccounts', 'ok', 1],
        [null, 'UNKNOWN_COMMAND', 1],
      ].sort(),
    );
  });

  it('a throwing onOutcome hook or audit sink is logged and changes nothing', async () => {
    const h = harness({
      dispatcher: {
        onOutcome: () => {
          throw new Error('metrics broke');
        },
        audit: {
          record: () => {
            throw new Error('audit broke');
          },
        },
      },
    });
    h.dispatcher.handle(pwCmd(), h.reply);
    await settle();
    expect(h.reply.sent).toHaveLength(1);
    expect(h.logs.some((l) => l.includes('audit sink failed'))).toBe(true);
    expect(h.logs.some((l) => l.includes('onOutcome hook failed'))).toBe(true);
  });
});

describe('Dispatcher: vault leases', () => {
  it('holds the vault a command took until the command has settled, and releases it exactly once however it ends', async () => {
    const h = harness({ profile: { requireTicketId: true } });
    const held = (): number => h.registry.leases.get('pmp-prod') ?? 0;
    h.vault.holdPasswords = true;
    h.dispatcher.handle(pwCmd(), h.reply);
    h.dispatcher.handle(listCmd(), h.reply);
    await settle();
    // The list is answered; the password call is still at the vault, and the command holds its client.
    expect(h.reply.sent).toHaveLength(1);
    expect(held()).toBe(1);
    h.vault.release();
    await settle();
    expect(held()).toBe(0);

    // Refused after the lookup, failed at the vault, past its deadline: each gives its lease back (the fake throws on a second release).
    h.dispatcher.handle(pwCmd({ ticketId: undefined }), h.reply);
    h.vault.failures.set('listAccounts', new GatewayError('VAULT_UNREACHABLE', 'down'));
    h.dispatcher.handle(listCmd(), h.reply);
    h.dispatcher.handle(pwCmd({ vault: 'nope' }), h.reply);
    h.dispatcher.handle(pwCmd({}, { timeoutMs: 100 }), h.reply);
    await settle();
    expect(held()).toBe(1);
    h.clock.advance(100);
    await settle();
    expect(h.reply.sent.slice(2).map((m) => errorOf(m).code).sort()).toEqual(['DEADLINE_EXCEEDED', 'TICKET_ID_REQUIRED', 'UNKNOWN_VAULT', 'VAULT_UNREACHABLE']);
    expect(held()).toBe(0);
  });
});
