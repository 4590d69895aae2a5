import type { Logger } from 'pino';
import { ConfigError, readSecret } from '../config/index.js';
import type { ConfigFile, GatewayConfig } from '../config/index.js';
import { claimSignals, type Clock, restoreDefaultAction, systemClock, type TimerHandle, VERSION } from '../shared/index.js';
import { Gateway, type GatewayDeps } from './gateway.js';
import { createSystemdNotifier, systemdStatusLine, type SystemdNotifier } from './systemd-notify.js';

/** The process around a Gateway: signals, reload, fatal errors, systemd. */
export interface DaemonOptions {
  config: GatewayConfig;
  /** Where SIGHUP re-reads the config from. */
  store: ConfigFile;
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  clock?: Clock;
  /** Ends the process. Default process.exit. */
  exit?: (code: number) => void;
  /** Extra Gateway dependencies (tests). */
  gatewayDeps?: Partial<GatewayDeps>;
  /** Install process signal and fatal-error handlers. Default true. */
  handleSignals?: boolean;
  /** `credgw run --state-dir DIR`, and the working directory a relative one is relative to. */
  stateDir?: string | undefined;
  cwd?: string | undefined;
}

export interface Daemon {
  gateway: Gateway;
  notifier: SystemdNotifier;
  /** Graceful stop (as SIGTERM does), then resolves; does not exit the process. */
  stop(reason?: string): Promise<void>;
  /** Reopens the audit file and re-reads config and secrets (as SIGHUP does); false when the new config was refused. */
  reload(): boolean;
}

export async function startDaemon(opts: DaemonOptions): Promise<Daemon> {
  const log = opts.logger;
  const env = opts.env ?? process.env;
  const clock = opts.clock ?? systemClock;
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  log.info({ version: VERSION, config: opts.store.path, node: process.version }, 'credgw starting');
  // Outside systemd (a plain supervisor), credential://credgw_FILE is the unit's <config dir>/credentials/FILE.
  const readConfiguredSecret = (ref: string): Promise<string> => readSecret(ref, env, { configDir: opts.store.dir });
  const gateway = new Gateway(opts.config, { logger: log, env, clock, readSecret: readConfiguredSecret, stateDir: opts.stateDir, cwd: opts.cwd, ...opts.gatewayDeps });
  const notifier = createSystemdNotifier({ env, logger: log, clock });

  // `systemctl status` shows the role, epoch and link, kept current as they change.
  const statusLine = (): string => {
    const role = gateway.roles.snapshot;
    return systemdStatusLine({ role: role.state, epoch: role.epoch, link: gateway.link?.state ?? 'disabled', restartRequired: gateway.pendingRestart });
  };
  let lastStatus = '';
  const publishStatus = (): void => {
    const line = statusLine();
    if (line === lastStatus) return;
    lastStatus = line;
    notifier.status(line);
  };
  gateway.roles.onChange(publishStatus);
  gateway.link?.on('state', publishStatus);

  // Everything SIGHUP re-reads or reopens (config and secrets; the audit file).
  const reload = (): boolean => {
    notifier.reloading();
    gateway.reopenLogs();
    try {
      const next = opts.store.load();
      gateway.reload(next);
      return true;
    } catch (err) {
      if (err instanceof ConfigError) {
        for (const problem of err.problems) log.error({ problem }, 'new configuration refused');
        log.error({ file: opts.store.path, problems: err.problems.length }, 'reload refused, the running configuration stays');
      } else {
        log.error({ err }, 'reload failed, the running configuration stays');
      }
      return false;
    } finally {
      lastStatus = statusLine();
      notifier.ready(lastStatus);
    }
  };

  // systemd's watchdog (WatchdogSec=): ping only while every loop the
  // liveness monitor watches is making progress, so a wedged process (alive,
  // but its link loop stuck) is killed and restarted by systemd.
  let watchdogTimer: TimerHandle | null = null;
  let withholding = false;
  const watchdogTick = (): void => {
    const live = gateway.liveness.check();
    if (live.healthy) {
      if (withholding) log.info('loops healthy again, watchdog pings resumed');
      withholding = false;
      notifier.watchdog();
    } else if (!withholding) {
      withholding = true;
      log.error({ reasons: live.reasons }, 'loops unhealthy, withholding watchdog pings');
    }
    watchdogTimer = clock.setTimeout(watchdogTick, notifier.watchdogIntervalMs ?? 1000);
  };

  const stop = async (reason = 'stop requested'): Promise<void> => {
    clock.clearTimeout(watchdogTimer);
    watchdogTimer = null;
    notifier.stopping();
    await gateway.stop(reason);
  };

  if (opts.handleSignals !== false) {
    let signalled = false;
    const onStopSignal = (signal: NodeJS.Signals): void => {
      if (signalled) {
        log.warn({ signal }, 'second signal, exiting at once');
        exit(1);
        return;
      }
      signalled = true;
      log.info({ signal }, 'stopping');
      stop(`${signal} received`).then(
        () => exit(0),
        (err: unknown) => {
          log.fatal({ err }, 'graceful stop failed');
          exit(1);
        },
      );
    };
    const fatal = (err: unknown, kind: string): void => {
      log.fatal({ err, kind }, 'unexpected error, exiting so the supervisor restarts the gateway');
      exit(1);
    };
    // The daemon owns its signals (see claimSignals: conf re-raises them otherwise).
    claimSignals(['SIGTERM', 'SIGINT', 'SIGHUP'], (signal) => {
      if (signal === 'SIGHUP') {
        log.info({ signal }, 'reloading configuration');
        reload();
      } else {
        onStopSignal(signal);
      }
    });
    // systemd's watchdog kills with SIGABRT: it must (see restoreDefaultAction).
    restoreDefaultAction(['SIGABRT', 'SIGIOT']);
    process.on('uncaughtException', (err) => fatal(err, 'uncaughtException'));
    process.on('unhandledRejection', (err) => fatal(err, 'unhandledRejection'));
  }

  try {
    await gateway.start();
  } catch (err) {
    // What started before the failure (the notice listener, the telemetry endpoint) must not keep the process alive.
    await gateway.stop('start failed').catch((stopErr: unknown) => log.error({ err: stopErr }, 'closing after a failed start failed'));
    throw err;
  }
  lastStatus = statusLine();
  notifier.ready(lastStatus);
  if (notifier.watchdogIntervalMs !== null) watchdogTick();
  return { gateway, notifier, stop, reload };
}
