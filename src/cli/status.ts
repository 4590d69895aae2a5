import { Command } from 'commander';
import { ConfigError, DEFAULT_TELEMETRY_LISTEN, readConfigFile } from '../config/index.js';
import { computeReadiness, fetchGatewayStatus } from '../telemetry/index.js';
import type { EventsStatus, GatewayStatus } from '../telemetry/index.js';
import { CredgwError } from '../shared/index.js';
import { UsageError, type CliContext } from './cli-context.js';
import { table } from './table.js';

/**
 * `credgw status [--json] [--listen host:port]`: asks the running daemon
 * (its loopback telemetry endpoint, `telemetry.listen` of the config) how
 * it is, and prints it. Exit 0 when a daemon answered, 1 when none did
 * (`error: NOT_RUNNING: credgw is not running (no answer on …)`), 2 on a
 * usage error.
 */
export function statusCommand(ctx: CliContext): Command {
  return new Command('status')
    .description("show the running daemon's role, link, vaults and load (from its loopback endpoint)")
    .option('--json', 'print the status document as JSON')
    .option('--listen <host:port>', 'the endpoint to ask (default: telemetry.listen of the config)')
    .option('--timeout <ms>', 'how long to wait for an answer', '5000')
    .action(async (opts: { json?: boolean; listen?: string; timeout: string }) => {
      const timeoutMs = Number(opts.timeout);
      if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 600_000) throw new UsageError('--timeout must be 1-600000 ms');
      const listen = opts.listen ?? telemetryListen(ctx);
      const status = await fetchGatewayStatus(listen, { timeoutMs });
      if (opts.json) ctx.out(JSON.stringify(status, null, 2));
      else ctx.out(formatStatus(status));
    });
}

/**
 * telemetry.listen of the config. A config that no longer compiles may
 * still be what the running daemon started with (a bad reload is refused),
 * so the raw file is read without the cross-field rules, and a missing file
 * means the default.
 */
export function telemetryListen(ctx: CliContext): string {
  const store = ctx.store();
  if (!store.exists()) return DEFAULT_TELEMETRY_LISTEN;
  let raw;
  try {
    raw = readConfigFile(store.path, { parseOnly: true });
  } catch (err) {
    if (err instanceof ConfigError) {
      throw new CredgwError('CONFIG_INVALID', `cannot read telemetry.listen from ${store.path}: ${err.problems[0] ?? err.message}; pass --listen host:port`, { cause: err });
    }
    throw err;
  }
  const listen = (raw.telemetry as { listen?: unknown } | undefined)?.listen;
  if (listen === null) {
    throw new CredgwError('TELEMETRY_DISABLED', `telemetry.listen is null in ${store.path}: the daemon has no status endpoint (set it, for example ${DEFAULT_TELEMETRY_LISTEN})`);
  }
  if (listen === undefined) return DEFAULT_TELEMETRY_LISTEN;
  if (typeof listen !== 'string') throw new CredgwError('CONFIG_INVALID', `telemetry.listen in ${store.path} is not a string; pass --listen host:port`);
  return listen;
}

/** The human-readable summary. */
export function formatStatus(s: GatewayStatus): string {
  const lines: string[] = [];
  const readiness = computeReadiness(s);
  lines.push(`credgw ${s.version}, pid ${s.pid}, ${s.lifecycle}, up ${formatDuration(s.uptimeMs)} (since ${s.startedAt})`);
  lines.push(`gateway    ${s.gatewayId} in cluster ${s.clusterId}`);
  const since = s.roleChangedAt ? ` since ${s.roleChangedAt}` : '';
  lines.push(`role       ${s.role}${s.epoch === null ? '' : `, epoch ${s.epoch}`}${since}`);
  const link = s.link;
  const connected = link.connectedSince ? ` since ${link.connectedSince}` : '';
  lines.push(`link       ${link.state}${link.url ? ` to ${link.url}` : ''}${connected}, ${link.reconnects} reconnect${link.reconnects === 1 ? '' : 's'}`);
  if (link.lastError) lines.push(`           last error: ${oneLine(link.lastError)}`);
  // `?? 0`: a daemon of an older version answering on the port has no queue count.
  lines.push(`in flight  ${s.inFlight}, queued ${s.queued ?? 0}`);
  lines.push(`ready      ${readiness.ready ? 'yes' : `no: ${readiness.reasons.join('; ')}`}`);
  for (const warning of readiness.warnings) lines.push(`WARNING    ${warning}`);
  const loops = Object.entries(s.loops ?? {});
  if (loops.length > 0) {
    lines.push(
      `loops      ${loops
        .map(([name, l]) => `${name} ${l.healthy ? 'ok' : 'STALLED'}${l.lastTickAgoMs === null ? '' : ` (${formatDuration(l.lastTickAgoMs)} ago)`}`)
        .join(', ')}`,
    );
  }
  if (s.events) lines.push(...formatEvents(s.events));
  lines.push('');
  if (s.vaults.length === 0) lines.push('no vaults configured');
  else {
    const rows = s.vaults.map((v) => [
      v.name,
      v.healthy === null ? 'unknown' : v.healthy ? 'healthy' : 'UNHEALTHY',
      v.url,
      v.lastCheckedAt ?? '-',
      v.lastError ? oneLine(`${v.error ? `${v.error}: ` : ''}${v.lastError}`) : '-',
    ]);
    lines.push(table(['VAULT', 'HEALTH', 'URL', 'CHECKED', 'LAST ERROR'], rows));
    for (const v of s.vaults) {
      const d = v.dnsIndex;
      if (!d) continue;
      lines.push(
        `dns index  ${v.name}: ${d.indexed}/${d.listed} resources indexed, complete ${d.complete ? 'yes' : 'no'} (${d.state}), ${d.duplicates} duplicate DNS name${d.duplicates === 1 ? '' : 's'}`,
      );
    }
  }
  return lines.join('\n');
}

/** The outbox, the notice listener and the syslog receiver (protocol sections 11 and 12). */
function formatEvents(e: EventsStatus): string[] {
  const oldest = e.oldestAgeMs === null ? '' : `, oldest ${formatDuration(e.oldestAgeMs)}`;
  const lines = [`events     ${e.pending} pending${oldest}, ${e.inFlight} in flight, ${e.droppedTotal} dropped (state dir ${e.stateDir})`];
  const l = e.listener;
  if (l) {
    const refused = Object.entries(l.refused).map(([code, n]) => `${code} ${n}`);
    lines.push(`listener   https://${l.listen}, pin sha256//${l.pin}, ${l.accepted} accepted${refused.length > 0 ? `, refused ${refused.join(', ')}` : ''}`);
  } else if (e.listenerError) {
    lines.push(`listener   NOT RUNNING: ${oneLine(e.listenerError)}`);
  }
  if (e.syslog) {
    const listen = Object.entries(e.syslog.listen).map(([t, a]) => `${t} ${a}`);
    const counts = Object.entries(e.syslog.counts).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`);
    lines.push(`syslog     ${listen.join(', ')}${counts.length > 0 ? `; ${counts.join(', ')}` : ''}`);
  }
  return lines;
}

/** 3d 4h, 2h 5m, 4m 10s, 12s, 250 ms. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${sec}s`;
  return `${sec}s`;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}
