import { join } from 'node:path';
import type { VaultProfile } from '../../src/config/types.js';
import { ManualClock, type Clock } from '../../src/shared/clock.js';
import { GatewayError } from '../../src/shared/errors.js';
import { createVaultClient, type VaultClient } from '../../src/vault/index.js';
import { pump, startHostileVault, type HostileVault } from '../helpers/hostile-vault.js';
import { testPki } from '../helpers/pki.js';
import { testVaultProfile } from '../helpers/vault-profile.js';

/**
 * The vault client against a vault that answers too much or too slowly, on
 * a real HTTPS server: an answer past `maxResponseBytes` is VAULT_ERROR and
 * its connection is closed (the server sees it) long before the answer
 * would have ended; a body that trickles under the limit still ends at the
 * profile's time-out. The deadline is a ManualClock, so nothing here waits
 * on the machine's speed.
 */

const pki = testPki();
const MAX = 64 * 1024;
const MB = 1024 * 1024;

function profileFor(url: string): VaultProfile {
  // timeoutMs on the ManualClock below: only the test ends a request by time.
  return testVaultProfile(url, { caFile: join(pki.dir, 'ca.crt'), timeoutMs: 60_000, maxResponseBytes: MAX });
}

async function failure(p: Promise<unknown>): Promise<GatewayError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  throw new Error('expected a GatewayError');
}

let vault: HostileVault;
let clock: ManualClock;
let c: VaultClient;
function client(clk: Clock = clock): VaultClient {
  c = createVaultClient(profileFor(vault.url), { peekToken: () => 'pmp-hostile-key', readToken: async () => 'pmp-hostile-key', clock: clk });
  return c;
}

beforeEach(async () => {
  vault = await startHostileVault({ certPem: pki.server.certPem, keyPem: pki.server.keyPem });
  clock = new ManualClock();
});
afterEach(async () => {
  await c?.close();
  await vault.close();
});

describe('maxResponseBytes', () => {
  it('a Content-Length of 100 MB is VAULT_ERROR and the connection is closed before the body is read', async () => {
    vault.handler = (_req, res, rec) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(100 * MB) });
      pump(res, rec, Buffer.alloc(64 * 1024, 0x20), 100 * MB);
    };
    const err = await failure(client().listResources());
    expect(err.code).toBe('VAULT_ERROR');
    expect(err.message).toMatch(/exceeded the size limit \(maxResponseBytes\)/);
    expect(err.detail).toBe(`Content-Length ${100 * MB} is over ${MAX} bytes`);
    const [rec] = vault.streams;
    await rec!.closed;
    expect(rec!.closedByClient).toBe(true);
    // What the socket buffers took before the close, not the 100 MB.
    expect(rec!.bytesWritten).toBeLessThan(50 * MB);
  });

  it('an endless chunked body is VAULT_ERROR once it passes the limit, and the connection is closed', async () => {
    // "Endless" up to 256 MiB, so that a client that never stops fails the test instead of hanging it.
    const endless = 256 * MB;
    vault.handler = (_req, res, rec) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      pump(res, rec, Buffer.alloc(16 * 1024, 0x20), endless);
    };
    const err = await failure(client().listResources());
    expect(err.code).toBe('VAULT_ERROR');
    expect(err.message).toMatch(/maxResponseBytes/);
    expect(err.detail).toBe(`body longer than ${MAX} bytes`);
    const [rec] = vault.streams;
    await rec!.closed;
    expect(rec!.closedByClient).toBe(true);
    expect(rec!.bytesWritten).toBeLessThan(endless / 4);
  });

  it('an answer of exactly maxResponseBytes is read whole', async () => {
    const envelope = JSON.stringify({ operation: { name: 'GET RESOURCES', result: { status: 'Success', message: 'ok' }, totalRows: 0 } });
    const body = envelope + ' '.repeat(MAX - envelope.length);
    vault.handler = (_req, res) => res.end(body);
    await expect(client().listResources()).resolves.toEqual([]);
  });

  it('a body that trickles under the limit still ends at the profile time-out, and its connection is closed', async () => {
    let timer: NodeJS.Timeout | undefined;
    vault.handler = (_req, res, rec) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{');
      rec.bytesWritten = 1;
      timer = setInterval(() => {
        if (res.destroyed) return;
        res.write(' ');
        rec.bytesWritten++;
      }, 2);
    };
    try {
      const pending = failure(client().listResources());
      // The answer is under way: headers and several body chunks are out.
      for (let i = 0; i < 10_000 && (vault.streams[0]?.bytesWritten ?? 0) < 5; i++) await new Promise((r) => setTimeout(r, 1));
      expect(vault.streams[0]?.bytesWritten).toBeGreaterThanOrEqual(5);
      clock.advance(60_000);
      const err = await pending;
      expect(err.code).toBe('VAULT_TIMEOUT');
      await vault.streams[0]!.closed;
      expect(vault.streams[0]!.closedByClient).toBe(true);
    } finally {
      clearInterval(timer);
    }
  });
});
