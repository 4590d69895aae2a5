import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CREDENTIAL_ID, CREDENTIALS_SUBDIR, DEFAULT_CONFIG_DIR } from '../../../src/config/defaults.js';
import {
  credentialSourcePath,
  describeSecretRef,
  isSecretRef,
  parseSecretRef,
  readSecret,
  SecretError,
  type ReadSecretOptions,
} from '../../../src/config/secrets.js';

const UNIT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../systemd/credgw.service');

const VALUE = 'tok-5f1e9a7c-0b2d-4c3e-8f6a-secret';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'credgw-secrets-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string, mode = 0o600): string {
  const path = join(dir, name);
  writeFileSync(path, content, { mode });
  chmodSync(path, mode);
  return path;
}

async function failure(ref: string, env: NodeJS.ProcessEnv = {}, options: ReadSecretOptions = {}): Promise<SecretError> {
  try {
    await readSecret(ref, env, options);
  } catch (err) {
    expect(err).toBeInstanceOf(SecretError);
    const e = err as SecretError;
    expect(e.code).toBe('SECRET_UNAVAILABLE');
    expect(e.message).not.toContain(VALUE);
    return e;
  }
  throw new Error(`readSecret(${ref}) did not fail`);
}

describe('parseSecretRef / describeSecretRef', () => {
  it('parses the three kinds', () => {
    expect(parseSecretRef('file:///etc/credgw/a%20b.token')).toEqual({ kind: 'file', path: '/etc/credgw/a b.token' });
    expect(parseSecretRef('env://PMP_TOKEN')).toEqual({ kind: 'env', name: 'PMP_TOKEN' });
    expect(parseSecretRef('credential://pmp-prod')).toEqual({ kind: 'credential', name: 'pmp-prod' });
  });

  it.each([VALUE, 'file://host/x', 'env://', 'env://A-B', 'credential://a/b', 'credential://..', 'https://x'])('%s is not a reference', (ref) => {
    expect(parseSecretRef(ref)).toBeUndefined();
    expect(isSecretRef(ref)).toBe(false);
  });

  it('describes a reference, and never shows a literal', () => {
    expect(describeSecretRef('env://PMP_TOKEN')).toBe('env://PMP_TOKEN');
    expect(describeSecretRef('file:///etc/credgw/x.token')).toBe('file:///etc/credgw/x.token');
    expect(describeSecretRef('credential://pmp')).toBe('credential://pmp');
    expect(describeSecretRef(VALUE)).toBe('<not a secret reference>');
  });
});

describe('readSecret', () => {
  it('file://: reads and trims the trailing newline', async () => {
    const path = file('ok.token', `${VALUE}\n`);
    await expect(readSecret(`file://${path}`, {})).resolves.toBe(VALUE);
  });

  it('file://: group-readable is fine (the service reads through its group)', async () => {
    const path = file('group.token', VALUE, 0o640);
    await expect(readSecret(`file://${path}`, {})).resolves.toBe(VALUE);
  });

  it('file://: refuses a file other users can read, with the chmod that fixes it', async () => {
    const path = file('world.token', VALUE, 0o644);
    const e = await failure(`file://${path}`);
    expect(e.reason).toBe('INSECURE_PERMISSIONS');
    expect(e.message).toBe(`file://${path}: ${path} is accessible to other users (mode 0644); run: chmod o-rwx ${path}`);
  });

  it('file://: missing, directory, empty, multi-line', async () => {
    expect((await failure(`file://${dir}/nope.token`)).message).toBe(`file://${dir}/nope.token: ${dir}/nope.token does not exist`);
    const sub = join(dir, 'adir');
    mkdirSync(sub, { mode: 0o700 });
    expect((await failure(`file://${sub}`)).reason).toBe('UNREADABLE');
    expect((await failure(`file://${file('empty.token', '\n')}`)).reason).toBe('EMPTY');
    const two = await failure(`file://${file('two.token', `${VALUE}\n${VALUE}\n`)}`);
    expect(two.reason).toBe('MALFORMED');
    expect(two.message).toMatch(/holds more than one line$/);
  });

  it('env://: reads the variable; unset and empty are errors naming the variable', async () => {
    await expect(readSecret('env://PMP_TOKEN', { PMP_TOKEN: ` ${VALUE} ` })).resolves.toBe(VALUE);
    expect((await failure('env://PMP_TOKEN', {})).message).toBe('env://PMP_TOKEN: environment variable PMP_TOKEN is not set');
    expect((await failure('env://PMP_TOKEN', { PMP_TOKEN: '' })).reason).toBe('EMPTY');
  });

  it('credential://: reads $CREDENTIALS_DIRECTORY/NAME', async () => {
    const creds = join(dir, 'creds');
    mkdirSync(creds, { mode: 0o700 });
    writeFileSync(join(creds, 'pmp-prod'), `${VALUE}\n`, { mode: 0o400 });
    await expect(readSecret('credential://pmp-prod', { CREDENTIALS_DIRECTORY: creds })).resolves.toBe(VALUE);
    expect((await failure('credential://other', { CREDENTIALS_DIRECTORY: creds })).reason).toBe('NOT_FOUND');
    const none = await failure('credential://pmp-prod', {});
    expect(none.reason).toBe('NO_CREDENTIALS_DIRECTORY');
    expect(none.message).toContain('LoadCredential=pmp-prod:');
  });

  it('credential://credgw_FILE outside systemd: <config dir>/credentials/FILE, the file the unit loads under that name', async () => {
    const configDir = join(dir, 'etc-credgw');
    mkdirSync(join(configDir, 'credentials'), { recursive: true, mode: 0o750 });
    writeFileSync(join(configDir, 'credentials', 'pmp-prod'), `${VALUE}\n`, { mode: 0o640 });
    await expect(readSecret('credential://credgw_pmp-prod', {}, { configDir })).resolves.toBe(VALUE);
    // Under systemd the private copy wins; the original is not consulted.
    const creds = join(dir, 'creds-private');
    mkdirSync(creds, { mode: 0o700 });
    writeFileSync(join(creds, 'credgw_pmp-prod'), 'from-systemd', { mode: 0o400 });
    await expect(readSecret('credential://credgw_pmp-prod', { CREDENTIALS_DIRECTORY: creds }, { configDir })).resolves.toBe('from-systemd');

    const missing = await failure('credential://credgw_controller', {}, { configDir });
    expect(missing.reason).toBe('NOT_FOUND');
    expect(missing.message).toBe(`credential://credgw_controller: ${join(configDir, 'credentials', 'controller')} does not exist`);

    const open = join(configDir, 'credentials', 'open');
    writeFileSync(open, VALUE, { mode: 0o644 });
    chmodSync(open, 0o644);
    const insecure = await failure('credential://credgw_open', {}, { configDir });
    expect(insecure.reason).toBe('INSECURE_PERMISSIONS');
    expect(insecure.message).toContain(`run: chmod o-rwx ${open}`);
  });

  it('credential:// outside systemd with another name: says where credgw_FILE is found and the drop-in line for this name', async () => {
    const configDir = join(dir, 'etc-other');
    const e = await failure('credential://pmp-prod', {}, { configDir });
    expect(e.reason).toBe('NO_CREDENTIALS_DIRECTORY');
    expect(e.message).toContain(`${join(configDir, 'credentials')}/FILE`);
    expect(e.message).toContain('credential://credgw_FILE');
    expect(e.message).toContain('LoadCredential=pmp-prod:/path/to/token');
    // The names systemd itself could not give a file of the directory.
    for (const name of ['credgw_', 'credgw_.', 'credgw_..']) expect(credentialSourcePath(name, configDir)).toBeUndefined();
    expect((await failure('credential://credgw_..', {}, { configDir })).reason).toBe('NO_CREDENTIALS_DIRECTORY');
    // Without a config dir (no CLI around it) the hint names the unit's convention, not a wrong LoadCredential= line.
    const bare = await failure('credential://credgw_pmp-prod', {});
    expect(bare.message).not.toContain('LoadCredential=credgw_pmp-prod');
    expect(bare.message).toContain('credential://credgw_FILE');
  });

  it("the unit's LoadCredential= is the directory and the name prefix the fallback uses", () => {
    const lines = readFileSync(UNIT, 'utf8').split('\n').filter((l) => l.startsWith('LoadCredential='));
    expect(lines).toEqual([`LoadCredential=${CREDENTIAL_ID}:${DEFAULT_CONFIG_DIR}/${CREDENTIALS_SUBDIR}`]);
    expect(credentialSourcePath(`${CREDENTIAL_ID}_pmp-prod`, DEFAULT_CONFIG_DIR)).toBe('/etc/credgw/credentials/pmp-prod');
  });

  it('a literal token is refused without being echoed', async () => {
    const e = await failure(VALUE);
    expect(e.reason).toBe('INVALID_REFERENCE');
    expect(e.message).toBe('<not a secret reference>: must be file:///absolute/path, env://NAME or credential://NAME');
  });

  it('reads again on every call (a rotated file takes effect)', async () => {
    const path = file('rotate.token', 'one');
    await expect(readSecret(`file://${path}`, {})).resolves.toBe('one');
    writeFileSync(path, 'two');
    await expect(readSecret(`file://${path}`, {})).resolves.toBe('two');
  });
});
