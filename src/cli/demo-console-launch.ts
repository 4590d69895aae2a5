import { constants as cryptoConstants, generateKeyPair, privateDecrypt } from 'node:crypto';
import { promisify } from 'node:util';
import type { AccountSummary, GetPasswordData, GetPasswordParams, ListAccountsData, ResourceRef } from '../protocol/index.js';
import {
  COMMAND_TIMEOUT_MS,
  DEMO_ACCOUNT_PLAIN,
  DEMO_ACCOUNT_TICKET,
  DEMO_ATTRIBUTE,
  DEMO_CLUSTER,
  DEMO_HOST_ACCOUNT,
  DEMO_HOST_NAME,
  DEMO_RESOURCE_NAME,
  DEMO_TICKET_ID,
  DEMO_VAULT,
  apiFailure,
  command,
  passwordOf,
  shown,
  type DemoContext,
  type Started,
} from './demo-context.js';
import { DemoFailure } from './demo-step-runner.js';
import { table } from './table.js';

/**
 * The demo's console launch, as the cloud does it through the controller's
 * API: the accounts of a resource found by its custom attribute, a password
 * with a ticket ID, the same password sealed to a key made here, and one
 * refused for lack of a ticket ID; then a password of a resource the cloud
 * knows only by its host name (the vault profile maps by address too).
 */

export async function consoleLaunch(ctx: DemoContext, s: Started): Promise<{ password: string }> {
  const { runner } = ctx;
  const resource: ResourceRef = { id: 'demo-vm-17', name: 'jump box (as the cloud knows it)', customAttributes: { [DEMO_ATTRIBUTE]: DEMO_RESOURCE_NAME } };

  await runner.step('listAccounts', async (signal) => {
    const body = await command(s.api, { name: 'listAccounts', params: { vault: DEMO_VAULT, resource } }, signal);
    const data = body.data as unknown as ListAccountsData;
    return {
      value: data,
      summary: `"${DEMO_ATTRIBUTE}": "${DEMO_RESOURCE_NAME}" → PMP resource ${data.resourceId} ${data.resourceName}, ${data.accounts.length} accounts · by ${body.gatewayId}`,
      details: accountRows(data.accounts),
    };
  });

  const plainParams: GetPasswordParams = {
    vault: DEMO_VAULT,
    resource,
    accountId: DEMO_ACCOUNT_PLAIN.id,
    ticketId: DEMO_TICKET_ID,
    reason: 'Remote console launch (credgw demo)',
    requestedBy: 'demo.user@example.com',
  };
  const password = await runner.step('getPassword', async (signal) => {
    const body = await command(s.api, { name: 'getPassword', params: plainParams }, signal);
    const pw = passwordOf(body);
    return {
      value: pw,
      summary: `${DEMO_ACCOUNT_PLAIN.name} (${DEMO_ACCOUNT_PLAIN.id}) with ticket ${DEMO_TICKET_ID} → ${shown(ctx.opts, pw)} · by ${body.gatewayId}`,
    };
  });

  await runner.step('getPassword, sealed', async (signal) => {
    const { publicKey, privateKey } = await promisify(generateKeyPair)('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    const body = await command(s.api, { name: 'getPassword', params: { ...plainParams, recipientKey: publicKey } }, signal);
    const data = body.data as unknown as GetPasswordData;
    if (typeof data.sealedPassword !== 'string') throw new DemoFailure('DEMO_UNEXPECTED_RESULT', 'the sealed answer has no sealedPassword');
    if ('password' in data) throw new DemoFailure('DEMO_UNEXPECTED_RESULT', 'the sealed answer also carries the password in clear');
    const opened = privateDecrypt(
      { key: privateKey, padding: cryptoConstants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      Buffer.from(data.sealedPassword, 'base64'),
    ).toString('utf8');
    if (opened !== password) throw new DemoFailure('DEMO_UNEXPECTED_RESULT', 'the unsealed password differs from the plain fetch');
    return {
      value: undefined,
      summary: `RSA-2048 recipient key → only sealedPassword (RSA-OAEP-256), opened here: matches the plain fetch${ctx.opts.reveal ? ` (${opened})` : ''} · by ${body.gatewayId}`,
    };
  });

  await runner.step('getPassword, no ticket', async (signal) => {
    const params: GetPasswordParams = { vault: DEMO_VAULT, resource, accountId: DEMO_ACCOUNT_TICKET.id, requestedBy: 'demo.user@example.com' };
    const answer = await s.api.submit(DEMO_CLUSTER, { name: 'getPassword', params }, COMMAND_TIMEOUT_MS, signal);
    if (answer.kind !== 'result') throw apiFailure(answer);
    const body = answer.body;
    if (body.ok) throw new DemoFailure('DEMO_UNEXPECTED_RESULT', `${DEMO_ACCOUNT_TICKET.name} was served without a ticket ID`);
    if (body.error.code !== 'TICKET_ID_REQUIRED') {
      throw new DemoFailure('DEMO_UNEXPECTED_RESULT', `expected TICKET_ID_REQUIRED, got ${body.error.code}: ${body.error.message}`);
    }
    return {
      value: undefined,
      summary: `${DEMO_ACCOUNT_TICKET.name} (${DEMO_ACCOUNT_TICKET.id}) without a ticket ID → refused: ${body.error.code} ("${body.error.message}") · by ${body.gatewayId}`,
    };
  });
  await runner.step('getPassword, host name', async (signal) => {
    // No custom attribute: the profile's resourceMatch falls to hostName, found in the gateway's DNS-name index.
    const byHost: ResourceRef = { id: 'demo-vm-42', customAttributes: {}, hostName: DEMO_HOST_NAME.toUpperCase() };
    const params: GetPasswordParams = { vault: DEMO_VAULT, resource: byHost, accountId: DEMO_HOST_ACCOUNT.id, requestedBy: 'demo.user@example.com' };
    const body = await command(s.api, { name: 'getPassword', params }, signal);
    const pw = passwordOf(body);
    const data = body.data as unknown as GetPasswordData;
    return {
      value: undefined,
      summary: `hostName "${byHost.hostName}" → PMP resource ${data.resourceId} (DNS NAME ${DEMO_HOST_NAME}), ${DEMO_HOST_ACCOUNT.name} (${DEMO_HOST_ACCOUNT.id}) → ${shown(ctx.opts, pw)} · by ${body.gatewayId}`,
    };
  });
  return { password };
}

function accountRows(accounts: readonly AccountSummary[]): string[] {
  const rows = accounts.map((a) => [
    a.accountId,
    a.accountName,
    a.notes ? a.notes : '-',
    [a.ticketIdRequired ? 'ticket ID required' : '', a.reasonRequired ? 'reason required' : ''].filter(Boolean).join(', '),
  ]);
  return table(['id', 'account', 'notes', 'needs'], rows).split('\n');
}
