import { DEFAULT_STATE_DIR, OutboxError, resolveStateDir } from '../../../src/events/index.js';

describe('resolveStateDir (protocol section 11)', () => {
  it.each([
    ['nothing set: the default', {}, { path: DEFAULT_STATE_DIR, from: 'default' }],
    ['the config', { configStateDir: '/srv/credgw' }, { path: '/srv/credgw', from: 'config' }],
    ['systemd over the config', { env: { STATE_DIRECTORY: '/var/lib/credgw-b' }, configStateDir: '/srv/credgw' }, { path: '/var/lib/credgw-b', from: 'env' }],
    ['--state-dir over everything', { env: { STATE_DIRECTORY: '/var/lib/x' }, configStateDir: '/srv/y', cliStateDir: '/tmp/z' }, { path: '/tmp/z', from: 'cli' }],
    ['the first of several systemd directories', { env: { STATE_DIRECTORY: '/var/lib/credgw:/var/lib/other' } }, { path: '/var/lib/credgw', from: 'env' }],
    ['empty values count as unset', { env: { STATE_DIRECTORY: '' }, configStateDir: ' ', cliStateDir: '' }, { path: DEFAULT_STATE_DIR, from: 'default' }],
    ['a path is normalised', { configStateDir: '/srv//credgw/./state/' }, { path: '/srv/credgw/state/', from: 'config' }],
    ['a relative --state-dir is relative to cwd', { cliStateDir: 'state', cwd: '/home/op' }, { path: '/home/op/state', from: 'cli' }],
  ])('%s', (_name, input, expected) => {
    expect(resolveStateDir({ env: {}, ...input })).toEqual(expected);
  });

  it.each([
    ['a relative --state-dir without cwd', { cliStateDir: 'state' }, '--state-dir state is relative'],
    ['a relative STATE_DIRECTORY', { env: { STATE_DIRECTORY: 'credgw' } }, 'STATE_DIRECTORY must be an absolute path'],
    ['a relative stateDir', { configStateDir: 'state' }, 'stateDir must be an absolute path'],
  ])('%s is refused', (_name, input, message) => {
    let caught: unknown;
    try {
      resolveStateDir({ env: {}, ...input });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(OutboxError);
    expect((caught as OutboxError).code).toBe('STATE_DIR_INVALID');
    expect((caught as Error).message).toContain(message);
  });

  it('reads no environment variable but STATE_DIRECTORY', () => {
    expect(resolveStateDir({ env: { CREDGW_STATE_DIR: '/x', HOME: '/root' } })).toEqual({ path: DEFAULT_STATE_DIR, from: 'default' });
  });
});
