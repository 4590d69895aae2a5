import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCredgw } from '../helpers/cli.js';

const isRoot = process.getuid?.() === 0;
let dir: string;
let cfg: (args: string[], env?: NodeJS.ProcessEnv) => ReturnType<typeof runCredgw>;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'credgw-cli-config-'));
  cfg = (args, env) => runCredgw(['--config-dir', dir, ...args], env);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const mode = (path: string) => statSync(path).mode & 0o777;
const file = () => join(dir, 'config.json');
const fileJson = () => JSON.parse(readFileSync(file(), 'utf8')) as Record<string, unknown>;

describe('credgw config', () => {
  it('init writes a valid 0600 starting point, refuses to overwrite, and --force keeps the mode', async () => {
    const first = await cfg(['config', 'init']);
    expect(first).toMatchObject({ code: 0, err: '' });
    expect(first.out).toContain(`wrote ${file()}`);
    // The unit's naming: a token in <config dir>/credentials/NAME is credential://credgw_NAME.
    expect(first.out).toContain(`next: put the API key in ${join(dir, 'credentials')}/NAME (root:credgw 0640), then: credgw vault add NAME --url https://pmp.example:7272 --token credential://credgw_NAME`);
    expect(JSON.stringify(fileJson())).not.toMatch(/credential:\/\/(?!credgw_)/);
    expect(mode(file())).toBe(0o600);
    expect(fileJson()).toMatchObject({ controller: null, vaults: [], '//': expect.stringContaining('docs/configuration.md') });
    expect((await cfg(['config', 'validate'])).code).toBe(0);

    const again = await cfg(['config', 'init']);
    expect(again.code).toBe(1);
    expect(again.err).toBe(`error: CONFIG_EXISTS: ${file()} already exists; use --force to overwrite it\n`);

    chmodSync(file(), 0o640);
    expect((await cfg(['config', 'init', '--force'])).code).toBe(0);
    expect(mode(file())).toBe(0o640);
  });

  it('validate: exit 0 with a summary, or exit 1 with the key path of every problem', async () => {
    const good = join(dir, 'good.json');
    writeFileSync(good, readFileSync(new URL('../../config/credgw.example.json', import.meta.url)));
    expect(await cfg(['config', 'validate', good])).toEqual({
      code: 0,
      out: `${good}: valid (1 vault, controller wss://cloud.example.com/gateway)\n`,
      err: '',
    });

    const bad = join(dir, 'bad.json');
    writeFileSync(
      bad,
      JSON.stringify({
        gatewayId: 'gw-a',
        clusterId: 'site-1',
        controller: { url: 'ws://cloud.example.com/gateway', token: 'f00dfeed-literal-token', certFile: '/etc/credgw/c.pem' },
        vaults: [{ name: 'pmp', url: 'https://pmp:7272/restapi', token: 'env://T' }],
        telemetry: { listen: '0.0.0.0:9469' },
      }),
    );
    const res = await cfg(['config', 'validate', bad]);
    expect(res.code).toBe(1);
    expect(res.out).toBe('');
    const lines = res.err.trimEnd().split('\n');
    expect(lines.slice(0, -1).sort()).toEqual(
      [
        `${bad}: controller.token: must be a secret reference (file:///absolute/path, env://NAME or credential://NAME), never the token itself: put the token in /etc/credgw/credentials/<name> (root:credgw, chmod 640; credgw.service passes it on with LoadCredential=) and write credential://credgw_<name>, or in another file others cannot read (chmod o-rwx) and write file:///path/to/it`,
        `${bad}: controller.url: must be wss:// (ws:// is allowed only with controller.insecure true)`,
        `${bad}: controller.keyFile: is required when controller.certFile is set`,
        `${bad}: vaults[0].url: must be https://host[:port] with no path, query or fragment`,
        `${bad}: telemetry.listen: must be on loopback (127.0.0.1, [::1] or localhost)`,
      ].sort(),
    );
    expect(lines.at(-1)).toBe(`error: CONFIG_INVALID: 5 problems in ${bad}`);
    expect(res.err).not.toContain('f00dfeed');

    writeFileSync(bad, '{"vaults": [}');
    expect(await cfg(['config', 'validate', bad])).toEqual({
      code: 1,
      out: '',
      err: `${bad}: (file): not valid JSON (at line 1, column 13)\nerror: CONFIG_INVALID: 1 problem in ${bad}\n`,
    });
    const missing = await cfg(['config', 'validate']);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain(`cannot read ${file()} (ENOENT)`);
  });

  it('validate --secrets: reads every token reference, one problem per key path, never a value', async () => {
    const secret = 'validate-secret-Zx81q';
    mkdirSync(join(dir, 'credentials'), { mode: 0o750 });
    const token = (name: string, content: string, fileMode: number): string => {
      const path = join(dir, 'credentials', name);
      writeFileSync(path, content, { mode: fileMode });
      chmodSync(path, fileMode);
      return path;
    };
    token('controller', `${secret}\n`, 0o640);
    token('good', secret, 0o600);
    const config = (vaultTokens: string[]) =>
      writeFileSync(
        file(),
        JSON.stringify({
          gatewayId: 'gw-a',
          clusterId: 'site-1',
          controller: { url: 'wss://ctl.example:443/gateway', token: 'credential://credgw_controller' },
          vaults: vaultTokens.map((t, i) => ({ name: `v${i}`, url: 'https://pmp.example:7272', token: t })),
        }),
        { mode: 0o600 },
      );
    config(['credential://credgw_good']);
    expect(await cfg(['config', 'validate', '--secrets'])).toEqual({
      code: 0,
      out: `${file()}: valid (1 vault, controller wss://ctl.example:443/gateway)\n${file()}: secrets: 2 readable (controller.token, vaults[0].token)\n`,
      err: '',
    });
    // Without --secrets, the same problems pass unnoticed: the schema sees only references.
    const open = token('open', secret, 0o644);
    const groupWritable = token('shared', secret, 0o660);
    token('empty', '\n', 0o600);
    config(['credential://credgw_missing', 'credential://credgw_open', 'credential://credgw_shared', 'credential://credgw_empty', 'env://UNSET_TOKEN']);
    expect((await cfg(['config', 'validate'])).code).toBe(0);
    const bad = await cfg(['config', 'validate', '--secrets']);
    expect(bad.code).toBe(1);
    expect(bad.err.split('\n').filter(Boolean)).toEqual([
      `${file()}: vaults[0].token: credential://credgw_missing: ${join(dir, 'credentials', 'missing')} does not exist`,
      `${file()}: vaults[1].token: credential://credgw_open: ${open} is accessible to other users (mode 0644); run: chmod o-rwx ${open}`,
      `${file()}: vaults[2].token: credential://credgw_shared: ${groupWritable} is writable by its group (mode 0660); run: chmod g-w ${groupWritable}`,
      `${file()}: vaults[3].token: credential://credgw_empty: is empty`,
      `${file()}: vaults[4].token: env://UNSET_TOKEN: environment variable UNSET_TOKEN is not set`,
      `error: SECRET_UNAVAILABLE: 5 problems with the secrets of ${file()}`,
    ]);
    expect(bad.out + bad.err).not.toContain(secret);

    // controller.proxyPassword is a secret like the tokens, and is checked with them.
    writeFileSync(
      file(),
      JSON.stringify({
        gatewayId: 'gw-a',
        clusterId: 'site-1',
        controller: { url: 'wss://ctl.example:443/gateway', token: 'credential://credgw_controller', proxy: 'http://svc@proxy:3128', proxyPassword: 'credential://credgw_proxy' },
      }),
      { mode: 0o600 },
    );
    const proxy = await cfg(['config', 'validate', '--secrets']);
    expect(proxy.code).toBe(1);
    expect(proxy.err).toContain(`${file()}: controller.proxyPassword: credential://credgw_proxy: ${join(dir, 'credentials', 'proxy')} does not exist\n`);
  });

  it('show prints the effective config without secrets; --raw prints the file', async () => {
    writeFileSync(
      file(),
      JSON.stringify({
        gatewayId: 'gw-a',
        clusterId: 'site-1',
        controller: {
          url: 'wss://c.example/gw',
          token: 'file:///etc/credgw/controller.token',
          proxy: 'http://bob@proxy:3128',
          proxyPassword: 'credential://proxy-password',
        },
      }),
      { mode: 0o600 },
    );
    const shown = await cfg(['config', 'show']);
    expect(shown.code).toBe(0);
    const parsed = JSON.parse(shown.out) as { controller: Record<string, unknown>; limits: unknown };
    expect(parsed.controller['token']).toBe('file:///etc/credgw/controller.token');
    expect(parsed.controller['proxy']).toBe('http://bob@proxy:3128');
    expect(parsed.controller['proxyPassword']).toBe('credential://proxy-password');
    expect(parsed.limits).toEqual({ maxInFlight: 256, maxQueued: 4096, drainTimeoutMs: 10000 });

    // A password written into the proxy URL is refused; --raw still shows the file with it masked.
    writeFileSync(
      file(),
      JSON.stringify({
        gatewayId: 'gw-a',
        clusterId: 'site-1',
        controller: { url: 'wss://c.example/gw', token: 'file:///etc/credgw/controller.token', proxy: 'http://bob:hunter2@proxy:3128' },
      }),
      { mode: 0o600 },
    );
    const refused = await cfg(['config', 'show']);
    expect(refused.code).not.toBe(0);
    expect(refused.err).toContain('controller.proxy: must not contain a password');
    expect(refused.err + refused.out).not.toContain('hunter2');
    const raw = await cfg(['config', 'show', '--raw']);
    expect(JSON.parse(raw.out)).not.toHaveProperty('limits');
    expect(JSON.parse(raw.out).controller.proxy).toBe('http://bob:***@proxy:3128');
    expect(raw.out).not.toContain('hunter2');
  });

  it('set / unset: validated, atomic, mode kept', async () => {
    await cfg(['config', 'init']);
    chmodSync(file(), 0o640);
    expect(await cfg(['config', 'set', 'telemetry.logLevel', 'debug'])).toEqual({ code: 0, out: `set telemetry.logLevel in ${file()}\n`, err: '' });
    expect((fileJson()['telemetry'] as Record<string, unknown>)['logLevel']).toBe('debug');
    expect(mode(file())).toBe(0o640);

    const bad = await cfg(['config', 'set', 'limits.maxInFlight', '0']);
    expect(bad.code).toBe(1);
    expect(bad.err).toBe(`error: CONFIG_INVALID: invalid configuration in ${file()} (1 problem): limits.maxInFlight: must be at least 1\n`);
    expect((fileJson()['limits'] as Record<string, unknown>)['maxInFlight']).toBe(256);

    const typo = await cfg(['config', 'set', 'telemetry.logLvl', 'debug']);
    expect(typo.err).toContain('telemetry.logLvl: is not a known key (did you mean logLevel?)');

    expect((await cfg(['config', 'set', 'vaults.nope.url', 'https://x'])).code).toBe(2);
    expect((await cfg(['config', 'set', '__proto__.x', '1'])).code).toBe(2);

    expect((await cfg(['config', 'unset', 'telemetry.logLevel'])).out).toBe(`removed telemetry.logLevel from ${file()}\n`);
    expect(fileJson()['telemetry']).not.toHaveProperty('logLevel');
    expect(mode(file())).toBe(0o640);
  });

  (isRoot ? it : it.skip)('rewrites keep owner and group (root:credgw-like 0640 file)', async () => {
    await cfg(['config', 'init']);
    chownSync(file(), 0, 65534);
    chmodSync(file(), 0o640);
    expect((await cfg(['vault', 'add', 'pmp', '--url', 'https://pmp:7272', '--token', 'credential://pmp'])).code).toBe(0);
    expect((await cfg(['config', 'set', 'priority', '50'])).code).toBe(0);
    const st = statSync(file());
    expect([st.uid, st.gid, st.mode & 0o777]).toEqual([0, 65534, 0o640]);
  });

  it('reads the directory from CREDGW_CONFIG_DIR', async () => {
    expect((await runCredgw(['config', 'init'], { CREDGW_CONFIG_DIR: dir })).code).toBe(0);
    expect(mode(file())).toBe(0o600);
  });
});

describe('exit codes and usage errors', () => {
  it.each([
    [['bogus'], "error: USAGE: unknown command 'bogus' (see --help)\n"],
    [['vault', 'add', 'x', '--token', 'env://T'], "error: USAGE: required option '--url <url>' not specified (see --help)\n"],
    [['vault', 'remove'], "error: USAGE: missing required argument 'name' (see --help)\n"],
    [['vault', 'list', '--nope'], "error: USAGE: unknown option '--nope' (see --help)\n"],
    [['config', 'validate', 'a', 'b'], expect.stringMatching(/^error: USAGE: too many arguments/)],
  ])('%j exits 2', async (args, err) => {
    const res = await cfg(args);
    expect(res.code).toBe(2);
    expect(res.err).toEqual(err);
  });

  it('a literal token on the command line is a usage error that does not echo it', async () => {
    const res = await cfg(['vault', 'add', 'pmp', '--url', 'https://pmp:7272', '--token', 'f00dfeed-literal-token']);
    expect(res.code).toBe(2);
    expect(res.err).toMatch(/^error: USAGE: --token must be a secret reference/);
    expect(res.err).not.toContain('f00dfeed');
  });

  it('vault add option mistakes name the option', async () => {
    expect((await cfg(['vault', 'add', 'pmp', '--url', 'http://pmp', '--token', 'env://T'])).err).toBe('error: USAGE: --url: must be https://host[:port]\n');
    expect((await cfg(['vault', 'add', 'pmp', '--url', 'https://pmp/x', '--token', 'env://T'])).err).toBe(
      'error: USAGE: --url: must be https://host[:port] with no path, query or fragment\n',
    );
    expect((await cfg(['vault', 'add', 'pmp', '--url', 'https://pmp', '--token', 'env://T', '--pin', 'abc'])).code).toBe(2);
    const ca = await cfg(['vault', 'add', 'pmp', '--url', 'https://pmp', '--token', 'env://T', '--ca-file', join(dir, 'none.pem')]);
    expect(ca.code).toBe(2);
    expect(ca.err).toContain('--ca-file: cannot read CA file');
  });

  it('help and version exit 0', async () => {
    const help = await cfg(['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('Usage: credgw');
    expect(help.out).toContain('--config-dir <dir>');
    expect((await cfg(['vault', '--help'])).code).toBe(0);
    expect((await cfg(['--version'])).code).toBe(0);
  });

  it('a command group without a subcommand shows help and exits 2', async () => {
    const res = await cfg(['vault']);
    expect(res.code).toBe(2);
    expect(res.err).toContain('Usage: credgw vault');
  });
});

describe('credgw vault add / list / remove', () => {
  it('adds, lists and removes profiles, keeping the file mode', async () => {
    const add = await cfg(['vault', 'add', 'pmp-prod', '--url', 'https://pmp.corp.local:7272/', '--token', 'credential://pmp-prod', '--org-name', 'Acme', '--resource-id-attribute', 'PMP ID', '--include-account-notes', '--require-ticket-id', '--pin', 'sha256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=']);
    expect(add).toEqual({ code: 0, out: `added vault "pmp-prod" to ${file()}\ncheck it with: credgw vault test pmp-prod\n`, err: '' });
    expect(mode(file())).toBe(0o600);
    expect(fileJson()['vaults']).toEqual([
      {
        name: 'pmp-prod',
        url: 'https://pmp.corp.local:7272/',
        token: 'credential://pmp-prod',
        orgName: 'Acme',
        resourceIdAttribute: 'PMP ID',
        includeAccountNotes: true,
        requireTicketId: true,
        pinSha256: '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=',
      },
    ]);
    chmodSync(file(), 0o640);
    expect((await cfg(['vault', 'add', 'lab', '--url', 'https://lab:7272', '--token', 'env://LAB_TOKEN'])).code).toBe(0);
    expect(mode(file())).toBe(0o640);

    const dup = await cfg(['vault', 'add', 'LAB', '--url', 'https://lab:7272', '--token', 'env://LAB_TOKEN']);
    expect(dup.code).toBe(1);
    expect(dup.err).toMatch(/^error: VAULT_EXISTS: vault "LAB" already exists/);

    const list = await cfg(['vault', 'list']);
    expect(list.code).toBe(0);
    expect(list.out.split('\n')[0]).toMatch(/^NAME\s+URL\s+TOKEN\s+TRUST\s+ORG\s+RESOURCE ATTRIBUTE$/);
    expect(list.out).toMatch(/pmp-prod\s+https:\/\/pmp\.corp\.local:7272\/\s+credential:\/\/pmp-prod\s+pin 47DEQpj8HBSa…\s+Acme\s+PMP ID/);
    expect(list.out).toMatch(/lab\s+https:\/\/lab:7272\s+env:\/\/LAB_TOKEN\s+system roots\s+-\s+PMP Resource ID/);
    expect(JSON.parse((await cfg(['vault', 'list', '--json'])).out)).toHaveLength(2);

    expect(await cfg(['vault', 'remove', 'lab'])).toEqual({ code: 0, out: `removed vault "lab" from ${file()}\n`, err: '' });
    expect(mode(file())).toBe(0o640);
    const gone = await cfg(['vault', 'remove', 'lab']);
    expect(gone).toEqual({ code: 1, out: '', err: `error: UNKNOWN_VAULT: no vault named "lab" in ${file()}\n` });
    expect((fileJson()['vaults'] as unknown[]).length).toBe(1);
  });

  it('a profile command on an unknown vault is UNKNOWN_VAULT (exit 1)', async () => {
    const res = await cfg(['vault', 'accounts', 'nope', '301']);
    expect(res).toEqual({ code: 1, out: '', err: 'error: UNKNOWN_VAULT: no vault named "nope" (known: none)\n' });
  });
});
