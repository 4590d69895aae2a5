import { generateKeyPairSync, privateDecrypt, type KeyObject } from 'node:crypto';
import type { ResultError, ResultMessage } from '../../../src/protocol/index.js';
import { harness, pwCmd, SECRET, settle } from './fakes.js';

function errorOf(m: ResultMessage | undefined): ResultError['error'] {
  if (!m || m.ok) throw new Error(`expected an error result, got ${JSON.stringify(m)}`);
  return m.error;
}

let rsa2048: { publicKey: string; privateKey: KeyObject };
let rsa1024: string;
let ec: string;

beforeAll(() => {
  const k = generateKeyPairSync('rsa', { modulusLength: 2048 });
  rsa2048 = { publicKey: k.publicKey.export({ type: 'spki', format: 'pem' }).toString(), privateKey: k.privateKey };
  rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
  ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
});

describe('getPassword: sealed delivery', () => {
  it('returns sealedPassword that decrypts with RSA-OAEP-SHA256 and no password field', async () => {
    const h = harness();
    const cmd = pwCmd({ recipientKey: rsa2048.publicKey });
    h.dispatcher.handle(cmd, h.reply);
    await settle();
    const m = h.reply.sent[0];
    if (!m?.ok) throw new Error('expected ok');
    expect(Object.keys(m.data).sort()).toEqual(['accountId', 'accountName', 'resourceId', 'sealedPassword']);
    expect(m.data).not.toHaveProperty('password');
    const plain = privateDecrypt({ key: rsa2048.privateKey, oaepHash: 'sha256' }, Buffer.from(m.data['sealedPassword'] as string, 'base64'));
    expect(plain.toString('utf8')).toBe(SECRET);
    expect(JSON.stringify(h.reply.sent)).not.toContain(SECRET);
    expect(h.audit).toEqual([expect.objectContaining({ outcome: 'ok', sealed: true })]);
  });

  it('accepts a PKCS#1 "RSA PUBLIC KEY" PEM too', async () => {
    const h = harness();
    const k = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pkcs1 = k.publicKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    h.dispatcher.handle(pwCmd({ recipientKey: pkcs1 }), h.reply);
    await settle();
    const m = h.reply.sent[0];
    if (!m?.ok) throw new Error('expected ok');
    const plain = privateDecrypt({ key: k.privateKey, oaepHash: 'sha256' }, Buffer.from(m.data['sealedPassword'] as string, 'base64'));
    expect(plain.toString('utf8')).toBe(SECRET);
  });

  it.each([
    ['an RSA key under 2048 bits', () => rsa1024, /1024 bits/],
    ['an EC key', () => ec, /not a PEM RSA public key/],
    ['text that is not PEM', () => 'hello', /not a PEM RSA public key/],
  ])('refuses %s with BAD_REQUEST before any PMP call', async (_label, key, message) => {
    const h = harness();
    h.dispatcher.handle(pwCmd({ recipientKey: key() }), h.reply);
    await settle();
    expect(errorOf(h.reply.sent[0])).toMatchObject({ code: 'BAD_REQUEST', retryable: false });
    expect(errorOf(h.reply.sent[0]).message).toMatch(message);
    expect(h.vault.calls).toEqual([]);
  });

  it('a password too long to seal to the key is BAD_REQUEST and never shows up in the message or logs', async () => {
    const h = harness();
    h.vault.password = `${SECRET}-${'x'.repeat(300)}`;
    h.dispatcher.handle(pwCmd({ recipientKey: rsa2048.publicKey }), h.reply);
    await settle();
    expect(errorOf(h.reply.sent[0]).code).toBe('BAD_REQUEST');
    expect(JSON.stringify(h.reply.sent)).not.toContain(SECRET);
    expect(h.logs.join('\n')).not.toContain(SECRET);
  });
});

/** Runs commands one after the other; returns their outcomes in order. */
async function outcomesOf(h: ReturnType<typeof harness>, cmds: ReturnType<typeof pwCmd>[]): Promise<string[]> {
  const out: string[] = [];
  for (const cmd of cmds) {
    h.dispatcher.handle(cmd, h.reply);
    await settle();
    const m = h.reply.sent.find((r) => r.id === cmd.id);
    out.push(m === undefined ? 'none' : m.ok ? 'ok' : m.error.code);
  }
  return out;
}

describe('getPassword: local policy', () => {
  it('allowResources: allowed by attribute value, resolved ID or name (any case); denied otherwise', async () => {
    const h = harness({ policy: { allowResources: ['windows_jump_box'] } });
    const outcomes = await outcomesOf(h, [
      pwCmd(), // attribute "301": the name is learnt from the account list
      pwCmd({ resource: { customAttributes: { 'PMP Resource ID': 'Windows_Jump_Box' } } }),
      pwCmd({ resource: { customAttributes: { 'PMP Resource ID': '302' } }, accountId: '910' }),
    ]);
    expect(outcomes).toEqual(['ok', 'ok', 'POLICY_DENIED']);
    expect(errorOf(h.reply.sent.at(-1)).message).toBe('resource 302 ("Linux_Box") is not in policy.allowResources');
    expect(h.vault.calls.filter((c) => c.method === 'getPassword').map((c) => c.args[0])).toEqual(['301', '301']);
  });

  it('allowResources by ID admits a resource named by the attribute, and refuses another ID once its listed name does not match either', async () => {
    const h = harness({ policy: { allowResources: ['302'] } });
    const outcomes = await outcomesOf(h, [pwCmd({ resource: { customAttributes: { 'PMP Resource ID': 'linux_box' } }, accountId: '910' }), pwCmd()]);
    expect(outcomes).toEqual(['ok', 'POLICY_DENIED']);
    // Resource 301, named by ID: the allow-list might hold its name, which only its account list tells; no password call.
    expect(h.vault.calls.filter((c) => c.args[0] === '301').map((c) => c.method)).toEqual(['listAccounts']);
  });

  it('denyAccounts (any case): POLICY_DENIED and the password is never fetched', async () => {
    const h = harness({ policy: { denyAccounts: ['ADMINISTRATOR'] } });
    const cmd = pwCmd();
    h.dispatcher.handle(cmd, h.reply);
    await settle();
    expect(errorOf(h.reply.sent[0])).toEqual({
      code: 'POLICY_DENIED',
      message: 'account "administrator" is denied by policy.denyAccounts',
      retryable: false,
    });
    expect(h.vault.count('getPassword')).toBe(0);
    expect(h.audit).toEqual([expect.objectContaining({ outcome: 'POLICY_DENIED', accountName: 'administrator' })]);
    h.dispatcher.handle(pwCmd({ accountId: '903' }), h.reply);
    await settle();
    expect(h.reply.sent[1]?.ok).toBe(true);
  });

  it('denyAccounts: an account missing from the list is ACCOUNT_NOT_FOUND without a password call', async () => {
    const h = harness({ policy: { denyAccounts: ['root'] } });
    h.dispatcher.handle(pwCmd({ accountId: '999' }), h.reply);
    await settle();
    expect(errorOf(h.reply.sent[0]).code).toBe('ACCOUNT_NOT_FOUND');
    expect(h.vault.count('getPassword')).toBe(0);
  });

  it('denyAccounts: a name PMP returns with the password is checked too (stale metadata)', async () => {
    const h = harness({ policy: { denyAccounts: ['renamed-admin'] } });
    const original = h.vault.getPassword.bind(h.vault);
    h.vault.getPassword = async (...args) => ({ ...(await original(...args)), accountName: 'Renamed-Admin' });
    h.dispatcher.handle(pwCmd(), h.reply);
    await settle();
    expect(errorOf(h.reply.sent[0]).code).toBe('POLICY_DENIED');
    expect(JSON.stringify(h.reply.sent)).not.toContain(SECRET);
  });

  it('maxFetchesPerAccountPerMinute: a sliding window per vault, resource and account', async () => {
    const h = harness({ policy: { maxFetchesPerAccountPerMinute: 2 } });
    expect(await outcomesOf(h, [pwCmd()])).toEqual(['ok']);
    h.clock.advance(30_000);
    expect(await outcomesOf(h, [pwCmd(), pwCmd(), pwCmd({ accountId: '903' })])).toEqual(['ok', 'POLICY_DENIED', 'ok']);
    expect(h.vault.count('getPassword')).toBe(3);
    h.clock.advance(30_000); // the first fetch leaves the window
    expect(await outcomesOf(h, [pwCmd(), pwCmd()])).toEqual(['ok', 'POLICY_DENIED']);
    expect(errorOf(h.reply.sent.at(-1)).message).toBe('account 902 of resource 301 reached policy.maxFetchesPerAccountPerMinute (2)');
    // A reload raises the limit; the history stays, so only one more fits.
    h.dispatcher.updatePolicy({ allowResources: null, denyAccounts: [], maxFetchesPerAccountPerMinute: 3 });
    expect(await outcomesOf(h, [pwCmd(), pwCmd()])).toEqual(['ok', 'POLICY_DENIED']);
  });

  it('updatePolicy applies to the next command', async () => {
    const h = harness();
    expect(await outcomesOf(h, [pwCmd()])).toEqual(['ok']);
    h.dispatcher.updatePolicy({ allowResources: ['302'], denyAccounts: [], maxFetchesPerAccountPerMinute: null });
    expect(await outcomesOf(h, [pwCmd()])).toEqual(['POLICY_DENIED']);
  });
});

describe('getPassword: logs', () => {
  it('no log line at trace level carries the password, whatever the outcome', async () => {
    const h = harness({ limits: { maxInFlight: 1 } });
    h.dispatcher.handle(pwCmd(), h.reply);
    await settle();
    h.vault.failures.set('getPassword', new TypeError(`boom`));
    h.dispatcher.handle(pwCmd(), h.reply);
    await settle();
    h.vault.failures.clear();
    h.reply.connected = false;
    h.dispatcher.handle(pwCmd(), h.reply);
    await settle();
    expect(h.logs.length).toBeGreaterThan(2);
    for (const line of h.logs) expect(line).not.toContain(SECRET);
  });
});
