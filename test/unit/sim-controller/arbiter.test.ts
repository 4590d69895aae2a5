import { describe, expect, it } from '@jest/globals';
import {
  arbitrate,
  bestCandidate,
  emptyCluster,
  type ArbiterEffect,
  type ArbiterEvent,
  type ArbiterGateway,
  type ClusterState,
} from '../../../src/sim/controller/arbiter.js';

const OK = [{ name: 'pmp', healthy: true }];
const DOWN = [{ name: 'pmp', healthy: false }];

type Step =
  | ['join', string, number, 'ok' | 'down', number]
  | ['leave', string, 'closed' | 'liveness' | 'replaced']
  | ['resign', string]
  | ['health', string, 'ok' | 'down'];

function toEvent(step: Step, now: number): ArbiterEvent {
  switch (step[0]) {
    case 'join':
      return { type: 'join', gatewayId: step[1], priority: step[2], vaults: step[3] === 'ok' ? OK : DOWN, now: step[4] };
    case 'leave':
      return { type: 'leave', gatewayId: step[1], reason: step[2], now };
    case 'resign':
      return { type: 'resign', gatewayId: step[1], now };
    case 'health':
      return { type: 'health', gatewayId: step[1], vaults: step[2] === 'ok' ? OK : DOWN, now };
  }
}

function run(steps: Step[], start: ClusterState = emptyCluster('site-1')): { state: ClusterState; effects: ArbiterEffect[][] } {
  let state = start;
  const effects: ArbiterEffect[][] = [];
  steps.forEach((s, i) => {
    const r = arbitrate(state, toEvent(s, 1000 + i));
    state = r.state;
    effects.push(r.effects);
    // Invariant after every event: at most one active, and it is activeId.
    const actives = state.gateways.filter((g) => g.role === 'active');
    expect(actives.length).toBeLessThanOrEqual(1);
    expect(actives[0]?.gatewayId ?? null).toBe(state.activeId);
  });
  return { state, effects };
}

function frames(effects: ArbiterEffect[]): string[] {
  return effects.filter((e) => e.type === 'welcome' || e.type === 'role').map((e) => `${e.type}:${(e as { gatewayId: string }).gatewayId}:${(e as { role: string }).role}:${(e as { epoch: number }).epoch}`);
}

describe('arbiter: who ends up active', () => {
  const table: Array<{ name: string; steps: Step[]; active: string | null; epoch: number }> = [
    { name: 'first gateway is granted at once', steps: [['join', 'a', 100, 'ok', 1]], active: 'a', epoch: 1 },
    { name: 'an unhealthy lone gateway is still granted', steps: [['join', 'a', 100, 'down', 1]], active: 'a', epoch: 1 },
    { name: 'a second gateway joins as standby', steps: [['join', 'a', 100, 'ok', 1], ['join', 'b', 100, 'ok', 2]], active: 'a', epoch: 1 },
    {
      name: 'no move back when a higher-priority gateway joins (no flapping)',
      steps: [['join', 'a', 10, 'ok', 1], ['join', 'b', 500, 'ok', 2]],
      active: 'a',
      epoch: 1,
    },
    {
      name: 'loss promotes the higher priority',
      steps: [['join', 'a', 10, 'ok', 1], ['join', 'b', 100, 'ok', 2], ['join', 'c', 200, 'ok', 3], ['leave', 'a', 'closed']],
      active: 'c',
      epoch: 2,
    },
    {
      name: 'loss promotes healthy over higher priority',
      steps: [['join', 'a', 10, 'ok', 1], ['join', 'b', 100, 'ok', 2], ['join', 'c', 200, 'down', 3], ['leave', 'a', 'liveness']],
      active: 'b',
      epoch: 2,
    },
    {
      name: 'equal priority: the one connected longest',
      steps: [['join', 'a', 10, 'ok', 1], ['join', 'c', 100, 'ok', 2], ['join', 'b', 100, 'ok', 3], ['leave', 'a', 'closed']],
      active: 'c',
      epoch: 2,
    },
    { name: 'loss of the last gateway leaves no active', steps: [['join', 'a', 10, 'ok', 1], ['leave', 'a', 'closed']], active: null, epoch: 1 },
    {
      name: 'a gateway joining an empty cluster after loss gets a new epoch',
      steps: [['join', 'a', 10, 'ok', 1], ['leave', 'a', 'closed'], ['join', 'a', 10, 'ok', 5]],
      active: 'a',
      epoch: 2,
    },
    { name: 'leave of a standby changes nothing', steps: [['join', 'a', 10, 'ok', 1], ['join', 'b', 10, 'ok', 2], ['leave', 'b', 'closed']], active: 'a', epoch: 1 },
    { name: 'resign promotes at once', steps: [['join', 'a', 10, 'ok', 1], ['join', 'b', 10, 'ok', 2], ['resign', 'a']], active: 'b', epoch: 2 },
    { name: 'resign with nobody to take over: no active', steps: [['join', 'a', 10, 'ok', 1], ['resign', 'a']], active: null, epoch: 1 },
    {
      name: 'a resigning gateway is never chosen again',
      steps: [['join', 'a', 500, 'ok', 1], ['join', 'b', 10, 'ok', 2], ['resign', 'a'], ['leave', 'b', 'closed']],
      active: null,
      epoch: 2,
    },
    { name: 'resign of a standby changes nothing', steps: [['join', 'a', 10, 'ok', 1], ['join', 'b', 10, 'ok', 2], ['resign', 'b']], active: 'a', epoch: 1 },
    {
      name: 'active loses all vaults while a standby is healthy: role moves',
      steps: [['join', 'a', 10, 'ok', 1], ['join', 'b', 10, 'ok', 2], ['health', 'a', 'down']],
      active: 'b',
      epoch: 2,
    },
    {
      name: 'active unhealthy, standby unhealthy: nothing moves',
      steps: [['join', 'a', 10, 'ok', 1], ['join', 'b', 10, 'down', 2], ['health', 'a', 'down']],
      active: 'a',
      epoch: 1,
    },
    {
      name: 'then the standby reports healthy: role moves',
      steps: [['join', 'a', 10, 'ok', 1], ['join', 'b', 10, 'down', 2], ['health', 'a', 'down'], ['health', 'b', 'ok']],
      active: 'b',
      epoch: 2,
    },
    {
      name: 'the old active recovers: no move back',
      steps: [['join', 'a', 500, 'ok', 1], ['join', 'b', 10, 'ok', 2], ['health', 'a', 'down'], ['health', 'a', 'ok']],
      active: 'b',
      epoch: 2,
    },
    {
      name: 'an unhealthy active hands over to a healthy gateway that joins',
      steps: [['join', 'a', 10, 'down', 1], ['join', 'b', 1, 'ok', 2]],
      active: 'b',
      epoch: 2,
    },
    {
      name: 'health move picks the best healthy standby',
      steps: [['join', 'a', 10, 'ok', 1], ['join', 'b', 300, 'down', 2], ['join', 'c', 20, 'ok', 3], ['join', 'd', 50, 'ok', 4], ['health', 'a', 'down']],
      active: 'd',
      epoch: 2,
    },
    {
      name: 'a standby going unhealthy changes nothing',
      steps: [['join', 'a', 10, 'ok', 1], ['join', 'b', 10, 'ok', 2], ['health', 'b', 'down']],
      active: 'a',
      epoch: 1,
    },
  ];
  it.each(table)('$name', ({ steps, active, epoch }) => {
    const { state } = run(steps);
    expect(state.activeId).toBe(active);
    expect(state.epoch).toBe(epoch);
  });
});

describe('arbiter: frames and epochs', () => {
  it('welcomes the first gateway as active at epoch 1 after persisting it', () => {
    const { effects } = run([['join', 'a', 10, 'ok', 1]]);
    expect(effects[0]!.map((e) => e.type)).toEqual(['persistEpoch', 'welcome', 'granted']);
    expect(frames(effects[0]!)).toEqual(['welcome:a:active:1']);
  });

  it('welcomes a standby with the current epoch and persists nothing', () => {
    const { effects } = run([['join', 'a', 10, 'ok', 1], ['join', 'b', 10, 'ok', 2]]);
    expect(effects[1]).toEqual([{ type: 'welcome', gatewayId: 'b', role: 'standby', epoch: 1 }]);
  });

  it('a health move tells the old active standby and the new active active, both at the new epoch', () => {
    const { state, effects } = run([['join', 'a', 10, 'ok', 1], ['join', 'b', 10, 'ok', 2], ['health', 'a', 'down']]);
    expect(effects[2]![0]).toEqual({ type: 'persistEpoch', clusterId: 'site-1', epoch: 2 });
    expect(frames(effects[2]!)).toEqual(['role:a:standby:2', 'role:b:active:2']);
    expect(state.gateways.map((g) => [g.gatewayId, g.role, g.epoch])).toEqual([
      ['a', 'standby', 2],
      ['b', 'active', 2],
    ]);
  });

  it('a resigning active gets no frame; the standby is granted', () => {
    const { state, effects } = run([['join', 'a', 10, 'ok', 1], ['join', 'b', 10, 'ok', 2], ['resign', 'a']]);
    expect(frames(effects[2]!)).toEqual(['role:b:active:2']);
    const a = state.gateways.find((g) => g.gatewayId === 'a')!;
    expect(a).toMatchObject({ role: 'standby', resigning: true, epoch: 1 });
  });

  it('an unhealthy active replaced by a joiner: the joiner is welcomed active, the old one told standby', () => {
    const { effects } = run([['join', 'a', 10, 'down', 1], ['join', 'b', 1, 'ok', 2]]);
    expect(frames(effects[1]!)).toEqual(['role:a:standby:2', 'welcome:b:active:2']);
  });

  it('loss reports the lost gateway as previous', () => {
    const { effects } = run([['join', 'a', 10, 'ok', 1], ['join', 'b', 10, 'ok', 2], ['leave', 'a', 'liveness']]);
    expect(effects[2]!.find((e) => e.type === 'granted')).toMatchObject({ gatewayId: 'b', epoch: 2, previous: 'a' });
    expect(frames(effects[2]!)).toEqual(['role:b:active:2']);
  });

  it('epochs strictly increase over a long sequence of changes and are never reused', () => {
    const steps: Step[] = [['join', 'a', 10, 'ok', 1], ['join', 'b', 10, 'ok', 2]];
    for (let i = 0; i < 20; i++) {
      const active = i % 2 === 0 ? 'a' : 'b';
      steps.push(['leave', active, 'closed'], ['join', active, 10, 'ok', 10 + i]);
    }
    const { state, effects } = run(steps);
    const granted = effects.flat().filter((e) => e.type === 'persistEpoch').map((e) => (e as { epoch: number }).epoch);
    expect(granted).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
    expect(state.epoch).toBe(21);
  });

  it('continues from a stored epoch (a restarted controller)', () => {
    const { state, effects } = run([['join', 'a', 10, 'ok', 1], ['join', 'b', 10, 'ok', 2]], emptyCluster('site-1', 41));
    expect(state.epoch).toBe(42);
    expect(frames(effects[0]!)).toEqual(['welcome:a:active:42']);
    expect(frames(effects[1]!)).toEqual(['welcome:b:standby:42']);
  });

  it('refuses events for unknown gateways and double joins (caller bugs)', () => {
    const { state } = run([['join', 'a', 10, 'ok', 1]]);
    expect(() => arbitrate(state, { type: 'leave', gatewayId: 'x', reason: 'closed', now: 1 })).toThrow(/not in cluster/);
    expect(() => arbitrate(state, { type: 'join', gatewayId: 'a', priority: 1, vaults: OK, now: 1 })).toThrow(/already joined/);
  });

  it('does not mutate the input state', () => {
    const { state } = run([['join', 'a', 10, 'ok', 1], ['join', 'b', 10, 'ok', 2]]);
    const before = JSON.stringify(state);
    arbitrate(state, { type: 'health', gatewayId: 'a', vaults: DOWN, now: 9 });
    expect(JSON.stringify(state)).toBe(before);
  });
});

describe('bestCandidate ordering', () => {
  const g = (gatewayId: string, healthy: boolean, priority: number, connectedAt: number, resigning = false): ArbiterGateway => ({
    gatewayId,
    healthy,
    priority,
    connectedAt,
    resigning,
    role: 'standby',
    epoch: 0,
    lastChange: { at: 0, reason: '' },
  });
  it.each([
    { list: [g('a', false, 900, 1), g('b', true, 1, 9)], best: 'b' },
    { list: [g('a', true, 1, 1), g('b', true, 2, 9)], best: 'b' },
    { list: [g('a', true, 5, 7), g('b', true, 5, 3)], best: 'b' },
    { list: [g('b', true, 5, 3), g('a', true, 5, 3)], best: 'a' },
    { list: [g('a', true, 900, 1, true), g('b', false, 1, 9)], best: 'b' },
    { list: [g('a', true, 900, 1, true)], best: undefined },
  ])('$best', ({ list, best }) => {
    expect(bestCandidate(list)?.gatewayId).toBe(best);
  });
});
