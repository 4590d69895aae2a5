import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EpochStore, EpochStoreError } from '../../../src/sim/controller/epoch-store.js';

describe('EpochStore', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'credgw-epochs-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('in memory: starts at 0 and keeps what is set', () => {
    const s = new EpochStore();
    expect(s.get('site-1')).toBe(0);
    s.set('site-1', 3);
    expect(s.get('site-1')).toBe(3);
  });

  it('refuses to go back or stay (never reuse an epoch)', () => {
    const s = new EpochStore();
    s.set('site-1', 3);
    expect(() => s.set('site-1', 3)).toThrow(RangeError);
    expect(() => s.set('site-1', 2)).toThrow(RangeError);
    expect(() => s.set('site-1', 4.5)).toThrow(RangeError);
  });

  it('persists atomically and a new store reads it back', () => {
    const file = join(dir, 'state.json');
    const s = new EpochStore(file);
    s.set('site-1', 1);
    s.set('site-2', 7);
    s.set('site-1', 2);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ version: 1, clusters: { 'site-1': { epoch: 2 }, 'site-2': { epoch: 7 } } });
    expect(readdirSync(dir)).toEqual(['state.json']);
    const again = new EpochStore(file);
    expect(again.get('site-1')).toBe(2);
    expect(again.get('site-2')).toBe(7);
    expect(again.entries()).toHaveLength(2);
  });

  it('a missing file is an empty store', () => {
    expect(new EpochStore(join(dir, 'none.json')).get('x')).toBe(0);
  });

  it.each([
    ['not json', '{'],
    ['wrong version', '{"version":2,"clusters":{}}'],
    ['bad epoch', '{"version":1,"clusters":{"a":{"epoch":-1}}}'],
    ['bad cluster id', '{"version":1,"clusters":{"a b":{"epoch":1}}}'],
  ])('refuses a corrupt file (%s) with EPOCH_STATE_INVALID', (_name, text) => {
    const file = join(dir, 'state.json');
    writeFileSync(file, text);
    let caught: unknown;
    try {
      new EpochStore(file);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(EpochStoreError);
    expect((caught as EpochStoreError).code).toBe('EPOCH_STATE_INVALID');
  });
});
