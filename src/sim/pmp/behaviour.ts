import { PmpSimError } from './sim-errors.js';

/**
 * Switches for what no recorded answer of a real server confirms: the
 * simulator picks the likeliest reading by default, and a test can take the
 * other to prove a client does not depend on it. docs/pmp-simulator.md marks
 * each *(unconfirmed)*.
 */
export interface PmpSimBehaviour {
  /** An API user's key is accepted as APP_AUTHTOKEN too (public clients send it so to real servers). Default true. */
  apiKeyAsAppToken: boolean;
  /** An integration token needs its APP_NAME (or APP_TYPE) beside it *(unconfirmed)*. Default true. */
  requireAppName: boolean;
  /** An integration token is accepted as AUTHTOKEN too *(unconfirmed)*. Default false. */
  appTokenAsAuthtoken: boolean;
  /** `GET resources/{id}/accounts` honours STARTINDEX, LIMIT and SEARCHVALUE (documented by PAM360; answer shape unconfirmed). Default true. */
  accountListPaging: boolean;
  /** The STARTINDEX of the first row, 0 or 1 (PAM360's pages show both) *(unconfirmed)*. Default 0. */
  startIndexBase: 0 | 1;
  /** `totalRows` of a paged list: every matching row, or the rows on the page *(unconfirmed)*. Default 'matching'. */
  pagedTotalRows: 'matching' | 'page';
}

export const DEFAULT_BEHAVIOUR: Readonly<PmpSimBehaviour> = Object.freeze({
  apiKeyAsAppToken: true,
  requireAppName: true,
  appTokenAsAuthtoken: false,
  accountListPaging: true,
  startIndexBase: 0,
  pagedTotalRows: 'matching',
});

const CHOICES: Readonly<Record<keyof PmpSimBehaviour, readonly unknown[]>> = {
  apiKeyAsAppToken: [true, false],
  requireAppName: [true, false],
  appTokenAsAuthtoken: [true, false],
  accountListPaging: [true, false],
  startIndexBase: [0, 1],
  pagedTotalRows: ['matching', 'page'],
};

/** The defaults with `raw`'s keys applied; SIM_DATA_INVALID naming `behaviour.<key>` for anything else. */
export function resolveBehaviour(raw: unknown): PmpSimBehaviour {
  if (raw === undefined) return { ...DEFAULT_BEHAVIOUR };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new PmpSimError('SIM_DATA_INVALID', 'behaviour', 'must be an object');
  }
  const out: Record<string, unknown> = { ...DEFAULT_BEHAVIOUR };
  for (const [key, value] of Object.entries(raw)) {
    const allowed = CHOICES[key as keyof PmpSimBehaviour] as readonly unknown[] | undefined;
    if (!allowed) throw new PmpSimError('SIM_DATA_INVALID', `behaviour.${key}`, `unknown switch (known: ${Object.keys(CHOICES).join(', ')})`);
    if (!allowed.includes(value)) {
      throw new PmpSimError('SIM_DATA_INVALID', `behaviour.${key}`, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
    }
    out[key] = value;
  }
  return out as unknown as PmpSimBehaviour;
}
