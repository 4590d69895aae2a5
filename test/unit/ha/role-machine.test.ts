import pino from 'pino';
import { mayServe, reduceRole, ROLE_TRANSITIONS, type RoleEvent, type RoleSnapshot } from '../../../src/ha/role-machine.js';
import { RoleManager } from '../../../src/ha/role-manager.js';

const silent = pino({ level: 'silent' });

describe('role reducer', () => {
  const cases: Array<[string, RoleSnapshot, RoleEvent, RoleSnapshot | null]> = [
    ['welcome standby', { state: 'unknown', epoch: null }, { type: 'granted', role: 'standby', epoch: 7 }, { state: 'standby', epoch: 7 }],
    ['welcome active', { state: 'unknown', epoch: null }, { type: 'granted', role: 'active', epoch: 7 }, { state: 'active', epoch: 7 }],
    ['promotion', { state: 'standby', epoch: 7 }, { type: 'granted', role: 'active', epoch: 8 }, { state: 'active', epoch: 8 }],
    ['demotion', { state: 'active', epoch: 8 }, { type: 'granted', role: 'standby', epoch: 9 }, { state: 'standby', epoch: 9 }],
    ['link lost while active', { state: 'active', epoch: 8 }, { type: 'link-lost' }, { state: 'unknown', epoch: 8 }],
    ['link lost while standby', { state: 'standby', epoch: 8 }, { type: 'link-lost' }, { state: 'unknown', epoch: 8 }],
    ['link lost while unknown', { state: 'unknown', epoch: 8 }, { type: 'link-lost' }, null],
    ['resign while active', { state: 'active', epoch: 8 }, { type: 'resign' }, { state: 'resigning', epoch: 8 }],
    ['resign while standby', { state: 'standby', epoch: 8 }, { type: 'resign' }, null],
    ['grant while resigning is ignored', { state: 'resigning', epoch: 8 }, { type: 'granted', role: 'active', epoch: 9 }, null],
    ['stop', { state: 'resigning', epoch: 8 }, { type: 'stop' }, { state: 'stopped', epoch: 8 }],
    ['stop twice', { state: 'stopped', epoch: 8 }, { type: 'stop' }, null],
  ];
  it.each(cases)('%s', (_name, from, event, expected) => {
    const step = reduceRole(from, event);
    expect(step?.next ?? null).toEqual(expected);
    if (step && step.next.state !== from.state) {
      expect(ROLE_TRANSITIONS[from.state]).toContain(step.next.state);
    }
  });

  it('flags an epoch that goes backwards', () => {
    expect(reduceRole({ state: 'standby', epoch: 9 }, { type: 'granted', role: 'active', epoch: 3 })?.epochWentBack).toBe(true);
    expect(reduceRole({ state: 'standby', epoch: 9 }, { type: 'granted', role: 'active', epoch: 10 })?.epochWentBack).toBe(false);
  });

  it('serves only as active at its own epoch', () => {
    expect(mayServe({ state: 'active', epoch: 8 }, 8)).toBe(true);
    expect(mayServe({ state: 'active', epoch: 8 }, 7)).toBe(false);
    expect(mayServe({ state: 'active', epoch: 8 }, 9)).toBe(false);
    expect(mayServe({ state: 'standby', epoch: 8 }, 8)).toBe(false);
    expect(mayServe({ state: 'resigning', epoch: 8 }, 8)).toBe(false);
    expect(mayServe({ state: 'unknown', epoch: 8 }, 8)).toBe(false);
  });
});

describe('RoleManager', () => {
  it('applies events, reports the port view and notifies listeners once per change', () => {
    let t = 1000;
    const roles = new RoleManager(silent, () => t);
    const changes: string[] = [];
    roles.onChange((c) => changes.push(`${c.from.state}->${c.to.state}@${c.to.epoch}`));
    expect(roles.current()).toEqual({ role: 'unknown', epoch: null });
    roles.apply({ type: 'granted', role: 'standby', epoch: 3 });
    t = 2000;
    roles.apply({ type: 'granted', role: 'active', epoch: 4 });
    expect(roles.current()).toEqual({ role: 'active', epoch: 4 });
    expect(roles.lastChangeAt).toBe(2000);
    expect(roles.apply({ type: 'granted', role: 'active', epoch: 4 })).toBeNull();
    roles.apply({ type: 'resign' });
    expect(roles.current()).toEqual({ role: 'standby', epoch: 4 });
    roles.apply({ type: 'stop' });
    expect(changes).toEqual(['unknown->standby@3', 'standby->active@4', 'active->resigning@4', 'resigning->stopped@4']);
  });
});
