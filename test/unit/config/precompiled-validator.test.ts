import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import precompiled, { schemaFingerprint as precompiledFingerprint } from '../../../src/config/config-validator.js';
import { describeAjvErrors, schemaValidator } from '../../../src/config/schema-errors.js';
import { AJV_OPTIONS, configSchema, schemaFingerprint } from '../../../src/config/schema.js';
import { distDir } from '../../helpers/gateway-process.js';

// `npm run build` (which `npm test` runs first) writes the config schema's
// validator as standalone code into src/config and dist/config
// (scripts/build-config-validator.mjs); the config module imports it rather
// than compiling the schema. These tests hold the built file to the schema
// in src: same fingerprint, same verdicts, same problem lines as the schema
// compiled with Ajv here.

const SRC_FILE = new URL('../../../src/config/config-validator.js', import.meta.url);
const distFile = (): string => join(distDir(), 'config', 'config-validator.js');

function compileSchemaValidator(): ValidateFunction {
  return new Ajv2020({ ...AJV_OPTIONS }).compile(configSchema);
}

function vault(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'pmp-prod', url: 'https://pmp.corp.local:7272', token: 'credential://pmp-prod', ...extra };
}

function controller(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { url: 'wss://cloud.example.com/gateway', token: 'file:///etc/credgw/controller.token', ...extra };
}

/** Valid and invalid raw configs, touching every part of the schema. */
const CORPUS: Array<[string, unknown]> = [
  ['the minimal config', { gatewayId: 'gw-a', clusterId: 'site-1', controller: controller(), vaults: [vault()] }],
  [
    'the config of issue 2/4',
    {
      gatewayId: 'gw-a',
      clusterId: 'site-1',
      priority: 100,
      controller: controller({ insecure: false, caFile: null, pinSha256: null, certFile: null, keyFile: null, proxy: null, proxyPassword: null }),
      vaults: [vault({ resourceIdAttribute: 'PMP Resource ID', includeAccountNotes: true, requireTicketId: false, caFile: '/etc/credgw/pmp.pem', timeoutMs: 10000 })],
      policy: { allowResources: null, denyAccounts: [], maxFetchesPerAccountPerMinute: null },
      limits: { maxInFlight: 256 },
      telemetry: { listen: '127.0.0.1:9469', logLevel: 'info', audit: 'stdout' },
      '// note': 'comments are allowed',
    },
  ],
  ['not an object', []],
  ['null', null],
  ['an unknown top-level key', { gatewayId: 'gw-a', bogus: 1 }],
  ['wrong types everywhere', { gatewayId: 7, clusterId: true, priority: 'high', controller: 'wss://x', vaults: {}, policy: [], limits: 3, telemetry: 'x' }],
  ['a bad id and a priority out of range', { gatewayId: 'has space', clusterId: '', priority: -1 }],
  ['a controller without url and token, with extras', { controller: { insecure: 'yes', extra: true } }],
  ['a controller with bad patterns', { controller: controller({ url: 'https://not-ws', token: 'literal-secret', caFile: 'relative.pem', proxy: 'https://proxy:3128', proxyPassword: 'hunter2', pinSha256: '' }) }],
  ['vault problems', { vaults: [vault({ url: 'http://plain', token: 'x', timeoutMs: 50, maxConnections: 0, orgName: '', bogus: 1 }), { name: '-bad' }, 'string'] }],
  ['policy problems', { policy: { allowResources: [1, ''], denyAccounts: 'root', maxFetchesPerAccountPerMinute: 0.5, extra: null } }],
  ['limits and telemetry problems', { limits: { maxInFlight: 0, drainTimeoutMs: 700000, x: 1 }, telemetry: { logLevel: 'loud', audit: 'relative/file', listen: '' } }],
  ['limits just past their bounds', { priority: 1000001, limits: { maxInFlight: 100001, drainTimeoutMs: -1 } }],
  ['a long value', { vaults: [vault({ resourceIdAttribute: 'x'.repeat(300) })] }],
  [
    'token kinds, organisations and paging',
    {
      vaults: [
        vault({ tokenKind: 'integration', appName: 'ITOM', orgNameAttribute: 'Org', accountPaging: 'off' }),
        vault({ name: 'b', tokenKind: 'app', appName: '', orgName: '', orgNameAttribute: 7, accountPaging: true }),
      ],
    },
  ],
];

describe('the precompiled config validator', () => {
  it('is built, from the schema in src, the same in src/ and dist/', () => {
    expect(typeof precompiled).toBe('function');
    expect(precompiledFingerprint).toBe(schemaFingerprint());
    expect(readFileSync(distFile(), 'utf8')).toBe(readFileSync(SRC_FILE, 'utf8'));
  });

  it('gives the same verdict and the same problem lines as the schema compiled with Ajv', () => {
    const compiled = compileSchemaValidator();
    for (const [, raw] of CORPUS) {
      const verdict = compiled(raw);
      expect(precompiled(raw)).toBe(verdict);
      expect(describeAjvErrors(precompiled.errors)).toEqual(describeAjvErrors(compiled.errors));
    }
    // The corpus exercises both outcomes.
    expect(CORPUS.filter(([, raw]) => compiled(raw)).length).toBe(2);
  });

  it('is what the config module validates with, in src/ and in dist/', async () => {
    expect(schemaValidator()).toBe(precompiled);
    const built = (await import(pathToFileURL(distFile()).href)) as { default: unknown };
    const mod = (await import(pathToFileURL(join(distDir(), 'config', 'schema-errors.js')).href)) as { schemaValidator: () => unknown };
    expect(mod.schemaValidator()).toBe(built.default);
  });

  it('is refused once the schema has changed since it was generated', async () => {
    // dist's config module beside a validator stamped for another schema.
    const dir = mkdtempSync(join(tmpdir(), 'credgw-validator-'));
    try {
      for (const f of ['schema-errors.js', 'schema.js', 'defaults.js']) copyFileSync(join(distDir(), 'config', f), join(dir, f));
      writeFileSync(join(dir, 'config-validator.js'), 'export default () => true;\nexport const schemaFingerprint = "0".repeat(64);\n');
      writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
      const mod = (await import(pathToFileURL(join(dir, 'schema-errors.js')).href)) as { schemaProblems: (raw: unknown) => string[] };
      expect(() => mod.schemaProblems({})).toThrow('the config validator (config-validator.js) was generated from another config schema: run npm run build');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
