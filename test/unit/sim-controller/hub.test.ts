import { describe, expect, it } from '@jest/globals';
import pino from 'pino';
import { Writable } from 'node:stream';
import type { HelloMessage } from '../../../src/protocol/index.js';
import { ManualClock } from '../../../src/shared/clock.js';
import { EpochStore } from '../../../src/sim/controller/epoch-store.js';
import { ControllerHub, stableStringify, type CommandOutcome, type GatewayPeer } from '../../../src/sim/controller/index.js';

interface Frame {
  type: string;
  id?: string;
  epoch?: number;
  role?: string;
  timeoutMs?: number;
  [k: string]: unknown;
}

class FakePeer implements GatewayPeer {
  frames: Frame[] = [];
  closed: { code: number; reason: string } | null = null;
  constructor(
    readonly gatewayId: string,
    readonly clusterId = 'site-1',
  ) {}
  send(text: string): void {
    this.frames.push(JSON.parse(text) as Frame);
  }
  close(code: number, reason: string): void {
    this.closed = { code, reason };
  }
  commands(): Frame[] {
    return this.frames.filter((f) => f.type === 'command');
  }
  lastRole(): Frame | undefined {
    return this.frames.filter((f) => f.type === 'role' || f.type === 'welcome').at(-1);
  }
}

function hello(gatewayId: string, priority = 100, healthy = true, clusterId = 'site-1'): HelloMessage {
  return {
    type: 'hello',
    protocol: 1,
    gatewayId,
    clusterId,
    version: '1.0.0',
    priority,
    capabilities: ['listAccounts', 'getPassword'],
    vaults: [{ name: 'pmp', healthy }],
  };
}

const LIST = { name: 'listAccounts', params: { vault: 'pmp', resource: { customAttributes: { 'PMP Resource ID': '301' } } }, timeoutMs: 1000 };

function setup(store = new EpochStore(), lines: string[] = []) {
  const clock = new ManualClock();
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  const hub = new ControllerHub({ heartbeatMs: 100, epochStore: store, clock, logger: pino({ level: 'debug' }, sink), resultGraceMs: 500 });
  return { hub, clock, store, lines };
}

/** Collects outcomes; flushes microtasks so resolved promises are visible. */
function track(p: Promise<CommandOutcome>): { outcome: CommandOutcome | null; count: number } {
  const box = { outcome: null as CommandOutcome | null, count: 0 };
  void p.then((o) => {
    box.outcome = o;
    box.count++;
  });
  return box;
}
const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('ControllerHub commands', () => {
  it('sends to the active with the current epoch and answers with its result', async () => {
    const { hub } = setup();
    const a = new FakePeer('a');
    hub.join(a, hello('a'));
    expect(a.frames[0]).toEqual({ type: 'welcome', protocol: 1, heartbeatMs: 100, role: 'active', epoch: 1 });
    const box = track(hub.submit('site-1', LIST));
    const cmd = a.commands()[0]!;
    expect(cmd).toMatchObject({ type: 'command', epoch: 1, name: 'listAccounts', timeoutMs: 1000 });
    expect(cmd.id).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
    hub.result(a, { type: 'result', id: cmd.id!, epoch: 1, ok: true, data: { accounts: [] } });
    await flush();
    expect(box.outcome).toEqual({ status: 200, body: { id: cmd.id, epoch: 1, ok: true, data: { accounts: [] }, gatewayId: 'a', attempts: 1 } });
    expect(hub.snapshot('site-1')!.counts).toMatchObject({ commandsOk: 1, commandsFailed: 0, promotions: 1 });
  });

  it('re-sends to the new active with the new epoch when the active is lost; one final result', async () => {
    const { hub } = setup();
    const a = new FakePeer('a');
    const b = new FakePeer('b');
    hub.join(a, hello('a', 200));
    hub.join(b, hello('b', 100));
    const box = track(hub.submit('site-1', { ...LIST, id: 'cmd-1' }));
    expect(a.commands()).toHaveLength(1);
    hub.leave(a, 'liveness');
    expect(b.lastRole()).toEqual({ type: 'role', role: 'active', epoch: 2 });
    const resent = b.commands()[0]!;
    expect(resent).toMatchObject({ id: 'cmd-1', epoch: 2 });
    hub.result(b, { type: 'result', id: 'cmd-1', epoch: 2, ok: true, data: { n: 1 } });
    hub.result(b, { type: 'result', id: 'cmd-1', epoch: 2, ok: true, data: { n: 2 } });
    await flush();
    expect(box.count).toBe(1);
    expect(box.outcome).toMatchObject({ status: 200, body: { gatewayId: 'b', attempts: 2, data: { n: 1 } } });
    expect(hub.snapshot('site-1')!.counts).toMatchObject({ resentCommands: 1, duplicateResultsDropped: 1, promotions: 2 });
  });

  it('drops results at a stale epoch or from another gateway, and counts them', async () => {
    const { hub } = setup();
    const a = new FakePeer('a');
    const b = new FakePeer('b');
    hub.join(a, hello('a'));
    hub.join(b, hello('b'));
    const box = track(hub.submit('site-1', { ...LIST, id: 'x' }));
    hub.result(a, { type: 'result', id: 'x', epoch: 0, ok: true, data: {} });
    hub.result(b, { type: 'result', id: 'x', epoch: 1, ok: true, data: {} });
    await flush();
    expect(box.outcome).toBeNull();
    expect(hub.snapshot('site-1')!.counts.staleResultsDropped).toBe(2);
    hub.result(a, { type: 'result', id: 'x', epoch: 1, ok: false, error: { code: 'ACCOUNT_NOT_FOUND', message: 'no', retryable: false } });
    await flush();
    expect(box.outcome).toMatchObject({ status: 200, body: { ok: false, error: { code: 'ACCOUNT_NOT_FOUND' } } });
    expect(hub.snapshot('site-1')!.counts).toMatchObject({ commandsFailed: 1 });
  });

  it('resign: new commands go to the new active, the resigning one finishes its own', async () => {
    const { hub } = setup();
    const a = new FakePeer('a');
    const b = new FakePeer('b');
    hub.join(a, hello('a', 200));
    hub.join(b, hello('b', 100));
    const first = track(hub.submit('site-1', { ...LIST, id: 'one' }));
    hub.resign(a, 1);
    expect(b.lastRole()).toEqual({ type: 'role', role: 'active', epoch: 2 });
    expect(a.frames.filter((f) => f.type === 'role')).toHaveLength(0);
    const second = track(hub.submit('site-1', { ...LIST, id: 'two' }));
    expect(b.commands().map((c) => [c.id, c.epoch])).toEqual([['two', 2]]);
    hub.result(a, { type: 'result', id: 'one', epoch: 1, ok: true, data: {} });
    hub.result(b, { type: 'result', id: 'two', epoch: 2, ok: true, data: {} });
    await flush();
    expect(first.outcome).toMatchObject({ status: 200, body: { gatewayId: 'a', epoch: 1 } });
    expect(second.outcome).toMatchObject({ status: 200, body: { gatewayId: 'b', epoch: 2 } });
    expect(hub.snapshot('site-1')!.counts.resentCommands).toBe(0);
  });

  it('resign then close before answering: the command is re-sent', async () => {
    const { hub } = setup();
    const a = new FakePeer('a');
    const b = new FakePeer('b');
    hub.join(a, hello('a', 200));
    hub.join(b, hello('b', 100));
    const box = track(hub.submit('site-1', { ...LIST, id: 'one' }));
    hub.resign(a, 1);
    expect(b.commands()).toHaveLength(0);
    hub.leave(a, 'closed');
    expect(b.commands().map((c) => [c.id, c.epoch])).toEqual([['one', 2]]);
    hub.result(b, { type: 'result', id: 'one', epoch: 2, ok: true, data: {} });
    await flush();
    expect(box.outcome).toMatchObject({ status: 200, body: { gatewayId: 'b', attempts: 2 } });
  });

  it('NOT_ACTIVE is not final: re-sent to the current active after the next grant', async () => {
    const { hub } = setup();
    const a = new FakePeer('a');
    const b = new FakePeer('b');
    hub.join(a, hello('a', 200));
    hub.join(b, hello('b', 100));
    const box = track(hub.submit('site-1', { ...LIST, id: 'n' }));
    hub.result(a, { type: 'result', id: 'n', epoch: 1, ok: false, error: { code: 'NOT_ACTIVE', message: 'standby', retryable: true } });
    // Same gateway, same epoch: not re-sent to it in a loop.
    expect(a.commands()).toHaveLength(1);
    hub.health(a, { type: 'health', vaults: [{ name: 'pmp', healthy: false }] });
    expect(b.commands().map((c) => [c.id, c.epoch])).toEqual([['n', 2]]);
    hub.result(b, { type: 'result', id: 'n', epoch: 2, ok: true, data: {} });
    await flush();
    expect(box.outcome).toMatchObject({ status: 200, body: { ok: true, gatewayId: 'b', attempts: 2 } });
  });

  it('NOT_ACTIVE with nobody else: the refusal is the final result at the deadline', async () => {
    const { hub, clock } = setup();
    const a = new FakePeer('a');
    hub.join(a, hello('a'));
    const box = track(hub.submit('site-1', { ...LIST, id: 'n' }));
    hub.result(a, { type: 'result', id: 'n', epoch: 1, ok: false, error: { code: 'NOT_ACTIVE', message: 'standby', retryable: true } });
    clock.advance(1000);
    await flush();
    expect(box.outcome).toMatchObject({ status: 200, body: { ok: false, error: { code: 'NOT_ACTIVE' } } });
  });

  it('no active gateway: waits, and answers NO_ACTIVE_GATEWAY at timeoutMs', async () => {
    const { hub, clock } = setup();
    const box = track(hub.submit('site-1', LIST));
    clock.advance(999);
    await flush();
    expect(box.outcome).toBeNull();
    clock.advance(1);
    await flush();
    expect(box.outcome).toMatchObject({ status: 503, body: { error: { code: 'NO_ACTIVE_GATEWAY', retryable: true } } });
    expect(hub.snapshot('site-1')!.counts.commandsFailed).toBe(1);
  });

  it('a command waiting for an active is sent when a gateway joins', () => {
    const { hub, clock } = setup();
    void hub.submit('site-1', { ...LIST, id: 'w' });
    clock.advance(400);
    const a = new FakePeer('a');
    hub.join(a, hello('a'));
    expect(a.commands()).toEqual([expect.objectContaining({ id: 'w', epoch: 1, timeoutMs: 600 })]);
  });

  it('a silent gateway: 504 DEADLINE_EXCEEDED after timeoutMs + grace', async () => {
    const { hub, clock } = setup();
    hub.join(new FakePeer('a'), hello('a'));
    const box = track(hub.submit('site-1', LIST));
    clock.advance(1000);
    await flush();
    expect(box.outcome).toBeNull();
    clock.advance(500);
    await flush();
    expect(box.outcome).toMatchObject({ status: 504, body: { error: { code: 'DEADLINE_EXCEEDED' } } });
  });

  it('client ids: a retry joins the pending command, then gets the retained result; a different body conflicts', async () => {
    const { hub } = setup();
    const a = new FakePeer('a');
    hub.join(a, hello('a'));
    const one = track(hub.submit('site-1', { ...LIST, id: 'same' }));
    const two = track(hub.submit('site-1', { ...LIST, id: 'same' }));
    expect(a.commands()).toHaveLength(1);
    const conflict = await hub.submit('site-1', { ...LIST, timeoutMs: 2000, id: 'same' });
    expect(conflict).toMatchObject({ status: 409, body: { error: { code: 'ID_CONFLICT' } } });
    hub.result(a, { type: 'result', id: 'same', epoch: 1, ok: true, data: { v: 1 } });
    await flush();
    expect(one.outcome).toEqual(two.outcome);
    const three = await hub.submit('site-1', { ...LIST, id: 'same' });
    expect(three).toEqual(one.outcome);
    expect(a.commands()).toHaveLength(1);
  });

  it.each([
    [{ name: 'dropTables', params: {} }, 'UNKNOWN_COMMAND'],
    [{ name: 'listAccounts', params: { vault: '' , resource: {} } }, 'BAD_REQUEST'],
    [{ ...LIST, timeoutMs: 5 }, 'BAD_REQUEST'],
    [{ ...LIST, id: 'bad id' }, 'BAD_REQUEST'],
    [{ ...LIST, extra: 1 }, 'BAD_REQUEST'],
    [[1, 2], 'BAD_REQUEST'],
  ])('rejects a bad body %j with %s', async (body, code) => {
    const { hub } = setup();
    const out = await hub.submit('site-1', body);
    expect(out).toMatchObject({ status: 400, body: { error: { code } } });
  });

  it('rejects a bad cluster id', async () => {
    const { hub } = setup();
    expect(await hub.submit('no/such', LIST)).toMatchObject({ status: 400, body: { error: { code: 'BAD_CLUSTER_ID' } } });
  });

  it('stop answers every pending command CONTROLLER_STOPPING and refuses new ones', async () => {
    const { hub } = setup();
    const box = track(hub.submit('site-1', LIST));
    hub.stop();
    await flush();
    expect(box.outcome).toMatchObject({ status: 503, body: { error: { code: 'CONTROLLER_STOPPING' } } });
    expect(await hub.submit('site-1', LIST)).toMatchObject({ status: 503 });
  });
});

describe('ControllerHub connections and roles', () => {
  it('a second connection with the same gatewayId closes the older with 4003 and takes over as a new peer', () => {
    const { hub } = setup();
    const a1 = new FakePeer('a');
    const b = new FakePeer('b');
    hub.join(a1, hello('a', 200));
    hub.join(b, hello('b', 100));
    const a2 = new FakePeer('a');
    hub.join(a2, hello('a', 200));
    expect(a1.closed).toEqual({ code: 4003, reason: expect.any(String) });
    expect(b.lastRole()).toEqual({ type: 'role', role: 'active', epoch: 2 });
    expect(a2.frames[0]).toMatchObject({ type: 'welcome', role: 'standby', epoch: 2 });
    expect(hub.isCurrent(a1)).toBe(false);
  });

  it('continues epochs from the store after a restart', () => {
    const store = new EpochStore();
    const first = setup(store);
    first.hub.join(new FakePeer('a'), hello('a'));
    expect(store.get('site-1')).toBe(1);
    const second = setup(store);
    const a = new FakePeer('a');
    second.hub.join(a, hello('a'));
    expect(a.frames[0]).toMatchObject({ role: 'active', epoch: 2 });
  });

  it('when an epoch cannot be stored: no frame carries it, a join is refused, a leave promotes nobody', () => {
    class FailingStore extends EpochStore {
      fail = false;
      override set(clusterId: string, epoch: number): void {
        if (this.fail) throw new Error('disk full');
        super.set(clusterId, epoch);
      }
    }
    const store = new FailingStore();
    const { hub } = setup(store);
    const a = new FakePeer('a');
    const b = new FakePeer('b');
    hub.join(a, hello('a', 200));
    hub.join(b, hello('b', 100));
    store.fail = true;
    hub.leave(a, 'closed');
    expect(b.frames.filter((f) => f.type === 'role')).toEqual([]);
    expect(hub.snapshot('site-1')).toMatchObject({ activeGatewayId: null, epoch: 1 });
    expect(hub.snapshot('site-1')!.gateways.map((g) => g.gatewayId)).toEqual(['b']);
    // The next health report with the disk back grants the role.
    store.fail = false;
    hub.health(b, { type: 'health', vaults: [{ name: 'pmp', healthy: true }] });
    expect(b.lastRole()).toEqual({ type: 'role', role: 'active', epoch: 2 });
    store.fail = true;
    hub.leave(b, 'closed');
    const c = new FakePeer('c');
    expect(() => hub.join(c, hello('c'))).toThrow('disk full');
    expect(c.frames).toEqual([]);
    expect(hub.isCurrent(c)).toBe(false);
    store.fail = false;
    hub.join(c, hello('c'));
    expect(c.frames[0]).toMatchObject({ type: 'welcome', role: 'active', epoch: 3 });
  });

  it('snapshot shows roles, epochs, health and counts', () => {
    const { hub } = setup();
    hub.join(new FakePeer('a'), hello('a', 50));
    const b = new FakePeer('b');
    hub.join(b, hello('b', 10, false));
    hub.health(b, { type: 'health', vaults: [{ name: 'pmp', healthy: true }] });
    const snap = hub.snapshot('site-1')!;
    expect(snap).toMatchObject({ clusterId: 'site-1', epoch: 1, activeGatewayId: 'a', lastChange: { gatewayId: 'a', epoch: 1 } });
    expect(snap.gateways.map((g) => [g.gatewayId, g.role, g.epoch, g.priority, g.healthy])).toEqual([
      ['a', 'active', 1, 50, true],
      ['b', 'standby', 1, 10, true],
    ]);
    expect(snap.gateways[1]!.vaults).toEqual([{ name: 'pmp', healthy: true }]);
    expect(hub.snapshot('nope')).toBeUndefined();
    expect(hub.clusterIds()).toEqual(['site-1']);
  });

  it('never logs command params or result data', async () => {
    const lines: string[] = [];
    const { hub } = setup(new EpochStore(), lines);
    const a = new FakePeer('a');
    hub.join(a, hello('a'));
    const p = hub.submit('site-1', {
      name: 'getPassword',
      params: { vault: 'pmp', resource: { customAttributes: { x: '1' } }, accountId: '902', ticketId: 'TICKET-SECRETISH' },
    });
    const id = a.commands()[0]!.id!;
    hub.result(a, { type: 'result', id, epoch: 1, ok: true, data: { password: 'hunter2-PASSWORD' } });
    await p;
    const all = lines.join('');
    expect(all).toContain('command final');
    expect(all).not.toContain('hunter2-PASSWORD');
    expect(all).not.toContain('TICKET-SECRETISH');
  });
});

describe('stableStringify', () => {
  it('ignores key order and undefined fields', () => {
    expect(stableStringify({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: undefined } })).toBe(stableStringify({ a: { d: [1, { x: 1, y: 2 }] }, b: 1 }));
  });
});
