import { CredgwError, type CredgwErrorOptions } from '../shared/index.js';

/**
 * Why a controller connection failed or ended. These are not the command
 * result codes of protocol section 7 (those travel in `result` frames);
 * they name link failures in logs, in 'backoff' events and for metrics.
 */
export type LinkFailureCode =
  /** The token reference could not be read. */
  | 'TOKEN_UNREADABLE'
  /** TCP connect to the controller failed (refused, reset, DNS). */
  | 'CONNECT_FAILED'
  /** Connect, tunnel, TLS and upgrade together took longer than connectTimeoutMs. */
  | 'CONNECT_TIMEOUT'
  /** The proxy could not be reached or broke the tunnel. */
  | 'PROXY_FAILED'
  /** controller.proxyPassword could not be read. */
  | 'PROXY_PASSWORD_UNREADABLE'
  /** The proxy answered CONNECT with 407: missing or wrong credentials. */
  | 'PROXY_AUTH_REQUIRED'
  /** The proxy answered CONNECT with another non-2xx status. */
  | 'PROXY_REFUSED'
  /** Certificate not trusted, wrong name, wrong pin, or handshake failure. */
  | 'TLS_ERROR'
  /** TLS material of the config (CA file, client cert/key) cannot be read. */
  | 'TLS_CONFIG'
  /** HTTP 401 on upgrade, or close 4001. */
  | 'UNAUTHORIZED'
  /** Another HTTP status instead of 101. */
  | 'UPGRADE_REFUSED'
  /** The controller did not echo the credgw.v1 subprotocol. */
  | 'PROTOCOL_MISMATCH'
  /** No welcome within welcomeTimeoutMs. */
  | 'WELCOME_TIMEOUT'
  /** welcome of another protocol version (we close 4002) or the controller closed 4002. */
  | 'VERSION_MISMATCH'
  /** Too many protocol violations (we close 4000) or the controller closed 4000. */
  | 'PROTOCOL_ERROR'
  /** Nothing heard for 3 × heartbeatMs; the socket was terminated. */
  | 'LIVENESS'
  /** The controller closed 4003: another connection holds this gatewayId. */
  | 'REPLACED'
  /** Any other close (normal close, going away, network loss). */
  | 'CLOSED';

export class LinkError extends CredgwError<LinkFailureCode> {
  override readonly name = 'LinkError';
}

/** A controller section of the config the link cannot work with; `key` is the config path. Its code is the one `credgw run` shows for it. */
export class LinkConfigError extends CredgwError<'CONFIG_INVALID'> {
  override readonly name = 'LinkConfigError';
  constructor(
    readonly key: string,
    message: string,
    options?: CredgwErrorOptions,
  ) {
    super('CONFIG_INVALID', `${key}: ${message}`, options);
  }
}
