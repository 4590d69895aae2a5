import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, readConfigFile, resolveConfigDir } from '../../../src/config/index.js';
import { openConfigStore } from '../../../src/config/store.js';

const isRoot = process.getuid?.() === 0;
const VAULT = { name: 'pmp', url: 'https://127.0.0.1:7272', token: 'env://PMP_TOKEN' };

let base: string;
beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'credgw-store-'));
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('no ConfigError');
}

describe('config store', () => {
  it('resolves the directory from the option, then CREDGW_CONFIG_DIR, then /etc/credgw', () => {
    expect(resolveConfigDir('/x/y', { CREDGW_CONFIG_DIR: '/env' })).toBe('/x/y');
    expect(resolveConfigDir(undefined, { CREDGW_CONFIG_DIR: '/env' })).toBe('/env');
    expect(resolveConfigDir(undefined, {})).toBe('/etc/credgw');
  });

  it('reads an absent file as {} without creating the directory', () => {
    const dir = join(base, 'none');
    const store = openConfigStore(dir);
    expect(store.read()).toEqual({});
    expect(store.load().vaults).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  });

  it('creates config.json 0600 in a 0700 directory, atomically, leaving no temp file', () => {
    const dir = join(base, 'new');
    const store = openConfigStore(dir);
    store.update((draft) => {
      draft.vaults = [VAULT];
    });
    expect(statSync(store.path).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(readdirSync(dir)).toEqual(['config.json']);
    expect(JSON.parse(readFileSync(store.path, 'utf8'))).toEqual({ vaults: [VAULT] });
    expect(readFileSync(store.path, 'utf8').endsWith('}\n')).toBe(true);
    expect(store.read()).toEqual({ vaults: [VAULT] });
  });

  it('keeps the mode of an existing file across rewrites (0640 stays 0640)', () => {
    const store = openConfigStore(base);
    writeFileSync(store.path, '{}\n');
    chmodSync(store.path, 0o640);
    store.update((d) => ({ ...d, vaults: [VAULT] }));
    expect(statSync(store.path).mode & 0o777).toBe(0o640);
    chmodSync(store.path, 0o644);
    store.update((d) => {
      d.priority = 5;
    });
    expect(statSync(store.path).mode & 0o777).toBe(0o644);
  });

  (isRoot ? it : it.skip)('keeps owner and group across rewrites (run as root)', () => {
    const store = openConfigStore(base);
    writeFileSync(store.path, '{}\n', { mode: 0o640 });
    chownSync(store.path, 0, 65534);
    store.update((d) => {
      d.vaults = [VAULT];
    });
    let st = statSync(store.path);
    expect([st.uid, st.gid, st.mode & 0o777]).toEqual([0, 65534, 0o640]);
    chownSync(store.path, 65534, 65534);
    store.update((d) => {
      d.priority = 7;
    });
    st = statSync(store.path);
    expect([st.uid, st.gid, st.mode & 0o777]).toEqual([65534, 65534, 0o640]);
  });

  it('refuses to write an invalid result and leaves the file as it was', () => {
    const store = openConfigStore(base);
    store.update((d) => {
      d.vaults = [VAULT];
    });
    const before = readFileSync(store.path, 'utf8');
    const err = configError(() =>
      store.update((d) => {
        d.vaults!.push({ ...VAULT, name: 'PMP', token: 'literal-token-value' });
      }),
    );
    expect(err.problems).toEqual([
      expect.stringMatching(/^vaults\[1\]\.token: must be a secret reference/),
      'vaults[1].name: "PMP" is already used by vaults[0] (names are case-insensitive)',
    ]);
    expect(err.source).toBe(store.path);
    expect(err.message).not.toContain('literal-token-value');
    expect(readFileSync(store.path, 'utf8')).toBe(before);
  });

  it('reports a schema-invalid file with key paths (not conf\'s own error), and can still repair it', () => {
    const store = openConfigStore(base);
    writeFileSync(store.path, JSON.stringify({ vaults: [{ ...VAULT, url: 'http://x' }], telemetry: { logLevel: 'loud' } }), { mode: 0o600 });
    const err = configError(() => store.read());
    expect(err.problems).toEqual([
      'vaults[0].url: must be https://host[:port]',
      'telemetry.logLevel: must be one of "fatal", "error", "warn", "info", "debug", "trace", "silent"',
    ]);
    expect(configError(() => store.load()).problems).toHaveLength(2);
    store.update((d) => {
      d.vaults![0]!.url = 'https://x';
      delete d.telemetry;
    });
    expect(store.load().vaults[0]!.url).toBe('https://x');
  });

  it('load() applies the cross-field rules and names the file', () => {
    const store = openConfigStore(base);
    writeFileSync(store.path, JSON.stringify({ vaults: [VAULT, VAULT] }), { mode: 0o600 });
    const err = configError(() => store.load());
    expect(err.problems).toEqual(['vaults[1].name: "pmp" is already used by vaults[0] (names are case-insensitive)']);
    expect(err.message).toContain(store.path);
  });

  it('a file that is not JSON gives its line and column, never its text', () => {
    const file = join(base, 'bad.json');
    writeFileSync(file, '{\n  "vaults": [{"token": abcd-secret-token}]\n}\n');
    const err = configError(() => readConfigFile(file));
    expect(err.problems).toEqual(['(file): not valid JSON (at line 2, column 24)']);
    expect(err.message).not.toContain('abcd');
    expect(configError(() => readConfigFile(join(base, 'missing.json'))).problems).toEqual([
      `(file): cannot read ${join(base, 'missing.json')} (ENOENT)`,
    ]);
    writeFileSync(file, '[1]');
    expect(configError(() => readConfigFile(file)).problems).toEqual(['(root): must be an object']);
  });
});
