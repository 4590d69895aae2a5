import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { VaultProfile } from '../../src/config/types.js';
import { ManualClock, systemClock, type Clock } from '../../src/shared/clock.js';
import { GatewayError } from '../../src/shared/errors.js';
import { codeOf } from '../helpers/error-code.js';
import {
  SAMPLE_ORG_NAME,
  SAMPLE_TOKEN,
  SAMPLE_TOKEN_ORG,
  SAMPLE_TOKEN_WRONG_HOST,
  startPmpSimulator,
  type PmpSimulator,
  type PmpVariant,
} from '../../src/sim/pmp/index.js';
import { CONNECT_RETRY_DELAYS_MS, createVaultClient, type VaultClient } from '../../src/vault/index.js';
import { testPki } from '../helpers/pki.js';
import { testVaultProfile } from '../helpers/vault-profile.js';

/**
 * The vault client against the PMP simulator over real TLS (CA-signed
 * simulator certificate, the profile trusting the test CA): every error
 * code the client can produce, the request counts that prove caching and
 * no re-sent password fetch, and logs without secrets.
 */

const pki = testPki();
const P = '/restapi/json/v1/resources';

function profileFor(sim: PmpSimulator, over: Partial<VaultProfile> = {}): VaultProfile {
  return testVaultProfile(sim.url, { caFile: join(pki.dir, 'ca.crt'), maxConnections: 4, ...over });
}


/** Waits (on the event loop, not on time) until the simulator has seen `n` requests on `path`. */
async function untilRequests(sim: PmpSimulator, path: string, n: number): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if ((sim.stats().byPath[path] ?? 0) >= n) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`simulator never saw ${n} requests on ${path}`);
}

/** Whether `p` settles within `turns` turns of the event loop (ordering, not time). */
async function settlesWithin(p: Promise<unknown>, turns: number): Promise<boolean> {
  let settled = false;
  p.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let i = 0; i < turns && !settled; i++) await new Promise((r) => setImmediate(r));
  return settled;
}

const sims: PmpSimulator[] = [];
const clients: VaultClient[] = [];
async function startSim(variant: PmpVariant = 'pmp-new'): Promise<PmpSimulator> {
  const sim = await startPmpSimulator({ tls: { certPem: pki.server.certPem, keyPem: pki.server.keyPem }, variant });
  sims.push(sim);
  return sim;
}
function client(profile: VaultProfile, opts: { token?: string; clock?: Clock; logger?: pino.Logger } = {}): VaultClient {
  const c = createVaultClient(profile, {
    readToken: async () => opts.token ?? SAMPLE_TOKEN,
    clock: opts.clock ?? systemClock,
    ...(opts.logger ? { logger: opts.logger } : {}),
  });
  clients.push(c);
  return c;
}

let sim: PmpSimulator;
beforeAll(async () => {
  sim = await startSim();
});
afterEach(async () => {
  sim.clearFaults();
  sim.resetStats();
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  await Promise.all(sims.map((s) => s.close()));
});

describe('resources', () => {
  it('lists resources and resolves names exactly, then case-insensitively, from one cached list', async () => {
    const c = client(profileFor(sim));
    const list = await c.listResources();
    expect(list.map((r) => [r.id, r.name])).toEqual([
      ['301', 'Windows_Jump_Box'],
      ['302', 'Linux_Web_01'],
      ['303', 'Decommissioned_Host'],
    ]);
    await expect(c.resolveResource('Windows_Jump_Box')).resolves.toEqual({ id: '301', name: 'Windows_Jump_Box' });
    await expect(c.resolveResource('linux_web_01')).resolves.toEqual({ id: '302', name: 'Linux_Web_01' });
    await expect(c.resolveResource('301')).resolves.toEqual({ id: '301', name: undefined });
    expect(sim.stats().requests).toBe(1);
  });

  it('a name not found is RESOURCE_NOT_FOUND after exactly one refresh of a cached list', async () => {
    const c = client(profileFor(sim));
    await c.listResources();
    expect(await codeOf(c.resolveResource('No_Such_Host'))).toBe('RESOURCE_NOT_FOUND');
    expect(sim.stats().byPath).toEqual({ [P]: 2 });
  });

  it.each(['../../user/regenerateAuthtoken', '..%2F..%2Fuser%2FregenerateAuthtoken', '301/accounts/902/password', '301?x=1', ' 301'])(
    'a path-injection "name" %j only ever causes the list call',
    async (name) => {
      const c = client(profileFor(sim));
      expect(await codeOf(c.resolveResource(name))).toBe('RESOURCE_NOT_FOUND');
      expect(sim.stats().byPath).toEqual({ [P]: 1 });
      expect(sim.stats().passwordFetches).toBe(0);
    },
  );

  it('IDs that are not digits are refused before any request', async () => {
    const c = client(profileFor(sim));
    expect(await codeOf(c.resolveResource('1234567890123456789'))).toBe('RESOURCE_NOT_FOUND');
    expect(await codeOf(c.listAccounts('../../user'))).toBe('RESOURCE_NOT_FOUND');
    expect(await codeOf(c.getPassword('301', '902/../903', {}))).toBe('ACCOUNT_NOT_FOUND');
    expect(await codeOf(c.accountNotes('301', '9x'))).toBe('ACCOUNT_NOT_FOUND');
    expect(await codeOf(c.resolveResource(''))).toBe('RESOURCE_NOT_FOUND');
    expect(sim.stats().requests).toBe(0);
  });
});

describe('accounts and notes', () => {
  it('newer PMP: notes from ACCOUNT_DESCRIPTION, no details calls', async () => {
    const c = client(profileFor(sim, { includeAccountNotes: true }));
    const list = await c.listAccounts('301');
    expect(list.resourceName).toBe('Windows_Jump_Box');
    expect(list.accounts.map((a) => [a.id, a.name, a.notes, a.ticketIdRequired, a.reasonRequired])).toEqual([
      ['902', 'administrator', 'Domain admin for the jump box', false, false],
      ['903', 'svc_backup', 'Backup service; change ticket needed', true, false],
      ['904', 'auditor', undefined, false, true],
      ['905', 'breakglass', 'Emergency only: approval required', false, false],
    ]);
    expect(sim.stats().byPath).toEqual({ [`${P}/301/accounts`]: 1 });
  });

  it('notes are left out unless asked for', async () => {
    const c = client(profileFor(sim));
    const list = await c.listAccounts('301');
    expect(list.accounts.every((a) => a.notes === undefined)).toBe(true);
    const withNotes = await c.listAccounts('301', { includeNotes: true });
    expect(withNotes.accounts[0]?.notes).toBe('Domain admin for the jump box');
    expect(sim.stats().requests).toBe(1);
  });

  it('older PMP (no ACCOUNT_DESCRIPTION): notes through one details call per account, then cached', async () => {
    const old = await startSim('pmp-old');
    const c = client(profileFor(old, { includeAccountNotes: true, notesConcurrency: 2 }));
    const list = await c.listAccounts('302');
    expect(list.accounts.map((a) => [a.id, a.passwdId, a.name, a.notes, a.accessDenied])).toEqual([
      ['911', '911', 'root', 'Not shared with the gateway', true],
      ['912', '1166', 'deploy', undefined, false],
      ['913', '913', 'oracle', 'DB owner', false],
    ]);
    const byPath = old.stats().byPath;
    expect(byPath[`${P}/302/accounts`]).toBe(1);
    for (const id of ['911', '912', '913']) expect(byPath[`${P}/302/accounts/${id}`]).toBe(1);
    await c.listAccounts('302');
    await expect(c.accountNotes('302', '913')).resolves.toBe('DB owner');
    expect(old.stats().requests).toBe(4);
  });

  it('older PMP: with a pick (a page), details calls only for the picked accounts', async () => {
    const old = await startSim('pmp-old');
    const c = client(profileFor(old, { includeAccountNotes: true }));
    const list = await c.listAccounts('302', { pick: (all) => all.filter((a) => a.name === 'oracle') });
    expect(list.accounts.find((a) => a.name === 'oracle')?.notes).toBe('DB owner');
    expect(list.accounts.find((a) => a.name === 'deploy')?.notes).toBeUndefined();
    const byPath = old.stats().byPath;
    expect(byPath[`${P}/302/accounts/913`]).toBe(1);
    for (const id of ['911', '912']) expect(byPath[`${P}/302/accounts/${id}`]).toBeUndefined();
  });

  it('PAM360 (numeric statusCode, fewer keys) parses the same', async () => {
    const pam = await startSim('pam360');
    const c = client(profileFor(pam, { includeAccountNotes: true }));
    const list = await c.listAccounts('302');
    expect(list.accounts.map((a) => a.name)).toEqual(['root', 'deploy', 'oracle']);
    await expect(c.getPassword('302', '912', {})).resolves.toMatchObject({ password: 'Sim-Deploy-Pass!', accountName: 'deploy' });
  });

  it('metadata expires after metadataTtlMs on the client clock', async () => {
    const clock = new ManualClock();
    const c = client(profileFor(sim, { metadataTtlMs: 1000 }), { clock });
    await c.listAccounts('301');
    await c.listAccounts('301');
    clock.advance(1000);
    await c.listAccounts('301');
    expect(sim.stats().byPath[`${P}/301/accounts`]).toBe(2);
  });

  it('an unknown resource is RESOURCE_NOT_FOUND', async () => {
    const c = client(profileFor(sim));
    expect(await codeOf(c.listAccounts('999'))).toBe('RESOURCE_NOT_FOUND');
    expect(await codeOf(c.getPassword('999', '1', {}))).toBe('RESOURCE_NOT_FOUND');
    expect(sim.stats().passwordFetches).toBe(0);
  });

  it('an unknown account is ACCOUNT_NOT_FOUND (details call too)', async () => {
    const c = client(profileFor(sim));
    expect(await codeOf(c.accountNotes('301', '999'))).toBe('ACCOUNT_NOT_FOUND');
  });
});

describe('getPassword', () => {
  it('fetches a password; in steady state a fetch is ONE request (the password call)', async () => {
    const c = client(profileFor(sim));
    await expect(c.getPassword('301', '902', {})).resolves.toEqual({
      resourceId: '301',
      accountId: '902',
      accountName: 'administrator',
      password: 'Sim-Adm1n-Pass!',
    });
    const before = sim.stats().requests;
    await c.getPassword('301', '902', {});
    expect(sim.stats().requests - before).toBe(1);
    expect(sim.stats().passwordFetches).toBe(2);
  });

  it('an account not in the list is ACCOUNT_NOT_FOUND after one refresh, with no password call', async () => {
    const c = client(profileFor(sim));
    await c.listAccounts('301');
    expect(await codeOf(c.getPassword('301', '999', {}))).toBe('ACCOUNT_NOT_FOUND');
    expect(sim.stats().byPath).toEqual({ [`${P}/301/accounts`]: 2 });
  });

  it.each([
    ['ticket-required without a ticket', '301', '903', {}, 'TICKET_ID_REQUIRED'],
    ['ticket-required with a blank ticket', '301', '903', { ticketId: '  ' }, 'TICKET_ID_REQUIRED'],
    ['reason-required without a reason', '301', '904', {}, 'REASON_REQUIRED'],
    ['ticket and reason, only a ticket', '302', '913', { ticketId: 'INC-1' }, 'REASON_REQUIRED'],
    ['#### (access denied to this API user)', '302', '911', { ticketId: 'T', reason: 'R' }, 'ACCESS_DENIED'],
  ] as const)('%s is refused before the password call', async (_n, rid, aid, req, code) => {
    const c = client(profileFor(sim));
    expect(await codeOf(c.getPassword(rid, aid, req))).toBe(code);
    expect(sim.stats().passwordFetches).toBe(0);
  });

  it('the profile can demand a ticket for every account', async () => {
    const c = client(profileFor(sim, { requireTicketId: true }));
    expect(await codeOf(c.getPassword('301', '902', {}))).toBe('TICKET_ID_REQUIRED');
    await expect(c.getPassword('301', '902', { ticketId: 'CHG-7' })).resolves.toMatchObject({ password: 'Sim-Adm1n-Pass!' });
  });

  it('sends REASON and TICKETID in INPUT_DATA', async () => {
    const c = client(profileFor(sim));
    await expect(c.getPassword('302', '913', { ticketId: 'INC-1042', reason: 'Remote console launch & "more"' })).resolves.toMatchObject({
      password: 'Sim-Oracle-Pass!',
    });
    await expect(c.getPassword('301', '903', { ticketId: 'INC-1' })).resolves.toMatchObject({ password: 'Sim-Backup-Pass!' });
    await expect(c.getPassword('301', '904', { reason: 'audit' })).resolves.toMatchObject({ password: 'Sim-Audit-Pass!' });
  });

  it('APPROVAL_REQUIRED: newer servers answer Failed', async () => {
    const c = client(profileFor(sim));
    expect(await codeOf(c.getPassword('301', '905', {}))).toBe('APPROVAL_REQUIRED');
    expect(sim.stats().passwordFetches).toBe(1);
  });

  it('APPROVAL_REQUIRED: older servers answer Success with "[Request]", never returned as a password', async () => {
    const old = await startSim('pmp-old');
    const c = client(profileFor(old));
    const err = await c.getPassword('301', '905', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).code).toBe('APPROVAL_REQUIRED');
    expect(JSON.stringify(err)).not.toContain('Sim-Breakglass');
  });
});

describe('authentication', () => {
  it('a bad key is ACCESS_DENIED on every call, PMP’s words in detail', async () => {
    const c = client(profileFor(sim), { token: 'not-a-real-key' });
    const err = (await c.probe().catch((e: unknown) => e)) as GatewayError;
    expect(err.code).toBe('ACCESS_DENIED');
    expect(err.detail).toMatch(/Authentication failed/);
    expect(await codeOf(c.listResources())).toBe('ACCESS_DENIED');
    expect(await codeOf(c.getPassword('301', '902', {}))).toBe('ACCESS_DENIED');
  });

  it('an API user bound to another host is ACCESS_DENIED', async () => {
    const c = client(profileFor(sim), { token: SAMPLE_TOKEN_WRONG_HOST });
    const err = (await c.listAccounts('301').catch((e: unknown) => e)) as GatewayError;
    expect(err.code).toBe('ACCESS_DENIED');
    expect(err.detail).toMatch(/not allowed to access from this host/);
  });

  it('sends orgName when the profile sets it', async () => {
    const withOrg = client(profileFor(sim, { orgName: SAMPLE_ORG_NAME }), { token: SAMPLE_TOKEN_ORG });
    await expect(withOrg.probe()).resolves.toBeUndefined();
    const without = client(profileFor(sim), { token: SAMPLE_TOKEN_ORG });
    expect(await codeOf(without.probe())).toBe('ACCESS_DENIED');
  });

  it('probe calls resourcetypes', async () => {
    const c = client(profileFor(sim));
    await c.probe();
    expect(sim.stats().byPath).toEqual({ [`${P}/resourcetypes`]: 1 });
  });
});

describe('vault failures', () => {
  it.each([
    ['HTTP 500', 'http500'],
    ['empty body', 'empty'],
    ['HTML instead of JSON', 'nonjson'],
  ] as const)('%s is VAULT_ERROR', async (_n, kind) => {
    const c = client(profileFor(sim));
    sim.inject({ kind });
    expect(await codeOf(c.probe())).toBe('VAULT_ERROR');
    expect(await codeOf(c.listAccounts('301'))).toBe('VAULT_ERROR');
  });

  it('a closed port is VAULT_UNREACHABLE after two retries with the bounded backoff', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const delays: number[] = [];
    const recording: Clock = { ...systemClock, setTimeout: (fn, ms) => (delays.push(ms), systemClock.setTimeout(fn, ms)) };
    const c = client(profileFor(sim, { url: `https://127.0.0.1:${port}` }), { clock: recording });
    expect(await codeOf(c.getPassword('301', '902', {}))).toBe('VAULT_UNREACHABLE');
    expect(delays.filter((d) => CONNECT_RETRY_DELAYS_MS.includes(d))).toEqual([...CONNECT_RETRY_DELAYS_MS]);
  });

  it('a hanging vault is VAULT_TIMEOUT when profile.timeoutMs passes on the clock', async () => {
    const clock = new ManualClock();
    const c = client(profileFor(sim), { clock });
    await c.listAccounts('301');
    sim.inject({ kind: 'hang', match: '/password' });
    const pending = codeOf(c.getPassword('301', '902', {}));
    await untilRequests(sim, `${P}/301/accounts/902/password`, 1);
    clock.advance(5000);
    expect(await pending).toBe('VAULT_TIMEOUT');
    expect(sim.stats().byPath[`${P}/301/accounts/902/password`]).toBe(1);
  });

  it('the caller’s abort rejects with its own reason, unchanged', async () => {
    const c = client(profileFor(sim));
    await c.listAccounts('301');
    sim.inject({ kind: 'hang', match: '/password' });
    const ac = new AbortController();
    const pending = c.getPassword('301', '902', {}, { signal: ac.signal });
    await untilRequests(sim, `${P}/301/accounts/902/password`, 1);
    const reason = new GatewayError('DEADLINE_EXCEEDED', 'deadline passed');
    ac.abort(reason);
    await expect(pending).rejects.toBe(reason);
    const pre = new AbortController();
    pre.abort('already');
    await expect(c.listResources({ signal: pre.signal })).rejects.toBe('already');
  });

  it('the time-out covers connecting: a vault that never finishes the TLS handshake is VAULT_TIMEOUT on the clock', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((s) => {
      sockets.add(s);
      s.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const port = (silent.address() as { port: number }).port;
      const clock = new ManualClock();
      // undici's own connect time-out (the same 60 s, on the real clock) must not be what ends it.
      const c = client(profileFor(sim, { url: `https://127.0.0.1:${port}`, timeoutMs: 60_000 }), { clock });
      const pending = codeOf(c.probe());
      for (let i = 0; i < 2000 && sockets.size === 0; i++) await new Promise((r) => setImmediate(r));
      expect(sockets.size).toBe(1);
      expect(await settlesWithin(pending, 20)).toBe(false);
      clock.advance(60_000);
      expect(await settlesWithin(pending, 20)).toBe(true);
      expect(await pending).toBe('VAULT_TIMEOUT');
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('a caller’s abort while the request waits for a connection rejects at once, and the request is never sent', async () => {
    const c = client(profileFor(sim, { maxConnections: 1 }));
    await c.listAccounts('301');
    sim.inject({ kind: 'hang', match: '/password', count: 1 });
    const first = c.getPassword('301', '902', {}, { signal: AbortSignal.abort('unused') }).catch((e: unknown) => e);
    expect(await first).toBe('unused');
    const hung = new AbortController();
    const hanging = c.getPassword('301', '902', {}, { signal: hung.signal }).catch((e: unknown) => e);
    await untilRequests(sim, `${P}/301/accounts/902/password`, 1);
    const queued = new AbortController();
    const waiting = c.getPassword('301', '902', {}, { signal: queued.signal });
    // Let it reach undici's queue (nothing to wait for: metadata cached, key in memory).
    expect(await settlesWithin(waiting, 20)).toBe(false);
    queued.abort('no longer needed');
    expect(await settlesWithin(waiting, 20)).toBe(true);
    await expect(waiting).rejects.toBe('no longer needed');
    hung.abort('done');
    expect(await hanging).toBe('done');
    // The only connection is free again: the next fetch is served, and PMP never saw the abandoned one.
    await expect(c.getPassword('301', '902', {})).resolves.toMatchObject({ password: 'Sim-Adm1n-Pass!' });
    expect(sim.stats().byPath[`${P}/301/accounts/902/password`]).toBe(2);
  });

  it('the API key is read for every call: a changed key is used at once; an unreadable or malformed key is VAULT_ERROR', async () => {
    let token: string | Error = 'pmp-bad-token-zz9';
    const c = createVaultClient(profileFor(sim), {
      readToken: async () => {
        if (token instanceof Error) throw token;
        return token;
      },
    });
    clients.push(c);
    expect(await codeOf(c.probe())).toBe('ACCESS_DENIED');
    token = `${SAMPLE_TOKEN}\n`;
    await expect(c.probe()).resolves.toBeUndefined();
    token = new Error('ENOENT: /etc/credgw/pmp.token');
    const unreadable = (await c.probe().catch((e: unknown) => e)) as GatewayError;
    expect(unreadable).toMatchObject({ code: 'VAULT_ERROR', message: 'the vault API key cannot be read' });
    token = 'abc\u0007def';
    expect(await codeOf(c.probe())).toBe('VAULT_ERROR');
    token = SAMPLE_TOKEN;
    await expect(c.probe()).resolves.toBeUndefined();
  });

  it('takes the API key from peekToken when it has one (no read), else from readToken; a read that throws is VAULT_ERROR', async () => {
    let known: string | undefined = SAMPLE_TOKEN;
    let stored: string | Error = SAMPLE_TOKEN;
    let reads = 0;
    const c = createVaultClient(profileFor(sim), {
      peekToken: () => known,
      readToken: () => {
        reads++;
        // Thrown, not rejected: a reader that fails before it returns a promise.
        if (stored instanceof Error) throw stored;
        return Promise.resolve(stored);
      },
    });
    clients.push(c);
    // The first request waits for the pool (and reads the key once); then the peeked key is used as it is.
    await expect(c.getPassword('301', '902', {})).resolves.toMatchObject({ password: 'Sim-Adm1n-Pass!' });
    const afterFirst = reads;
    await expect(c.getPassword('301', '902', {})).resolves.toMatchObject({ password: 'Sim-Adm1n-Pass!' });
    known = 'pmp-bad-token-zz9';
    expect(await codeOf(c.probe())).toBe('ACCESS_DENIED');
    expect(reads).toBe(afterFirst);
    // Nothing at hand: the key is read.
    known = undefined;
    await expect(c.probe()).resolves.toBeUndefined();
    expect(reads).toBe(afterFirst + 1);
    stored = new Error('EACCES: /etc/credgw/pmp.token');
    expect(await c.probe().catch((e: unknown) => e)).toMatchObject({ code: 'VAULT_ERROR', message: 'the vault API key cannot be read' });
    stored = SAMPLE_TOKEN;
    await expect(c.probe()).resolves.toBeUndefined();
  });

  it('a password fetch is never re-sent after the socket closes mid-request', async () => {
    const c = client(profileFor(sim));
    await c.listAccounts('301');
    sim.inject({ kind: 'close', match: '/password', count: 1 });
    expect(await codeOf(c.getPassword('301', '902', {}))).toBe('VAULT_UNREACHABLE');
    expect(sim.stats().byPath[`${P}/301/accounts/902/password`]).toBe(1);
    // The pool recovers for the next command.
    await expect(c.getPassword('301', '902', {})).resolves.toMatchObject({ password: 'Sim-Adm1n-Pass!' });
    expect(sim.stats().byPath[`${P}/301/accounts/902/password`]).toBe(2);
  });

  it('a closed client refuses calls', async () => {
    const c = client(profileFor(sim));
    await c.close();
    expect(await codeOf(c.probe())).toBe('VAULT_UNREACHABLE');
  });
});

describe('logging', () => {
  it('never writes the token, a password, INPUT_DATA or a reason; logs method, path, status, duration, code', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        cb();
      },
    });
    const logger = pino({ level: 'trace' }, stream);
    const c = client(profileFor(sim, { includeAccountNotes: true }), { logger });
    await c.probe();
    await c.listResources();
    await c.resolveResource('Windows_Jump_Box');
    await c.listAccounts('301');
    await c.getPassword('302', '913', { ticketId: 'INC-SECRETTICKET', reason: 'reason-xyzzy' });
    await c.getPassword('301', '902', {});
    sim.inject({ kind: 'http500', count: 1 });
    await c.probe().catch(() => undefined);
    const bad = client(profileFor(sim), { token: 'pmp-bad-token-zz9', logger });
    await bad.getPassword('301', '902', {}).catch(() => undefined);

    const all = lines.join('\n');
    expect(lines.length).toBeGreaterThanOrEqual(6);
    for (const secret of [SAMPLE_TOKEN, 'pmp-bad-token-zz9', 'Sim-Oracle-Pass!', 'Sim-Adm1n-Pass!', 'INPUT_DATA', 'INC-SECRETTICKET', 'reason-xyzzy', 'AUTHTOKEN']) {
      expect(all).not.toContain(secret);
    }
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const pw = parsed.find((l) => l['path'] === `${P}/302/accounts/913/password`);
    expect(pw).toMatchObject({ vault: 'pmp', method: 'GET', status: 200, msg: 'vault request' });
    expect(typeof pw?.['durationMs']).toBe('number');
    expect(parsed.some((l) => l['code'] === 'VAULT_ERROR' && l['status'] === 500)).toBe(true);
  });
});
