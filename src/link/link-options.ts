import type { Logger } from 'pino';
import type { ControllerConfig } from '../config/index.js';
import type { VaultHealth } from '../protocol/index.js';
import type { Clock } from '../shared/index.js';
import type { BackoffPolicy } from './backoff.js';

/** Longest connect + proxy tunnel + TLS + upgrade, in ms. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 15_000;
/** How long a close handshake we start may take before the socket is destroyed, in ms. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 5_000;

export interface ControllerLinkOptions {
  /** The controller section of the compiled config. */
  controller: ControllerConfig;
  gatewayId: string;
  clusterId: string;
  /** Sent in hello; higher wins the active role among healthy gateways. */
  priority: number;
  /** The gateway's version, sent in hello. */
  version: string;
  /** Capabilities announced in hello. Default CAPABILITIES (the three commands, sealedDelivery, accessRequests). */
  capabilities?: readonly string[];
  /** Reads the bearer token; called at every dial so a rotated token is picked up. */
  readToken: () => Promise<string>;
  /** Reads controller.proxyPassword; called at every dial through controller.proxy. Default: the proxy URL's own credentials. */
  readProxyPassword?: () => Promise<string>;
  /** Current vault health, sent in every hello. */
  vaultHealth: () => VaultHealth[];
  logger: Logger;
  clock: Clock;
  /** Random source in [0, 1] for backoff jitter. Default Math.random. */
  random?: () => number;
  /** Environment for HTTPS_PROXY / NO_PROXY. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Reconnect policy. Default { baseMs: 250, capMs: 30000 } (protocol section 2). */
  backoff?: BackoffPolicy;
  /** How long to wait for welcome after hello, in ms. Default 10000 (protocol section 3). */
  welcomeTimeoutMs?: number;
  /** Longest TCP + proxy + TLS + upgrade, in ms. Default 15000. */
  connectTimeoutMs?: number;
  /** Longest close handshake we start (stop(), 4000, 4002, 1003) before the socket is destroyed, in ms. Default 5000. */
  closeTimeoutMs?: number;
}
