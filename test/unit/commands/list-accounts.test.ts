import type { CommandMessage, ListAccountsData } from '../../../src/protocol/index.js';
import { harness, listCmd, settle } from './fakes.js';

describe('listAccounts', () => {
  it('adds notes only with includeAccountNotes (empty string when PMP has none) and asks the client for them', async () => {
    const h = harness({ profile: { includeAccountNotes: true } });
    h.dispatcher.handle(listCmd(), h.reply);
    await settle();
    const m = h.reply.sent[0];
    if (!m?.ok) throw new Error('expected ok');
    expect(m.data).toEqual({
      resourceId: '301',
      resourceName: 'Windows_Jump_Box',
      accounts: [
        { accountId: '902', accountName: 'administrator', notes: 'Domain admin for the jump box', ticketIdRequired: true, reasonRequired: false },
        { accountId: '903', accountName: 'backup', notes: '', ticketIdRequired: false, reasonRequired: false },
      ],
      totalAccounts: 2,
    });
    expect(h.vault.calls.find((c) => c.method === 'listAccounts')?.args).toEqual(['301', { includeNotes: true }]);
  });

  it('has no notes key without includeAccountNotes, and does not ask for notes', async () => {
    const h = harness();
    h.dispatcher.handle(listCmd({ attrs: { 'PMP Resource ID': '302' } }), h.reply);
    await settle();
    const m = h.reply.sent[0];
    if (!m?.ok) throw new Error('expected ok');
    expect(m.data).toEqual({
      resourceId: '302',
      resourceName: 'Linux_Box',
      accounts: [{ accountId: '910', accountName: 'root', ticketIdRequired: false, reasonRequired: true }],
      totalAccounts: 1,
    });
    expect(h.vault.calls.find((c) => c.method === 'listAccounts')?.args).toEqual(['302', { includeNotes: false }]);
    expect(h.vault.count('accountNotes')).toBe(0);
  });

  it('resolves a resource given by name and matches the attribute key without letter case', async () => {
    const h = harness();
    h.dispatcher.handle(listCmd({ attrs: { 'pmp resource id': ' linux_box ' } }), h.reply);
    await settle();
    const m = h.reply.sent[0];
    if (!m?.ok) throw new Error('expected ok');
    expect(m.data['resourceId']).toBe('302');
    expect(h.vault.calls[0]?.args).toEqual(['linux_box']);
    expect(h.audit[0]).toMatchObject({ resource: 'linux_box', resourceId: '302', outcome: 'ok' });
  });

  it('hides accounts named in denyAccounts', async () => {
    const h = harness({ policy: { denyAccounts: ['Administrator'] } });
    h.dispatcher.handle(listCmd(), h.reply);
    await settle();
    const m = h.reply.sent[0];
    if (!m?.ok) throw new Error('expected ok');
    expect((m.data['accounts'] as Array<{ accountName: string }>).map((a) => a.accountName)).toEqual(['backup']);
  });

  it('applies allowResources, learning the name from the list when the attribute gave the ID', async () => {
    const h = harness({ policy: { allowResources: ['LINUX_BOX'] } });
    h.dispatcher.handle(listCmd({ attrs: { 'PMP Resource ID': '302' } }), h.reply);
    await settle();
    h.dispatcher.handle(listCmd(), h.reply);
    await settle();
    expect(h.reply.sent.map((m) => (m.ok ? 'ok' : m.error.code))).toEqual(['ok', 'POLICY_DENIED']);
    expect(h.reply.sent[1]).toMatchObject({ ok: false, error: { message: 'resource 301 ("Windows_Jump_Box") is not in policy.allowResources' } });
  });

  it('pages the list the cloud may see: nextOffset while more remain, absent on the last page', async () => {
    const h = harness();
    const page = (offset: number, limit: number): CommandMessage => {
      const cmd = listCmd();
      return { ...cmd, params: { ...cmd.params, offset, limit } } as CommandMessage;
    };
    for (const cmd of [page(0, 1), page(1, 1), page(2, 1), page(0, 1000)]) h.dispatcher.handle(cmd, h.reply);
    await settle();
    const pages = h.reply.sent.map((m) => {
      if (!m.ok) throw new Error('expected ok');
      const d = m.data as unknown as ListAccountsData;
      return [d.accounts.map((a) => a.accountId), d.totalAccounts, d.nextOffset];
    });
    expect(pages).toEqual([
      [['902'], 2, 1],
      [['903'], 2, undefined],
      [[], 2, undefined],
      [['902', '903'], 2, undefined],
    ]);
  });

  it('counts totalAccounts after denyAccounts, so pages never skip or repeat', async () => {
    const h = harness({ policy: { denyAccounts: ['administrator'] } });
    const cmd = listCmd();
    h.dispatcher.handle({ ...cmd, params: { ...cmd.params, limit: 1 } } as CommandMessage, h.reply);
    await settle();
    expect(h.reply.sent[0]).toMatchObject({ ok: true, data: { accounts: [{ accountId: '903' }], totalAccounts: 1 } });
    expect(h.reply.sent[0]?.ok && 'nextOffset' in h.reply.sent[0].data).toBe(false);
  });
});
