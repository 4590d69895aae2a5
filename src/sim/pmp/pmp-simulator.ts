import { setMaxListeners } from 'node:events';
import { createServer, type Server } from 'node:https';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import { pino } from 'pino';
import { systemClock, type Clock } from '../../shared/index.js';
import { makeSelfSignedCertificate, spkiPinFromPem } from '../../tls/index.js';
import { AccessControl, type AccessControlOptions, type AccessRequestView, type RequestSelector } from './access-control.js';
import { Answerer, validLatency } from './answers.js';
import { AuditTrail, type SimAuditRow } from './audit-trail.js';
import { PmpAuth } from './auth.js';
import { resolveBehaviour, type PmpSimBehaviour } from './behaviour.js';
import { FaultTable, type Fault } from './faults.js';
import { withGenerated, type GenerateOptions } from './generate.js';
import { SimHooks, type PasswordChangedListener } from './hooks.js';
import { PmpApi } from './pmp-api.js';
import { pmpRequestHandler } from './request-handler.js';
import { compileResponses, PMP_VARIANTS, type PmpVariant } from './responses.js';
import { Rotator, type RotationOptions, type RotationResult } from './rotation.js';
import { PmpRouter } from './routes.js';
import { SAMPLE_DATA, validateSimData, type PmpSimData } from './sim-data.js';
import { PmpSimError } from './sim-errors.js';
import { SimStats, type PmpSimStats } from './stats.js';

/**
 * A real HTTPS server that answers like ManageEngine PMP / PAM360's REST
 * API v1 (shared/reference/pmp-api.md), for tests, benchmarks, the demo
 * and admins without a PMP. It is the floor of every benchmark, so every
 * answer body is built at start and a request costs a path split, a few
 * map lookups and one write.
 */

export interface PmpSimOptions {
  /** TCP port; 0 picks a free one. Default 0 (the CLI defaults to 7272, PMP's port). */
  port?: number;
  /** Address to listen on. Default '127.0.0.1'. */
  host?: string;
  /** What to serve (validated; defaults filled in). Default {@link SAMPLE_DATA}. */
  data?: PmpSimData;
  /** Server certificate and key (PEM). Default: a fresh self-signed certificate for localhost, 127.0.0.1, ::1 and `host`. */
  tls?: { certPem: string; keyPem: string };
  /** Delay before every PMP answer (not faults, not the admin endpoint). Default 0. */
  latencyMs?: number;
  /** Which family of real builds to imitate (see responses.ts). Default 'pmp-new'. */
  variant?: PmpVariant;
  /** Logger; per-request lines are debug level only. Default: silent. */
  logger?: Logger;
  /** Time source for the latency delay, access requests' expiry and audit times. Default systemClock. */
  clock?: Clock;
  /** Generated resources added after `data`'s (generate.ts). Default: none. */
  generate?: GenerateOptions;
  /** Switches for what no recorded answer confirms (behaviour.ts). Default DEFAULT_BEHAVIOUR. */
  behaviour?: Partial<PmpSimBehaviour>;
  /** Called after a password change through the API stored the new password. Default: none. */
  onPasswordChanged?: PasswordChangedListener;
  /** PAM360's access control: approval timeout, auto check-in, the *(unconfirmed)* answers. Defaults in access-control.ts. */
  accessControl?: AccessControlOptions;
  /** What a password change sets off: reset listener, syslog target, operation names. Default: audit rows only. */
  rotation?: RotationOptions;
}

export interface PmpSimulator {
  /** e.g. https://127.0.0.1:7272 */
  readonly url: string;
  readonly port: number;
  /** The server certificate (PEM): what a vault profile's caFile holds. */
  readonly certPem: string;
  /** base64 SHA-256 SPKI pin of the certificate. */
  readonly pin: string;
  /** The API users' tokens (simulator data, not secrets of any real system). */
  readonly tokens: string[];
  /** The integrations' application tokens (simulator data too). */
  readonly integrationTokens: string[];
  /** The served data, with defaults filled in; a password change through the API changes it. */
  readonly data: PmpSimData;
  readonly variant: PmpVariant;
  readonly behaviour: Readonly<PmpSimBehaviour>;
  /** Adds a password-changed listener; returns the function that removes it. */
  onPasswordChanged(listener: PasswordChangedListener): () => void;
  inject(fault: Fault): void;
  clearFaults(): void;
  stats(): PmpSimStats;
  resetStats(): void;
  setLatency(ms: number): void;
  /** Every access request with its state (GET /__sim/requests). */
  accessRequests(): AccessRequestView[];
  /** Approves a pending request, as an approver in the UI would (POST /__sim/requests/approve). */
  approveRequest(sel: RequestSelector, approver?: string): AccessRequestView;
  /** Rejects a pending request (POST /__sim/requests/reject). */
  rejectRequest(sel: RequestSelector, approver?: string, note?: string): AccessRequestView;
  /** A scheduled rotation with its side effects (POST /__sim/rotate). */
  rotate(body: { resourceId?: string; resourceName?: string; accountId?: string; accountName?: string; newPassword?: string; reason?: string; operation?: string }): Promise<RotationResult>;
  /** The audit trail (GET /__sim/audit). */
  auditRows(): SimAuditRow[];
  /** Stops listening and destroys every connection, hanging ones included. */
  close(): Promise<void>;
}

export async function startPmpSimulator(opts: PmpSimOptions = {}): Promise<PmpSimulator> {
  const host = opts.host ?? '127.0.0.1';
  const variant = opts.variant ?? 'pmp-new';
  if (!PMP_VARIANTS.includes(variant)) {
    throw new PmpSimError('SIM_DATA_INVALID', 'variant', `must be one of ${PMP_VARIANTS.join(', ')}`);
  }
  const base = opts.data ?? SAMPLE_DATA;
  const data = validateSimData(opts.generate ? withGenerated(base, opts.generate) : base);
  const behaviour = resolveBehaviour(opts.behaviour);
  const log = opts.logger ?? pino({ level: 'silent' });
  const clock = opts.clock ?? systemClock;
  const latencyMs = validLatency(opts.latencyMs ?? 0);

  const altNames = ['localhost', '127.0.0.1', '::1'];
  if (!altNames.includes(host) && host !== '0.0.0.0' && host !== '::') altNames.push(host);
  const tls = opts.tls ?? (await makeSelfSignedCertificate({ commonName: 'credgw PMP simulator', altNames }));
  const pin = spkiPinFromPem(tls.certPem);

  const responses = compileResponses(data, variant);
  const faults = new FaultTable();
  const stats = new SimStats();
  const closing = new AbortController();
  // Every delayed answer listens for close(); many at once is normal under load.
  setMaxListeners(0, closing.signal);
  const answerer = new Answerer(clock, closing.signal, latencyMs);
  const audit = new AuditTrail(clock);
  const access = new AccessControl({ responses, audit, clock, log, options: opts.accessControl });
  const rotation = new Rotator({ responses, audit, clock, log, options: opts.rotation });
  const hooks = new SimHooks(log);
  // A change through the PMP API sets off what a rotation does (listener, syslog line, audit row); its failure is logged only.
  hooks.onPasswordChanged((r, a) => {
    rotation.passwordChanged(r.id, a.id).catch((err: unknown) => {
      log.warn({ err, resourceId: r.id, accountId: a.id }, 'pmp simulator password-change side effects failed');
    });
  });
  if (opts.onPasswordChanged) hooks.onPasswordChanged(opts.onPasswordChanged);
  const auth = new PmpAuth(data, responses, behaviour);
  const api = new PmpApi({ router: new PmpRouter(), auth, responses, stats, answerer, behaviour, hooks, access });
  const onRequest = pmpRequestHandler({ api, admin: { faults, stats, answerer, access, rotation, audit }, faults, stats, log });

  const server: Server = createServer({ cert: tls.certPem, key: tls.keyPem, keepAlive: true }, onRequest);
  server.on('tlsClientError', (err) => log.debug({ err }, 'pmp simulator tls handshake failed'));

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('pmp simulator: no TCP address after listen');
  const port = address.port;
  const urlHost = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : isIP(host) === 6 ? `[${host}]` : host;
  const url = `https://${urlHost}:${port}`;
  log.info(
    { url, variant, resources: data.resources.length, apiUsers: data.apiUsers.length, integrations: data.integrations.length },
    'pmp simulator listening',
  );

  let closed: Promise<void> | undefined;
  return {
    url,
    port,
    certPem: tls.certPem,
    pin,
    tokens: data.apiUsers.map((u) => u.token),
    integrationTokens: data.integrations.map((g) => g.token),
    data,
    variant,
    behaviour,
    onPasswordChanged: (listener) => hooks.onPasswordChanged(listener),
    inject: (fault) => faults.add(fault),
    clearFaults: () => faults.clear(),
    stats: () => stats.snapshot(),
    resetStats: () => stats.reset(),
    setLatency: (ms) => {
      answerer.setLatency(ms);
    },
    accessRequests: () => access.list(),
    approveRequest: (sel, approver) => access.approve(sel, approver),
    rejectRequest: (sel, approver, note) => access.reject(sel, approver, note),
    rotate: (body) => rotation.rotate(body),
    auditRows: () => audit.rows(),
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        closing.abort();
        server.close(() => resolve());
        server.closeAllConnections();
        log.info({ url }, 'pmp simulator closed');
      });
      return closed;
    },
  };
}
