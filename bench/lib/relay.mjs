#!/usr/bin/env node
// Path (e) of the gateway benchmark: the least a gateway can do, posing as
// `credgw run` (same command line, same config.json). It dials the
// controller (credgw.v1, the same upgrade headers), says hello, follows
// welcome/role, pings every heartbeatMs (ws answers pings), and relays each
// command to PMP on one undici Pool per vault with credgw's trust: the
// account list (metadata, cached for the profile's TTL as the vault client
// does) for the account's name, then the password call — the HTTP calls
// credgw makes for a getPassword by resource ID. Results of one event-loop
// turn leave in one write, as credgw's do. No validation, audit, policy,
// deadline, metrics or logging: bench code, for loopback only.
//   node bench/lib/relay.mjs --config-dir DIR run

import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { passwordOf, pmpGet, pmpPool } from './raw-pmp.mjs';

const API = '/restapi/json/v1';
// The vault client's default metadata TTL (src/config/defaults.ts DEFAULT_METADATA_TTL_MS).
const METADATA_TTL_MS = 30_000;
const RECONNECT_MS = 250;

const { values } = parseArgs({ options: { 'config-dir': { type: 'string' } }, allowPositionals: true });
const config = JSON.parse(readFileSync(join(values['config-dir'] ?? '.', 'config.json'), 'utf8'));

/** A secret reference of the config (file:///…, env://…, credential://…) read once. */
function secret(ref) {
  if (ref.startsWith('file://')) return readFileSync(new URL(ref), 'utf8').trim();
  if (ref.startsWith('env://')) return (process.env[ref.slice('env://'.length)] ?? '').trim();
  if (ref.startsWith('credential://')) return readFileSync(join(process.env.CREDENTIALS_DIRECTORY ?? '', ref.slice('credential://'.length)), 'utf8').trim();
  return ref;
}

const vaults = new Map();
for (const v of config.vaults) {
  vaults.set(v.name, {
    pool: await pmpPool({ origin: v.url, caFile: v.caFile ?? null, connections: v.maxConnections ?? 32, timeoutMs: v.timeoutMs ?? 10_000 }),
    headers: { AUTHTOKEN: secret(v.token), accept: 'application/json' },
    attribute: v.resourceIdAttribute,
    ttlMs: v.metadataTtlMs ?? METADATA_TTL_MS,
    lists: new Map(), // resource ID → { until, details }
  });
}

class CommandError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

function vaultOf(params) {
  const vault = vaults.get(params.vault);
  if (!vault) throw new CommandError('UNKNOWN_VAULT', 'no such vault profile');
  return [vault, params.resource?.customAttributes?.[vault.attribute]];
}

/** The account list's Details of a resource, cached for the profile's TTL. */
async function accountList(vault, resourceId) {
  const cached = vault.lists.get(resourceId);
  if (cached && cached.until > performance.now()) return cached.details;
  const details = await pmpGet(vault.pool, `${API}/resources/${resourceId}/accounts`, vault.headers);
  vault.lists.set(resourceId, { until: performance.now() + vault.ttlMs, details });
  return details;
}

const listed = (details) => (Array.isArray(details) ? details[0] : details)?.['ACCOUNT LIST'] ?? [];

async function getPassword(params) {
  const [vault, resourceId] = vaultOf(params);
  const account = listed(await accountList(vault, resourceId)).find((a) => a['ACCOUNT ID'] === params.accountId);
  if (!account) throw new CommandError('ACCOUNT_NOT_FOUND', 'the resource has no such account');
  const input = {};
  if (params.reason) input.REASON = params.reason;
  if (params.ticketId) input.TICKETID = params.ticketId;
  const query = Object.keys(input).length ? `?INPUT_DATA=${encodeURIComponent(JSON.stringify({ operation: { Details: input } }))}` : '';
  const path = `${API}/resources/${resourceId}/accounts/${params.accountId}/password${query}`;
  const password = passwordOf(await pmpGet(vault.pool, path, vault.headers));
  return { resourceId, accountId: params.accountId, accountName: account['ACCOUNT NAME'], password };
}

async function listAccounts(params) {
  const [vault, resourceId] = vaultOf(params);
  const details = await accountList(vault, resourceId);
  const accounts = listed(details).map((a) => ({ accountId: a['ACCOUNT ID'], accountName: a['ACCOUNT NAME'] }));
  return { resourceId, resourceName: (Array.isArray(details) ? details[0] : details)?.['RESOURCE NAME'] ?? '', accounts, totalAccounts: accounts.length };
}

const COMMANDS = { getPassword, listAccounts };

// ---- the controller link ------------------------------------------------------

const controllerUrl = new URL(config.controller.url);
const secure = controllerUrl.protocol === 'wss:';
const controllerCa = config.controller.caFile ? [...tls.rootCertificates, readFileSync(config.controller.caFile, 'utf8')] : undefined;

function connect() {
  const host = controllerUrl.hostname.replace(/^\[|\]$/g, '');
  const port = Number(controllerUrl.port) || (secure ? 443 : 80);
  const socket = secure
    ? tls.connect({ host, port, ca: controllerCa, ...(net.isIP(host) ? {} : { servername: host }), ALPNProtocols: ['http/1.1'] })
    : net.connect({ host, port });
  const ws = new WebSocket(controllerUrl.href, 'credgw.v1', {
    createConnection: () => socket,
    headers: {
      Authorization: `Bearer ${secret(config.controller.token)}`,
      'X-Credgw-Gateway': config.gatewayId,
      'X-Credgw-Cluster': config.clusterId,
      'User-Agent': 'credgw-bench-relay',
    },
    perMessageDeflate: false,
    followRedirects: false,
  });
  let role = 'standby';
  let epoch = -1;
  let pinger;
  let corked = false;
  const uncork = () => {
    corked = false;
    socket.uncork();
  };
  const send = (frame) => {
    if (!corked) {
      corked = true;
      socket.cork();
      setImmediate(uncork);
    }
    ws.send(JSON.stringify(frame));
  };
  const run = (cmd) => {
    const { id } = cmd;
    const fail = (code, message) => send({ type: 'result', id, epoch: cmd.epoch, ok: false, error: { code, message, retryable: code === 'NOT_ACTIVE' } });
    if (role !== 'active' || cmd.epoch !== epoch) return fail('NOT_ACTIVE', 'not the active gateway at this epoch');
    const handler = COMMANDS[cmd.name];
    if (!handler) return fail('BAD_REQUEST', 'unknown command');
    handler(cmd.params ?? {}).then(
      (data) => send({ type: 'result', id, epoch: cmd.epoch, ok: true, data }),
      (err) => fail(err instanceof CommandError ? err.code : 'VAULT_ERROR', err instanceof CommandError ? err.message : 'the vault call failed'),
    );
  };

  ws.on('open', () => {
    const health = [...vaults.keys()].map((name) => ({ name, healthy: true }));
    ws.send(
      JSON.stringify({
        type: 'hello',
        protocol: 1,
        gatewayId: config.gatewayId,
        clusterId: config.clusterId,
        version: 'bench-relay',
        priority: config.priority ?? 100,
        capabilities: Object.keys(COMMANDS),
        vaults: health,
      }),
    );
  });
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const msg = JSON.parse(data.toString('utf8'));
    if (msg.type === 'command') {
      run(msg);
    } else if (msg.type === 'welcome' || msg.type === 'role') {
      role = msg.role;
      epoch = msg.epoch;
      if (msg.type === 'welcome' && !pinger) pinger = setInterval(() => ws.ping(), msg.heartbeatMs ?? 1000);
    }
  });
  ws.on('error', (err) => process.stderr.write(`relay: controller link: ${err.code ?? err.message}\n`));
  ws.on('close', () => {
    clearInterval(pinger);
    setTimeout(connect, RECONNECT_MS);
  });
}

// SIGTERM ends the process through env.mjs's handler (raw-pmp.mjs imports it).
connect();
