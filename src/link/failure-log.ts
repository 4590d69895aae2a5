import type { LinkFailureCode } from './link-errors.js';

/** Messages logged once per failed or ended connection, by code. */
export const FAILURE_LOG: Record<LinkFailureCode, { level: 'warn' | 'error' | 'info'; msg: string }> = {
  TOKEN_UNREADABLE: { level: 'error', msg: 'cannot read the controller token' },
  CONNECT_FAILED: { level: 'warn', msg: 'cannot connect to the controller' },
  CONNECT_TIMEOUT: { level: 'warn', msg: 'controller connection timed out' },
  PROXY_FAILED: { level: 'error', msg: 'cannot reach the proxy' },
  PROXY_PASSWORD_UNREADABLE: { level: 'error', msg: 'cannot read the proxy password' },
  PROXY_AUTH_REQUIRED: { level: 'error', msg: 'proxy refused the credentials' },
  PROXY_REFUSED: { level: 'error', msg: 'proxy refused the tunnel' },
  TLS_ERROR: { level: 'error', msg: 'TLS with the controller failed' },
  TLS_CONFIG: { level: 'error', msg: 'cannot read the controller TLS files' },
  UNAUTHORIZED: { level: 'error', msg: 'controller refused the token' },
  UPGRADE_REFUSED: { level: 'error', msg: 'controller refused the WebSocket upgrade' },
  PROTOCOL_MISMATCH: { level: 'error', msg: 'controller does not speak credgw.v1' },
  WELCOME_TIMEOUT: { level: 'warn', msg: 'controller sent no welcome' },
  VERSION_MISMATCH: { level: 'error', msg: 'controller speaks another protocol version' },
  PROTOCOL_ERROR: { level: 'warn', msg: 'controller broke the protocol' },
  LIVENESS: { level: 'warn', msg: 'controller went silent' },
  REPLACED: { level: 'warn', msg: 'another connection holds this gatewayId' },
  CLOSED: { level: 'info', msg: 'controller connection closed' },
};
