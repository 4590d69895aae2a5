import { hostname as osHostname } from 'node:os';
import * as D from './defaults.js';
import type { RawConfig } from './schema.js';

/**
 * What `credgw config init` writes: a valid config that the vault CLI can
 * use at once, with every tunable spelled out at its default. JSON has no
 * comments, so the explanations are `"//…"` keys, which the schema allows
 * in every object and compile ignores.
 */
export function startingConfig(hostname: string = osHostname()): RawConfig {
  const id = hostname.replace(/[^A-Za-z0-9._:-]/g, '-').slice(0, 128) || 'credgw';
  return {
    '//': 'credgw configuration. Keys starting with // are comments. Every key is described in docs/configuration.md; check the file with: credgw config validate',
    gatewayId: id,
    '//gatewayId': 'this gateway, unique in the tenant',
    clusterId: id,
    '//clusterId': 'gateways that share a clusterId form one active/standby pair: give both the same value',
    priority: D.DEFAULT_PRIORITY,
    '//controller':
      'to connect to the cloud, put the gateway token in /etc/credgw/credentials/controller (root:credgw 0640) and replace null with {"url": "wss://cloud.example.com/gateway", "token": "credential://credgw_controller"}',
    controller: null,
    '//vaults':
      'put each API key in /etc/credgw/credentials/NAME (root:credgw 0640), then: credgw vault add NAME --url https://pmp.example:7272 --token credential://credgw_NAME --ca-file /etc/credgw/NAME.pem',
    vaults: [],
    policy: {
      '//': 'allowResources null allows every PMP resource; denyAccounts are never fetched; the rate limit is per account',
      allowResources: null,
      denyAccounts: [],
      maxFetchesPerAccountPerMinute: null,
    },
    limits: { maxInFlight: D.DEFAULT_MAX_IN_FLIGHT, maxQueued: D.DEFAULT_MAX_QUEUED, drainTimeoutMs: D.DEFAULT_DRAIN_TIMEOUT_MS },
    telemetry: {
      '//': 'listen is the loopback health/metrics/status endpoint (null turns it off); audit is "stdout" or an absolute file path',
      listen: D.DEFAULT_TELEMETRY_LISTEN,
      logLevel: D.DEFAULT_LOG_LEVEL,
      audit: D.DEFAULT_AUDIT,
    },
  };
}
