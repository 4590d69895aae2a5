import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  compileSchemaValidator,
  describeAjvErrors,
  PRECOMPILED_VALIDATOR,
  schemaFingerprint,
  type PrecompiledValidator,
} from '../../../src/config/schema-errors.js';
import { distDir } from '../../helpers/gateway-process.js';

// `npm run build` (which `npm test` runs first) writes the config schema's
// validator as standalone code into dist (scripts/build-config-validator.mjs);
// `credgw run` loads it instead of compiling the schema. These tests hold the
// built file to the schema in src: same fingerprint, same verdicts, same
// problem lines as the schema compiled with Ajv here.

const file = join(distDir(), 'config', PRECOMPILED_VALIDATOR);
const requireHere = createRequire(import.meta.url);

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

describe('the precompiled config validator (dist)', () => {
  it('is built, from the schema in src', () => {
    expect(existsSync(file)).toBe(true);
    const built = requireHere(file) as PrecompiledValidator;
    expect(typeof built).toBe('function');
    expect(built.schemaFingerprint).toBe(schemaFingerprint());
  });

  it('gives the same verdict and the same problem lines as the schema compiled with Ajv', () => {
    const built = requireHere(file) as PrecompiledValidator;
    const compiled = compileSchemaValidator();
    for (const [, raw] of CORPUS) {
      const verdict = compiled(raw);
      expect(built(raw)).toBe(verdict);
      expect(describeAjvErrors(built.errors)).toEqual(describeAjvErrors(compiled.errors));
    }
    // The corpus exercises both outcomes.
    expect(CORPUS.filter(([, raw]) => compiled(raw)).length).toBe(2);
  });

  it('is what the built config module validates with', async () => {
    const built = requireHere(file) as PrecompiledValidator;
    const mod = (await import(pathToFileURL(join(distDir(), 'config', 'schema-errors.js')).href)) as { schemaValidator: () => unknown };
    expect(mod.schemaValidator()).toBe(built);
  });
});
