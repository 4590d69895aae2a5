import { ACCESS_RETRY_AFTER_MS, PendingRequests } from '../../../src/commands/pending-requests.js';
import type { ResultError, ResultMessage } from '../../../src/protocol/index.js';
import { ManualClock } from '../../../src/shared/clock.js';
import { GatewayError } from '../../../src/shared/errors.js';
import { harness, pwCmd, SECRET, settle, type Harness } from './fakes.js';

/** getPassword on an account behind the vault's access control (protocol section 10), through the dispatcher and a fake vault. */

function errorOf(m: ResultMessage | undefined): ResultError['error'] {
  if (!m || m.ok) throw new Error(`expected an error result, got ${JSON.stringify(m)}`);
  return m.error;
}

/** Runs one command to its result. */
async function run(h: Harness, cmd: ReturnType<typeof pwCmd>): Promise<ResultMessage> {
  h.dispatcher.handle(cmd, h.reply);
  await settle();
  const m = h.reply.sent.find((r) => r.id === cmd.id);
  if (!m) throw new Error(`no result for ${cmd.id}`);
  return m;
}

const REQUEST = { requestAccess: true } as const;

function controlled(): Harness {
  const h = harness();
  h.vault.accessControl('902');
  return h;
}

describe('getPassword without requestAccess', () => {
  it('an account needing approval answers APPROVAL_REQUIRED as before; no request is raised', async () => {
    const h = controlled();
    expect(errorOf(await run(h, pwCmd()))).toMatchObject({ code: 'APPROVAL_REQUIRED', retryable: false });
    expect(h.vault.count('requestAccess')).toBe(0);
    expect(h.vault.count('accessRequestState')).toBe(0);
  });

  it.each(['pending', 'rejected', 'expired'] as const)('a request %s in the vault still answers APPROVAL_REQUIRED (the controller did not opt in)', async (state) => {
    const h = controlled();
    h.vault.access.get('902')!.state = state;
    const e = errorOf(await run(h, pwCmd()));
    expect(e).toEqual({ code: 'APPROVAL_REQUIRED', message: expect.any(String), retryable: false });
    expect(h.vault.count('requestAccess')).toBe(0);
  });

  it('an approved request releases the password', async () => {
    const h = controlled();
    h.vault.access.get('902')!.state = 'approved';
    const m = await run(h, pwCmd());
    expect(m.ok && m.data['password']).toBe(SECRET);
  });
});

describe('getPassword with requestAccess', () => {
  it('raises the request with the reason, ticket and window, and answers APPROVAL_PENDING with retryAfterMs', async () => {
    const h = controlled();
    const cmd = pwCmd({ ...REQUEST, accessWindow: { startTime: '2026-01-09T17:50:00Z', endTime: '2026-01-09T19:50:00+01:00' } });
    const e = errorOf(await run(h, cmd));
    expect(e).toEqual({ code: 'APPROVAL_PENDING', message: expect.any(String), retryable: true, retryAfterMs: ACCESS_RETRY_AFTER_MS });
    const raised = h.vault.calls.filter((c) => c.method === 'requestAccess');
    expect(raised.map((c) => c.args)).toEqual([
      ['301', '902', { ticketId: 'INC-1042', reason: 'Remote console launch', window: { startMs: Date.parse('2026-01-09T17:50:00Z'), endMs: Date.parse('2026-01-09T18:50:00Z') } }],
    ]);
    expect(h.audit).toEqual([expect.objectContaining({ event: 'getPassword', outcome: 'APPROVAL_PENDING', action: 'accessRequested', accountId: '902' })]);
  });

  it('without a window the request is for now', async () => {
    const h = controlled();
    await run(h, pwCmd(REQUEST));
    expect(h.vault.calls.find((c) => c.method === 'requestAccess')?.args[2]).toEqual({ ticketId: 'INC-1042', reason: 'Remote console launch', window: undefined });
  });

  it('pending -> a second getPassword raises no second request -> approved -> the password', async () => {
    const h = controlled();
    expect(errorOf(await run(h, pwCmd(REQUEST))).code).toBe('APPROVAL_PENDING');
    expect(errorOf(await run(h, pwCmd(REQUEST)))).toMatchObject({ code: 'APPROVAL_PENDING', retryAfterMs: ACCESS_RETRY_AFTER_MS });
    expect(h.vault.count('requestAccess')).toBe(1);
    expect(h.audit.map((e) => e.action)).toEqual(['accessRequested', undefined]);
    h.vault.access.get('902')!.state = 'approved';
    const m = await run(h, pwCmd(REQUEST));
    expect(m.ok && m.data).toEqual({ resourceId: '301', accountId: '902', accountName: 'administrator', password: SECRET });
    expect(h.vault.count('requestAccess')).toBe(1);
  });

  it('rejected -> APPROVAL_DENIED (not retryable); a later getPassword raises a new request', async () => {
    const h = controlled();
    await run(h, pwCmd(REQUEST));
    h.vault.access.get('902')!.state = 'rejected';
    expect(errorOf(await run(h, pwCmd(REQUEST)))).toEqual({ code: 'APPROVAL_DENIED', message: expect.any(String), retryable: false });
    expect(h.vault.count('requestAccess')).toBe(1);
    expect(errorOf(await run(h, pwCmd(REQUEST))).code).toBe('APPROVAL_PENDING');
    expect(h.vault.count('requestAccess')).toBe(2);
  });

  it('expired -> APPROVAL_DENIED', async () => {
    const h = controlled();
    await run(h, pwCmd(REQUEST));
    h.vault.access.get('902')!.state = 'expired';
    expect(errorOf(await run(h, pwCmd(REQUEST))).code).toBe('APPROVAL_DENIED');
  });

  it('a decision the gateway never saw pending (a restart, the other gateway) is old: a new request is raised', async () => {
    const h = controlled();
    h.vault.access.get('902')!.state = 'rejected';
    expect(errorOf(await run(h, pwCmd(REQUEST))).code).toBe('APPROVAL_PENDING');
    expect(h.vault.count('requestAccess')).toBe(1);
  });

  it('a request the vault shows pending but the gateway never raised is remembered, not raised again', async () => {
    const h = controlled();
    h.vault.access.get('902')!.state = 'pending';
    expect(errorOf(await run(h, pwCmd(REQUEST))).code).toBe('APPROVAL_PENDING');
    expect(errorOf(await run(h, pwCmd(REQUEST))).code).toBe('APPROVAL_PENDING');
    expect(h.vault.count('requestAccess')).toBe(0);
  });

  it('two commands at once raise one request', async () => {
    const h = controlled();
    const a = pwCmd(REQUEST);
    const b = pwCmd(REQUEST);
    h.dispatcher.handle(a, h.reply);
    h.dispatcher.handle(b, h.reply);
    await settle();
    expect(h.reply.sent.map((m) => errorOf(m).code)).toEqual(['APPROVAL_PENDING', 'APPROVAL_PENDING']);
    expect(h.vault.count('requestAccess')).toBe(1);
    // The second found the first one's list read under way: it called nothing.
    expect(h.vault.count('accessRequestState')).toBe(1);
  });

  it('an account checked out by another user is CHECKED_OUT (retryable); nothing is raised', async () => {
    const h = controlled();
    h.vault.access.get('902')!.heldByOther = true;
    expect(errorOf(await run(h, pwCmd(REQUEST)))).toEqual({ code: 'CHECKED_OUT', message: expect.any(String), retryable: true });
    expect(errorOf(await run(h, pwCmd())).code).toBe('CHECKED_OUT');
    expect(h.vault.count('requestAccess')).toBe(0);
  });

  it('an account without access control is fetched as usual; nothing is raised', async () => {
    const h = harness();
    const m = await run(h, pwCmd(REQUEST));
    expect(m.ok && m.data['password']).toBe(SECRET);
    expect(h.vault.count('requestAccess')).toBe(0);
  });

  it('local refusals come first: no password call, no request', async () => {
    const h = harness({ policy: { denyAccounts: ['administrator'] } });
    h.vault.accessControl('902');
    expect(errorOf(await run(h, pwCmd(REQUEST))).code).toBe('POLICY_DENIED');
    expect(h.vault.count('getPassword') + h.vault.count('requestAccess')).toBe(0);
  });

  it('a vault that refuses the request: its code, and the next getPassword tries again', async () => {
    const h = controlled();
    h.vault.failures.set('requestAccess', new GatewayError('VAULT_ERROR', 'the vault reported a failure'));
    expect(errorOf(await run(h, pwCmd(REQUEST))).code).toBe('VAULT_ERROR');
    expect(h.audit[0]).not.toHaveProperty('action');
    h.vault.failures.delete('requestAccess');
    expect(errorOf(await run(h, pwCmd(REQUEST))).code).toBe('APPROVAL_PENDING');
    expect(h.vault.count('requestAccess')).toBe(2);
    // Each first attempt read the list (nothing stood) before raising.
    expect(h.vault.count('accessRequestState')).toBe(2);
  });

  it('a vault that says a request is already open: APPROVAL_PENDING, remembered', async () => {
    const h = controlled();
    h.vault.failures.set('requestAccess', new GatewayError('APPROVAL_PENDING', 'already open', { detail: 'A request for this password is already open' }));
    expect(errorOf(await run(h, pwCmd(REQUEST)))).toMatchObject({ code: 'APPROVAL_PENDING', retryAfterMs: ACCESS_RETRY_AFTER_MS });
    h.vault.failures.delete('requestAccess');
    h.vault.placeholderOnly = true;
    h.vault.access.get('902')!.state = 'pending';
    expect(errorOf(await run(h, pwCmd(REQUEST))).code).toBe('APPROVAL_PENDING');
    expect(h.vault.count('requestAccess')).toBe(1);
    // One read before the raise, one for the remembered request.
    expect(h.vault.count('accessRequestState')).toBe(2);
  });

  it('a request that may have reached the vault (VAULT_TIMEOUT) stays remembered: the next command reads the list', async () => {
    const h = controlled();
    h.vault.failures.set('requestAccess', new GatewayError('VAULT_TIMEOUT', 'the vault did not answer in time'));
    expect(errorOf(await run(h, pwCmd(REQUEST))).code).toBe('VAULT_TIMEOUT');
    h.vault.failures.delete('requestAccess');
    // The vault did raise it.
    h.vault.access.get('902')!.state = 'pending';
    h.vault.placeholderOnly = true;
    expect(errorOf(await run(h, pwCmd(REQUEST))).code).toBe('APPROVAL_PENDING');
    expect(h.vault.count('requestAccess')).toBe(1);
    expect(h.vault.count('accessRequestState')).toBe(2);
  });

  it('the request is raised under the command\'s signal (its deadline and fencing)', async () => {
    const h = controlled();
    const cmd = pwCmd(REQUEST);
    h.dispatcher.handle(cmd, h.reply);
    await settle();
    const raise = h.vault.calls.find((c) => c.method === 'requestAccess');
    expect(raise?.signal).toBe(h.vault.calls.find((c) => c.method === 'getPassword')?.signal);
  });
});

describe('organisations (orgNameAttribute, section 9)', () => {
  it('the request and the request list are asked in the resource\'s organisation', async () => {
    const h = harness({ profile: { orgNameAttribute: 'PAM360 Org' } });
    h.vault.accessControl('902');
    h.vault.placeholderOnly = true;
    const resource = { id: 'opsramp-1', customAttributes: { 'PMP Resource ID': '301', 'PAM360 Org': 'Acme' } };
    await run(h, pwCmd({ ...REQUEST, resource }));
    await run(h, pwCmd({ ...REQUEST, resource }));
    expect(h.vault.calls.map((c) => [c.method, c.orgName])).toEqual([
      ['getPassword', 'Acme'],
      ['accessRequestState', 'Acme'],
      ['requestAccess', 'Acme'],
      ['getPassword', 'Acme'],
      ['accessRequestState', 'Acme'],
    ]);
  });
});

describe('getPassword with requestAccess on a vault that answers "[Request]" whatever the state', () => {
  function placeholder(): Harness {
    const h = controlled();
    h.vault.placeholderOnly = true;
    return h;
  }

  it('the first raises, the next read the state from the vault\'s request list', async () => {
    const h = placeholder();
    expect(errorOf(await run(h, pwCmd(REQUEST))).code).toBe('APPROVAL_PENDING');
    expect(errorOf(await run(h, pwCmd(REQUEST))).code).toBe('APPROVAL_PENDING');
    // Before the raise, the account's newest; after it, the request raised.
    expect(h.vault.calls.filter((c) => c.method === 'accessRequestState').map((c) => c.args)).toEqual([
      ['902', undefined],
      ['902', '1'],
    ]);
    h.vault.access.get('902')!.state = 'rejected';
    expect(errorOf(await run(h, pwCmd(REQUEST))).code).toBe('APPROVAL_DENIED');
    expect(errorOf(await run(h, pwCmd(REQUEST))).code).toBe('APPROVAL_PENDING');
    expect(h.vault.count('requestAccess')).toBe(2);
  });

  it.each(['none', 'checkedIn'] as const)('a request the list shows as %s is gone: a new one is raised', async (state) => {
    const h = placeholder();
    await run(h, pwCmd(REQUEST));
    h.vault.access.get('902')!.state = state;
    expect(errorOf(await run(h, pwCmd(REQUEST))).code).toBe('APPROVAL_PENDING');
    expect(h.vault.count('requestAccess')).toBe(2);
  });

  it('a list the API user may not read leaves the memory to decide (pending); an unreachable vault is its own code', async () => {
    const h = placeholder();
    await run(h, pwCmd(REQUEST));
    h.vault.failures.set('accessRequestState', new GatewayError('VAULT_ERROR', 'the vault did not list its access requests'));
    expect(errorOf(await run(h, pwCmd(REQUEST))).code).toBe('APPROVAL_PENDING');
    h.vault.failures.set('accessRequestState', new GatewayError('ACCESS_DENIED', 'no'));
    expect(errorOf(await run(h, pwCmd(REQUEST))).code).toBe('APPROVAL_PENDING');
    h.vault.failures.set('accessRequestState', new GatewayError('VAULT_UNREACHABLE', 'the vault cannot be reached'));
    expect(errorOf(await run(h, pwCmd(REQUEST))).code).toBe('VAULT_UNREACHABLE');
    expect(h.vault.count('requestAccess')).toBe(1);
  });

  it('a remembered request older than the TTL is forgotten: the list is read again and decides', async () => {
    const h = placeholder();
    await run(h, pwCmd(REQUEST));
    h.clock.advance(60 * 60_000);
    expect(errorOf(await run(h, pwCmd(REQUEST))).code).toBe('APPROVAL_PENDING');
    expect(h.vault.count('requestAccess')).toBe(1);
    h.vault.access.get('902')!.state = 'expired';
    h.clock.advance(60 * 60_000);
    expect(errorOf(await run(h, pwCmd(REQUEST))).code).toBe('APPROVAL_PENDING');
    expect(h.vault.count('requestAccess')).toBe(2);
    expect(h.vault.calls.filter((c) => c.method === 'accessRequestState').map((c) => c.args[1])).toEqual([undefined, undefined, undefined]);
  });

  it('reads the list before the first request: one list call, then the raise', async () => {
    const h = placeholder();
    expect(errorOf(await run(h, pwCmd(REQUEST))).code).toBe('APPROVAL_PENDING');
    expect(h.vault.calls.map((c) => c.method)).toEqual(['getPassword', 'accessRequestState', 'requestAccess']);
  });

  it('after a restart or on the other gateway (no memory), a request the list shows waiting is remembered; nothing is raised', async () => {
      // A fresh dispatcher: the memory of the gateway that raised the request is not here.
      const h = placeholder();
      h.vault.access.get('902')!.state = 'pending';
      const first = errorOf(await run(h, pwCmd(REQUEST)));
      expect(first).toMatchObject({ code: 'APPROVAL_PENDING', retryAfterMs: ACCESS_RETRY_AFTER_MS });
      expect(errorOf(await run(h, pwCmd(REQUEST))).code).toBe('APPROVAL_PENDING');
      expect(h.vault.count('requestAccess')).toBe(0);
      expect(h.audit.map((e) => e.action)).toEqual([undefined, undefined]);
  });

  it.each(['rejected', 'expired', 'checkedIn'] as const)('no memory and the list shows the newest request %s: none stands, one is raised', async (state) => {
    const h = placeholder();
    h.vault.access.get('902')!.state = state;
    expect(errorOf(await run(h, pwCmd(REQUEST))).code).toBe('APPROVAL_PENDING');
    expect(h.vault.count('requestAccess')).toBe(1);
  });

  it('no memory and a list the API user may not read: one is raised, as before the list was read', async () => {
    const h = placeholder();
    h.vault.failures.set('accessRequestState', new GatewayError('ACCESS_DENIED', 'no'));
    expect(errorOf(await run(h, pwCmd(REQUEST))).code).toBe('APPROVAL_PENDING');
    expect(h.vault.count('requestAccess')).toBe(1);
    expect(h.audit[0]).toMatchObject({ action: 'accessRequested' });
  });

  it('no memory and a vault that cannot be reached for the list: its code, nothing raised, nothing remembered', async () => {
    const h = placeholder();
    h.vault.failures.set('accessRequestState', new GatewayError('VAULT_UNREACHABLE', 'the vault cannot be reached'));
    expect(errorOf(await run(h, pwCmd(REQUEST))).code).toBe('VAULT_UNREACHABLE');
    expect(h.vault.count('requestAccess')).toBe(0);
    h.vault.failures.delete('accessRequestState');
    expect(errorOf(await run(h, pwCmd(REQUEST))).code).toBe('APPROVAL_PENDING');
    expect(h.vault.calls.filter((c) => c.method !== 'getPassword').map((c) => c.method)).toEqual(['accessRequestState', 'accessRequestState', 'requestAccess']);
  });
});

describe('PendingRequests', () => {
  it('remembers per vault and account, keeps the first request ID, forgets on demand', () => {
    const p = new PendingRequests(new ManualClock());
    const e = p.remember('a', '902', undefined);
    expect(p.remember('a', '902', '7')).toBe(e);
    expect(e.requestId).toBe('7');
    expect(p.remember('a', '902', '8').requestId).toBe('7');
    expect(p.get('b', '902')).toBeUndefined();
    p.forget('a', '902');
    expect(p.get('a', '902')).toBeUndefined();
  });

  it('forget(entry) leaves a newer entry alone', () => {
    const p = new PendingRequests(new ManualClock());
    const old = p.remember('a', '902', '1');
    p.forget('a', '902');
    const fresh = p.remember('a', '902', '2');
    p.forget('a', '902', old);
    expect(p.get('a', '902')).toBe(fresh);
  });

  it('entries expire after the TTL on the monotonic clock', () => {
    const clock = new ManualClock();
    const p = new PendingRequests(clock, { ttlMs: 1000 });
    p.remember('a', '1', undefined);
    clock.advance(999);
    expect(p.get('a', '1')).toBeDefined();
    clock.advance(1);
    expect(p.get('a', '1')).toBeUndefined();
    expect(p.size).toBe(0);
  });

  it('is bounded: past maxEntries the oldest is forgotten', () => {
    const p = new PendingRequests(new ManualClock(), { maxEntries: 3 });
    for (const id of ['1', '2', '3', '4']) p.remember('a', id, undefined);
    expect(p.size).toBe(3);
    expect(p.get('a', '1')).toBeUndefined();
    expect(p.get('a', '4')).toBeDefined();
  });
});
