/**
 * Taking over process signals for a long-running command (the daemon, the
 * demo, the simulators).
 *
 * conf's atomic writer (conf → atomically → when-exit) hooks SIGINT,
 * SIGTERM, SIGHUP and more as soon as it is imported, and after its own
 * clean-up re-raises the signal on the process. For a command that handles
 * the signal itself that turns one SIGTERM into two (a graceful stop seen
 * as "second signal, exit at once"), one SIGHUP into two reloads, and a
 * simulator's clean stop into death by signal. These commands write no
 * config through conf while they run, so they remove every earlier
 * listener and install their own.
 */
export function claimSignals(signals: readonly NodeJS.Signals[], handler: (signal: NodeJS.Signals) => void): () => void {
  for (const signal of signals) {
    process.removeAllListeners(signal);
    process.on(signal, handler);
  }
  return () => {
    for (const signal of signals) process.off(signal, handler);
  };
}

/**
 * Gives `signals` back their default action by removing every listener,
 * the same take-over as claimSignals with no handler of its own: for a
 * signal that must kill the process, such as systemd's watchdog SIGABRT,
 * which when-exit listens to under both its names (SIGABRT, SIGIOT), so
 * that its re-raise was caught again and the process lived on until
 * SIGKILL (TimeoutAbortSec later).
 */
export function restoreDefaultAction(signals: readonly NodeJS.Signals[]): void {
  for (const signal of signals) process.removeAllListeners(signal);
}

/** Resolves at the first SIGINT or SIGTERM (after claiming both). */
export function waitForTermination(): Promise<NodeJS.Signals> {
  return new Promise((done) => {
    const release = claimSignals(['SIGINT', 'SIGTERM'], (signal) => {
      release();
      done(signal);
    });
  });
}
