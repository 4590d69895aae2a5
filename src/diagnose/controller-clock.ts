import http, { type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Clock } from '../shared/index.js';
import { VERSION } from '../shared/index.js';
import type { CheckLevel } from './check.js';
import { withTimeout } from './with-timeout.js';

/** Clock skew against the controller above this is a warning (ms). */
export const SKEW_WARN_MS = 30_000;
/** …and above this a failure (ms): token lifetimes and audit times go wrong. */
export const SKEW_FAIL_MS = 5 * 60_000;

/** The clock line: the local clock against the controller's Date header, read at `localAt` (ms). */
export function skewCheck(date: string | undefined, localAt: number): { level: CheckLevel; detail: string } {
  if (date === undefined) return { level: 'warn', detail: 'cannot tell the clock skew: the controller sent no Date header' };
  const remote = Date.parse(date);
  if (Number.isNaN(remote)) return { level: 'warn', detail: 'cannot tell the clock skew: the controller sent an unreadable Date header' };
  // Date has a resolution of one second: the remote time lies in [remote, remote + 1000).
  const skew = remote + 500 - localAt;
  const abs = Math.abs(skew);
  const words = abs < 1000 ? 'agrees with the controller (within 1 s)' : `is ${formatSkew(abs)} ${skew > 0 ? 'behind' : 'ahead of'} the controller`;
  const level: CheckLevel = abs > SKEW_FAIL_MS ? 'fail' : abs > SKEW_WARN_MS ? 'warn' : 'ok';
  const advice = level === 'ok' ? '' : '; synchronise the clock (timedatectl status, chrony or systemd-timesyncd)';
  return { level, detail: `local clock ${words} (local ${new Date(localAt).toISOString()}, controller ${new Date(remote).toISOString()})${advice}` };
}

export interface HeadDateOptions {
  /** A fresh connection to the controller (same route, same trust as the link's). */
  socket: Socket;
  host: string;
  port: number;
  secure: boolean;
  clock: Clock;
  timeoutMs: number;
}

/** HEAD / on `socket`, for the controller's Date header and the local time it stands against. */
export function headDate(options: HeadDateOptions): Promise<{ date: string | undefined; localAt: number }> {
  const { socket, host, port, secure, clock } = options;
  const sentAt = clock.now();
  let req: http.ClientRequest | undefined;
  return withTimeout(
    clock,
    options.timeoutMs,
    'HEAD request',
    () =>
      new Promise((resolve, reject) => {
        req = http.request({
          method: 'HEAD',
          path: '/',
          headers: { host: port === (secure ? 443 : 80) ? host : `${host}:${port}`, 'user-agent': `credgw/${VERSION} (diagnose)`, connection: 'close' },
          createConnection: () => socket,
        });
        req.once('response', (res: IncomingMessage) => {
          res.resume();
          socket.destroy();
          const d = res.headers.date;
          resolve({ date: Array.isArray(d) ? d[0] : d, localAt: (sentAt + clock.now()) / 2 });
        });
        req.once('error', (err) => {
          socket.destroy();
          reject(err);
        });
        req.end();
      }),
    () => {
      req?.destroy();
      socket.destroy();
    },
  );
}

function formatSkew(ms: number): string {
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}
