import { Agent } from 'undici';
import { startPmpSimulator, type PmpSimOptions, type PmpSimulator } from '../../src/sim/pmp/index.js';
import { testPki, type TestPki } from './pki.js';

/**
 * The common set-up of the PMP simulator suites (sim-*.test.ts): the REST
 * base path, an undici agent that trusts the suite's CA, simulators on
 * pki.server, and PMP's `Failed` envelope. simFixture() is called once, at
 * the top level of a test file: it registers the afterAll that closes the
 * simulators it keeps and the agent.
 */

export const API = '/restapi/json/v1';

export interface SimFixture {
  readonly pki: TestPki;
  /** Trusts pki.ca: the dispatcher of the suite's requests. */
  readonly agent: Agent;
  /** A simulator kept until the file ends. */
  sharedSim(opts?: PmpSimOptions): Promise<PmpSimulator>;
  /** Runs `fn` against a simulator of its own, closed when `fn` ends. */
  withSim(opts: PmpSimOptions, fn: (sim: PmpSimulator) => Promise<void>): Promise<void>;
}

export function simFixture(): SimFixture {
  const pki = testPki();
  const agent = new Agent({ connect: { ca: [pki.ca.certPem] } });
  const kept: PmpSimulator[] = [];
  const startSim = (opts: PmpSimOptions): Promise<PmpSimulator> => startPmpSimulator({ tls: pki.server, ...opts });
  afterAll(async () => {
    for (const sim of kept) await sim.close();
    await agent.close();
  });
  return {
    pki,
    agent,
    async sharedSim(opts = {}) {
      const sim = await startSim(opts);
      kept.push(sim);
      return sim;
    },
    async withSim(opts, fn) {
      const sim = await startSim(opts);
      try {
        await fn(sim);
      } finally {
        await sim.close();
      }
    },
  };
}

/** PMP's answer to a refused call: HTTP 200 and a `Failed` result of operation `name`. */
export function failed(a: { status: number; json: unknown }, name: string, message: string): void {
  expect(a.status).toBe(200);
  expect(a.json).toEqual({ operation: { name, result: { status: 'Failed', message } } });
}

/** An answer's body as JSON, or undefined when it is not JSON (an empty or cut answer of a fault). */
export function jsonOrUndefined(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
