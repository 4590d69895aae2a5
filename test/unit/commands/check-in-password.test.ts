import type { ResultError, ResultMessage } from '../../../src/protocol/index.js';
import { GatewayError } from '../../../src/shared/errors.js';
import { checkInCmd, harness, pwCmd, settle, type Harness } from './fakes.js';

/** checkInPassword (protocol section 10) through the dispatcher and a fake vault. */

function errorOf(m: ResultMessage | undefined): ResultError['error'] {
  if (!m || m.ok) throw new Error(`expected an error result, got ${JSON.stringify(m)}`);
  return m.error;
}

async function run(h: Harness, cmd: ReturnType<typeof checkInCmd>): Promise<ResultMessage> {
  h.dispatcher.handle(cmd, h.reply);
  await settle();
  const m = h.reply.sent.find((r) => r.id === cmd.id);
  if (!m) throw new Error(`no result for ${cmd.id}`);
  return m;
}

describe('checkInPassword', () => {
  it('checks a checked-out password in: {"accountId"}', async () => {
    const h = harness();
    const a = h.vault.accessControl('902');
    a.state = 'checkedOut';
    const m = await run(h, checkInCmd());
    expect(m).toEqual({ type: 'result', id: m.id, epoch: 8, ok: true, data: { accountId: '902' } });
    expect(a.state).toBe('checkedIn');
    expect(h.vault.calls.filter((c) => c.method === 'checkIn').map((c) => c.args)).toEqual([['301', '902']]);
  });

  it('is idempotent: nobody has it checked out (or it is not access controlled) -> ok', async () => {
    const h = harness();
    expect((await run(h, checkInCmd())).ok).toBe(true);
    h.vault.accessControl('902');
    expect((await run(h, checkInCmd())).ok).toBe(true);
    expect((await run(h, checkInCmd())).ok).toBe(true);
  });

  it('another user holding it answers CHECKED_OUT', async () => {
    const h = harness();
    h.vault.accessControl('902').heldByOther = true;
    expect(errorOf(await run(h, checkInCmd()))).toEqual({ code: 'CHECKED_OUT', message: expect.any(String), retryable: true });
  });

  it('is audited like a fetch: requester, ticket, reason, resource, account, outcome', async () => {
    const h = harness();
    const cmd = checkInCmd();
    await run(h, cmd);
    expect(h.audit).toEqual([
      expect.objectContaining({
        event: 'checkInPassword',
        commandId: cmd.id,
        requestedBy: 'alice@example.com',
        ticketId: 'INC-1042',
        reason: 'Console session ended',
        vault: 'pmp-prod',
        resource: '301',
        resourceId: '301',
        accountId: '902',
        outcome: 'ok',
        sealed: false,
      }),
    ]);
    expect(h.audit[0]).not.toHaveProperty('action');
  });

  it('a resource given by name is resolved first', async () => {
    const h = harness();
    expect((await run(h, checkInCmd({ resource: { customAttributes: { 'PMP Resource ID': 'Linux_Box' } }, accountId: '910' }))).ok).toBe(true);
    expect(h.vault.calls.map((c) => c.method)).toEqual(['resolveResource', 'checkIn']);
    expect(h.audit[0]).toMatchObject({ resource: 'Linux_Box', resourceId: '302' });
  });

  it.each([
    ['an unknown vault', { vault: 'nope' }, 'UNKNOWN_VAULT'],
    ['an unmapped resource', { resource: { customAttributes: {} } }, 'RESOURCE_NOT_MAPPED'],
    ['an account the resource lacks', { accountId: '999' }, 'ACCOUNT_NOT_FOUND'],
  ] as const)('%s: %s', async (_label, params, code) => {
    const h = harness();
    expect(errorOf(await run(h, checkInCmd(params))).code).toBe(code);
  });

  it('a vault failure passes through with its code', async () => {
    const h = harness();
    h.vault.failures.set('checkIn', new GatewayError('VAULT_UNREACHABLE', 'the vault cannot be reached'));
    expect(errorOf(await run(h, checkInCmd()))).toMatchObject({ code: 'VAULT_UNREACHABLE', retryable: true });
  });

  it('is not subject to the fetch policy (it reveals nothing)', async () => {
    const h = harness({ policy: { denyAccounts: ['administrator'], maxFetchesPerAccountPerMinute: 1 } });
    expect((await run(h, checkInCmd())).ok).toBe(true);
    expect((await run(h, checkInCmd())).ok).toBe(true);
  });

  it('ends the access request it followed: the next getPassword with requestAccess raises a new one', async () => {
    const h = harness();
    const a = h.vault.accessControl('902');
    h.vault.placeholderOnly = true;
    await run(h, pwCmd({ requestAccess: true }));
    expect(h.vault.count('requestAccess')).toBe(1);
    a.state = 'approved';
    expect((await run(h, checkInCmd())).ok).toBe(true);
    // Forgotten: the list is read for the account's newest request (checked in), not for request 1 by its ID.
    expect(errorOf(await run(h, pwCmd({ requestAccess: true }))).code).toBe('APPROVAL_PENDING');
    expect(h.vault.count('requestAccess')).toBe(2);
    expect(h.vault.calls.filter((c) => c.method === 'accessRequestState').map((c) => c.args)).toEqual([
      ['902', undefined],
      ['902', undefined],
    ]);
  });

  it('is made in the resource\'s organisation (orgNameAttribute); without one, no vault is called', async () => {
    const h = harness({ profile: { orgNameAttribute: 'PAM360 Org' } });
    const resource = { id: 'opsramp-1', customAttributes: { 'PMP Resource ID': 'Linux_Box', 'PAM360 Org': 'Acme' } };
    expect((await run(h, checkInCmd({ resource, accountId: '910' }))).ok).toBe(true);
    expect(h.vault.calls.map((c) => [c.method, c.orgName])).toEqual([
      ['resolveResource', 'Acme'],
      ['checkIn', 'Acme'],
    ]);
    expect(errorOf(await run(h, checkInCmd())).code).toBe('RESOURCE_NOT_MAPPED');
    expect(h.vault.calls).toHaveLength(2);
  });

  it('NOT_ACTIVE at a foreign epoch, with no vault call', async () => {
    const h = harness();
    expect(errorOf(await run(h, checkInCmd({}, { epoch: 7 }))).code).toBe('NOT_ACTIVE');
    expect(h.vault.calls).toEqual([]);
  });
});
