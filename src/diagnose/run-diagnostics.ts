import { constants as fsConstants, readFileSync, statSync, type Stats } from 'node:fs';
import { access } from 'node:fs/promises';
import { dirname } from 'node:path';
import { pino, type Logger } from 'pino';
import {
  ConfigError,
  configFile,
  describeSecretRef,
  isSecretRef,
  readConfigFile,
  readSecret,
  SecretError,
  secretUses,
} from '../config/index.js';
import type { GatewayConfig, VaultProfile } from '../config/index.js';
import { type Clock, systemClock, VERSION } from '../shared/index.js';
import { redactUrlCredentials } from '../link/index.js';
import { describeCertificate, readCaFile } from '../tls/index.js';
import { fetchGatewayStatus, TelemetryError } from '../telemetry/index.js';
import type { CheckLevel, CheckResult } from './check.js';
import { CERT_EXPIRY_WARN_MS, checkController, rememberProxySecret, type ControllerProbeContext } from './controller.js';
import { testVaultConnection } from './vault.js';

/**
 * The checks behind `credgw diagnose`: config and file permissions, the
 * secrets (readable, never shown), the running daemon, then DNS, proxy,
 * TCP, TLS (with the certificate shown), auth and clock skew against the
 * controller, then each vault. One result per check, in order; the output
 * must be safe to paste into a support ticket, so every line is scrubbed of
 * the secrets read during the run and of URL user info before it leaves.
 * The controller probe lives in controller.ts, the vault's in vault.ts.
 */

export interface DiagnoseOptions {
  /** The config directory (`--config-dir`). */
  configDir: string;
  /** Environment for env:// secrets, CREDENTIALS_DIRECTORY, HTTPS_PROXY/NO_PROXY. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Default systemClock. */
  clock?: Clock;
  /** Time-out of each network step, ms. Default 5000. */
  timeoutMs?: number;
  /** Default: silent. */
  logger?: Logger;
  /** Called with each result as soon as it is known (already scrubbed). */
  onResult?: (result: CheckResult) => void;
}

/** Runs every check; resolves with the results (it does not throw for a failed check). */
export async function runDiagnostics(opts: DiagnoseOptions): Promise<CheckResult[]> {
  const run = new Run(opts);
  await run.all();
  return run.results;
}

class Run {
  readonly results: CheckResult[] = [];
  private readonly env: NodeJS.ProcessEnv;
  private readonly clock: Clock;
  private readonly timeoutMs: number;
  private readonly logger: Logger;
  /** Every secret value read or seen in this run: scrubbed from each line. */
  private readonly secrets = new Set<string>();
  /** Token references that could be read, and their values. */
  private readonly tokens = new Map<string, string>();

  constructor(private readonly opts: DiagnoseOptions) {
    this.env = opts.env ?? process.env;
    this.clock = opts.clock ?? systemClock;
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.logger = opts.logger ?? pino({ level: 'silent' });
  }

  /** As the CLI reads it: outside systemd, credential://credgw_FILE from <config dir>/credentials/FILE. */
  private readToken(ref: string): Promise<string> {
    return readSecret(ref, this.env, { configDir: this.opts.configDir });
  }

  add(subject: string, check: string, level: CheckLevel, detail: string): void {
    const r: CheckResult = { subject, check, level, detail: this.scrub(detail) };
    this.results.push(r);
    this.opts.onResult?.(r);
  }

  private scrub(text: string): string {
    let out = text.replace(/\s*\n\s*/g, ' ');
    for (const s of this.secrets) if (s.length >= 4) out = out.split(s).join('[redacted]');
    // user:password@ in any URL, whoever wrote the message.
    return redactUrlCredentials(out);
  }

  async all(): Promise<void> {
    const config = this.checkConfig();
    if (!config) return;
    await this.checkSecrets(config);
    this.checkTlsFiles(config);
    await this.checkAudit(config);
    await this.checkDaemon(config);
    if (config.controller) {
      const ctx: ControllerProbeContext = {
        add: this.add.bind(this),
        rememberSecret: (s) => void this.secrets.add(s),
        clock: this.clock,
        timeoutMs: this.timeoutMs,
        env: this.env,
        tokens: this.tokens,
      };
      await checkController(ctx, config, config.controller);
    }
    else this.add('controller', 'config', 'warn', 'no controller configured: the gateway serves no commands');
    if (config.vaults.length === 0) this.add('vaults', 'config', 'warn', 'no vault profiles configured (add one with credgw vault add)');
    for (const v of config.vaults) await this.checkVault(v);
  }

  // ---- config and files ----

  private checkConfig(): GatewayConfig | undefined {
    const store = configFile(this.opts.configDir);
    this.add('credgw', 'version', 'ok', `${VERSION} on Node ${process.version}, uid ${process.getuid?.() ?? '?'}`);
    if (!store.exists()) {
      this.add('config', 'file', 'fail', `${store.path} does not exist (create it with credgw config init, or pass --config-dir)`);
      return undefined;
    }
    this.checkConfigPermissions(store.dir, store.path);
    let raw;
    try {
      raw = readConfigFile(store.path, { parseOnly: true });
    } catch (err) {
      this.add('config', 'valid', 'fail', err instanceof ConfigError ? err.problems.join('; ') : String((err as Error).message));
      return undefined;
    }
    // A token pasted into the file instead of a reference must not reach the output through a message.
    const rawTokens = [(raw.controller as { token?: unknown } | null | undefined)?.token, ...(raw.vaults ?? []).map((v) => (v as { token?: unknown } | null)?.token)];
    for (const t of rawTokens) if (typeof t === 'string' && !isSecretRef(t)) this.secrets.add(t);
    const proxy = (raw.controller as { proxy?: unknown } | null | undefined)?.proxy;
    if (typeof proxy === 'string') rememberProxySecret(proxy, (s) => this.secrets.add(s));
    let config: GatewayConfig;
    try {
      config = store.load();
    } catch (err) {
      if (err instanceof ConfigError) {
        const shown = err.problems.slice(0, 5);
        const more = err.problems.length > shown.length ? `; and ${err.problems.length - shown.length} more (credgw config validate lists them)` : '';
        this.add('config', 'valid', 'fail', `${store.path}: ${shown.join('; ')}${more}`);
      } else {
        this.add('config', 'valid', 'fail', `${store.path}: ${(err as Error).message}`);
      }
      return undefined;
    }
    const parts = [`${config.vaults.length} vault${config.vaults.length === 1 ? '' : 's'}`, config.controller ? 'controller set' : 'no controller'];
    this.add('config', 'valid', 'ok', `${store.path}: gateway ${config.gatewayId} in cluster ${config.clusterId}, ${parts.join(', ')}`);
    return config;
  }

  private checkConfigPermissions(dir: string, path: string): void {
    const problems: string[] = [];
    let fail = false;
    const dirStat = statOrNull(dir);
    if (dirStat && (dirStat.mode & 0o002) !== 0 && (dirStat.mode & 0o1000) === 0) {
      fail = true;
      problems.push(`${dir} is writable by every user (mode ${mode(dirStat)}): anyone can replace the config; run: chmod o-w ${dir}`);
    }
    const st = statOrNull(path);
    if (st) {
      if ((st.mode & 0o002) !== 0) {
        fail = true;
        problems.push(`${path} is writable by every user (mode ${mode(st)}); run: chmod o-rwx ${path}`);
      } else if ((st.mode & 0o004) !== 0) {
        problems.push(`${path} is readable by every user (mode ${mode(st)}): it names vaults and secret files; run: chmod o-rwx ${path}`);
      }
    }
    if (problems.length > 0) this.add('config', 'permissions', fail ? 'fail' : 'warn', problems.join('; '));
    else if (st) this.add('config', 'permissions', 'ok', `${path} mode ${mode(st)}, owner ${st.uid}:${st.gid}`);
  }

  private async checkSecrets(config: GatewayConfig): Promise<void> {
    for (const { subject, ref, field: check } of secretUses(config)) {
      try {
        const value = await this.readToken(ref);
        this.secrets.add(value);
        this.tokens.set(ref, value);
        this.add(subject, check, 'ok', `${describeSecretRef(ref)}: readable, ${Buffer.byteLength(value, 'utf8')} bytes`);
      } catch (err) {
        this.add(subject, check, 'fail', err instanceof SecretError ? err.message : `${describeSecretRef(ref)}: ${(err as Error).message}`);
      }
    }
  }

  private checkTlsFiles(config: GatewayConfig): void {
    const c = config.controller;
    if (c?.caFile) this.checkCaFile('controller', 'caFile', c.caFile);
    if (c?.certFile) {
      try {
        const certs = readCaFile(c.certFile);
        const info = describeCertificate(certs[0]!);
        const left = Date.parse(info.validTo) - this.clock.now();
        const level: CheckLevel = left <= 0 ? 'fail' : left < CERT_EXPIRY_WARN_MS ? 'warn' : 'ok';
        this.add('controller', 'certFile', level, `${c.certFile}: subject ${info.subject}, valid to ${info.validTo}${left <= 0 ? ' (EXPIRED)' : ''}`);
      } catch (err) {
        this.add('controller', 'certFile', 'fail', (err as Error).message);
      }
    }
    if (c?.keyFile) {
      const st = statOrNull(c.keyFile);
      try {
        readFileSync(c.keyFile);
        if (st && (st.mode & 0o007) !== 0) {
          this.add('controller', 'keyFile', 'fail', `${c.keyFile} is accessible to other users (mode ${mode(st)}); run: chmod o-rwx ${c.keyFile}`);
        } else {
          this.add('controller', 'keyFile', 'ok', `${c.keyFile}: readable${st ? `, mode ${mode(st)}` : ''}`);
        }
      } catch (err) {
        this.add('controller', 'keyFile', 'fail', `cannot read ${c.keyFile} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      }
    }
    for (const v of config.vaults) if (v.caFile) this.checkCaFile(`vault ${v.name}`, 'caFile', v.caFile);
  }

  private checkCaFile(subject: string, check: string, file: string): void {
    try {
      const certs = readCaFile(file);
      this.add(subject, check, 'ok', `${file}: ${certs.length} certificate${certs.length === 1 ? '' : 's'}`);
    } catch (err) {
      this.add(subject, check, 'fail', (err as Error).message);
    }
  }

  private async checkAudit(config: GatewayConfig): Promise<void> {
    const target = config.telemetry.audit;
    if (target === 'stdout') {
      this.add('audit', 'target', 'ok', 'stdout (the journal)');
      return;
    }
    const dir = dirname(target);
    try {
      if (statOrNull(target)) await access(target, fsConstants.W_OK);
      else await access(dir, fsConstants.W_OK);
      this.add('audit', 'target', 'ok', `${target} is writable`);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      this.add('audit', 'target', 'fail', `${statOrNull(target) ? target : dir} is not writable by uid ${process.getuid?.() ?? '?'} (${code}): the daemon will refuse to start`);
    }
  }

  private async checkDaemon(config: GatewayConfig): Promise<void> {
    const listen = config.telemetry.listen;
    if (listen === null) {
      this.add('daemon', 'status', 'warn', 'telemetry.listen is null: no status endpoint to ask');
      return;
    }
    try {
      const s = await fetchGatewayStatus(listen, { timeoutMs: this.timeoutMs });
      const unhealthy = s.vaults.filter((v) => v.healthy === false).map((v) => v.name);
      this.add(
        'daemon',
        'status',
        'ok',
        `running on ${listen}: pid ${s.pid}, ${s.lifecycle}, role ${s.role}${s.epoch === null ? '' : ` epoch ${s.epoch}`}, link ${s.link.state}` +
          (unhealthy.length > 0 ? `, unhealthy vaults: ${unhealthy.join(', ')}` : ''),
      );
    } catch (err) {
      if (err instanceof TelemetryError && err.code === 'NOT_RUNNING') this.add('daemon', 'status', 'warn', err.message);
      else this.add('daemon', 'status', 'fail', (err as Error).message);
    }
  }

  // ---- vaults ----

  private async checkVault(v: VaultProfile): Promise<void> {
    const subject = `vault ${v.name}`;
    if (!this.tokens.has(v.token)) {
      this.add(subject, 'connection', 'fail', 'not tested: the token cannot be read (see the token line above)');
      return;
    }
    try {
      const checks = await testVaultConnection(v, () => this.readToken(v.token), {
        clock: this.clock,
        logger: this.logger,
        timeoutMs: Math.min(this.timeoutMs, v.timeoutMs),
      });
      for (const c of checks) this.add(subject, c.check === 'tcp connect' ? 'tcp' : c.check, c.ok ? 'ok' : 'fail', c.detail);
    } catch (err) {
      this.add(subject, 'connection', 'fail', `test failed: ${(err as Error).message}`);
    }
  }
}


function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

function mode(st: Stats): string {
  return (st.mode & 0o7777).toString(8).padStart(4, '0');
}

