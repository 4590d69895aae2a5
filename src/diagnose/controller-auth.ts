import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { upgrade, type UpgradeRefusal } from '../link/index.js';
import { SUBPROTOCOL } from '../protocol/index.js';
import { type Clock, type TimerHandle, unrefTimer, VERSION } from '../shared/index.js';
import type { CheckLevel } from './check.js';

/** The controller's answer to the upgrade: the auth line, and its status and Date for the clock check. */
export interface AuthAnswer {
  level: CheckLevel;
  detail: string;
  /** The HTTP status of the answer; 0 when none came. */
  status: number;
  /** The answer's Date header, if it had one. */
  date: string | undefined;
}

export interface AuthProbeOptions {
  /** The controller's URL. */
  url: URL;
  /** The connected (and, for wss://, trusted) socket. */
  socket: Socket;
  token: string;
  gatewayId: string;
  clusterId: string;
  clock: Clock;
  /** Longest wait for the answer, ms. */
  timeoutMs: number;
}

/**
 * The WebSocket upgrade with the gateway's token, as the link sends it
 * (link/dial.ts upgrade()), closed with 1000 as soon as it opens, before
 * any hello: the controller sees no session, so a running daemon with the
 * same gatewayId is not replaced.
 */
export function probeAuth(options: AuthProbeOptions): Promise<AuthAnswer> {
  const { socket, clock, timeoutMs } = options;
  return new Promise((resolve) => {
    let date: string | undefined;
    let status = 0;
    let settled = false;
    const done = (level: CheckLevel, detail: string): void => {
      if (settled) return;
      settled = true;
      clock.clearTimeout(timer);
      resolve({ level, detail, status, date });
    };
    const ws = upgrade({
      url: options.url,
      socket,
      token: options.token,
      gatewayId: options.gatewayId,
      clusterId: options.clusterId,
      userAgent: `credgw/${VERSION} (diagnose)`,
      refused: (refusal) => {
        status = refusal.status;
        date = refusal.date;
        done('fail', refusalDetail(refusal));
      },
    });
    const timer = clock.setTimeout(() => {
      ws.terminate();
      socket.destroy();
      done('fail', `no answer to the WebSocket upgrade within ${timeoutMs} ms`);
    }, timeoutMs);
    ws.on('upgrade', (res: IncomingMessage) => {
      status = res.statusCode ?? 101;
      const d = res.headers.date;
      date = Array.isArray(d) ? d[0] : d;
    });
    let closeTimer: TimerHandle | null = null;
    ws.on('open', () => {
      ws.close(1000, 'credgw diagnose');
      // A controller that never answers the close frame must not hold the CLI for ws's 30 s.
      closeTimer = unrefTimer(clock.setTimeout(() => ws.terminate(), 1000));
      done('ok', `token accepted (HTTP 101, subprotocol ${SUBPROTOCOL}); closed before hello`);
    });
    ws.on('close', () => {
      clock.clearTimeout(closeTimer);
      socket.destroy();
    });
    ws.on('error', (err: Error) => {
      socket.destroy();
      done('fail', `WebSocket upgrade failed: ${err.message}`);
    });
  });
}

/** The auth line for an upgrade the controller refused. */
function refusalDetail({ error, status, answered }: UpgradeRefusal): string {
  if (error.code === 'UNAUTHORIZED') return 'token refused (HTTP 401): check controller.token against the token the cloud issued for this gateway';
  if (error.code === 'PROTOCOL_MISMATCH') return `the controller accepted the token but ${answered}`;
  if (status === 403) return 'the controller refused this gateway (HTTP 403)';
  return `the controller ${answered} instead of 101 (is controller.url the gateway endpoint?)`;
}
