import { ManualClock } from '../../src/shared/clock.js';
import { startPmpSimulator, type PmpSimulator } from '../../src/sim/pmp/index.js';

/**
 * A PMP simulator whose answers wait GATE_MS on a ManualClock: every
 * answer is held until the test moves the clock on, so how slow the vault
 * is gets decided by the test, not by the machine.
 */

/** The latency of every answer, in the gated simulator's own (manual) time. */
export const GATE_MS = 1000;
/** Far enough on to let every held answer go. */
const RELEASE_ALL_MS = 120_000;

export interface GatedSimulator {
  readonly sim: PmpSimulator;
  readonly clock: ManualClock;
  /** Moves the clock on GATE_MS at a time until `done` settles; resolves or rejects as `done` does. */
  release<T>(done: Promise<T>): Promise<T>;
  /** Lets every held answer go (before stopping a gateway that waits on one). */
  releaseAll(): void;
  /** Releases what is held and stops the simulator. */
  close(): Promise<void>;
}

export async function startGatedSimulator(tls: { certPem: string; keyPem: string }): Promise<GatedSimulator> {
  const clock = new ManualClock();
  const sim = await startPmpSimulator({ tls, clock, latencyMs: GATE_MS });
  return {
    sim,
    clock,
    release: async <T>(done: Promise<T>): Promise<T> => {
      let settled = false;
      const watched = done.finally(() => (settled = true));
      while (!settled) {
        clock.advance(GATE_MS);
        await new Promise((r) => setTimeout(r, 5));
      }
      return watched;
    },
    releaseAll: () => clock.advance(RELEASE_ALL_MS),
    close: async () => {
      clock.advance(RELEASE_ALL_MS);
      await sim.close();
    },
  };
}
