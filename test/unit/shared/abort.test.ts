import { jest } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CommandAbort, withSignal, type AbortLike } from '../../../src/shared/abort.js';
import { cliMain } from '../../helpers/gateway-process.js';

describe('CommandAbort', () => {
  it('fires every listener once, in order, functions and handleEvent objects alike', () => {
    const a = new CommandAbort();
    const seen: string[] = [];
    const obj = { handleEvent: () => seen.push('object') };
    a.addEventListener('abort', () => seen.push('first'));
    a.addEventListener('abort', obj);
    a.addEventListener('abort', () => seen.push('third'));
    a.abort('why');
    a.abort('again');
    expect(seen).toEqual(['first', 'object', 'third']);
    expect(a.aborted).toBe(true);
    expect(a.reason).toBe('why');
  });

  it('does not call removed listeners, whichever position they held', () => {
    const a = new CommandAbort();
    const seen: string[] = [];
    const one = (): number => seen.push('one');
    const two = (): number => seen.push('two');
    const three = (): number => seen.push('three');
    a.addEventListener('abort', one);
    a.addEventListener('abort', two);
    a.addEventListener('abort', three);
    a.removeEventListener('abort', one);
    a.removeEventListener('abort', three);
    a.removeEventListener('abort', () => undefined);
    a.abort(new Error('x'));
    expect(seen).toEqual(['two']);
  });

  it('never calls a listener added after the abort', () => {
    const a = new CommandAbort();
    a.abort('done');
    const late = jest.fn();
    a.addEventListener('abort', late);
    expect(late).not.toHaveBeenCalled();
  });

  // Jest takes uncaught exceptions for itself, so this runs in a node process of its own on the build.
  it('runs the other listeners when one throws, and raises that error afterwards as uncaught', () => {
    const abortJs = pathToFileURL(join(dirname(cliMain()), '..', 'shared', 'abort.js')).href;
    const script = `
      import { CommandAbort } from ${JSON.stringify(abortJs)};
      const a = new CommandAbort();
      a.addEventListener('abort', () => { throw new Error('listener bug'); });
      a.addEventListener('abort', () => console.log('second listener ran'));
      a.abort('stop');
      console.log('abort returned');`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 10_000 });
    expect(r.stdout).toBe('second listener ran\nabort returned\n');
    expect(r.stderr).toContain('Error: listener bug');
    expect(r.status).not.toBe(0);
  });

  it('serves withSignal like an AbortSignal does', async () => {
    for (const make of [() => new AbortController(), () => new CommandAbort()]) {
      const c = make();
      const signal: AbortLike = c instanceof AbortController ? c.signal : c;
      const pending = withSignal(new Promise(() => undefined), signal);
      c.abort('deadline');
      await expect(pending).rejects.toBe('deadline');
      await expect(withSignal(Promise.resolve(1), signal)).rejects.toBe('deadline');
    }
    await expect(withSignal(Promise.resolve(7), new CommandAbort())).resolves.toBe(7);
  });
});

describe('CommandAbort with a guard', () => {
  it('asks the guard each time aborted is read, and aborts with its reason (listeners fire once)', () => {
    let reason: unknown;
    let asked = 0;
    const signal = new CommandAbort(() => {
      asked++;
      return reason;
    });
    const fired: unknown[] = [];
    signal.addEventListener('abort', () => fired.push(signal.reason));
    expect(signal.aborted).toBe(false);
    expect(signal.aborted).toBe(false);
    expect(asked).toBe(2);
    reason = 'link lost';
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe('link lost');
    expect(fired).toEqual(['link lost']);
    reason = 'other';
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe('link lost');
    expect(asked).toBe(3); // not asked once aborted
  });

  it('an abort() before the guard objects keeps its own reason', () => {
    const signal = new CommandAbort(() => 'guard');
    signal.abort('deadline');
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe('deadline');
  });
});
