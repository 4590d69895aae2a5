// Types of index.mjs for the TypeScript tests that import it.

type Log = (line: string) => void;
type Histogram = Record<string, number>;
interface Exit {
  code: number | null;
  signal: string | null;
  tail: string;
}
interface ProcessFigures {
  /** Exits of a gateway the scenario did not ask for. */
  crashes: number;
  exits: Exit[];
  /** VmHWM of the gateway, MiB (null: never sampled). */
  rssPeakMiB: number | null;
  /** prom-client's nodejs_eventloop_lag_max_seconds, worst scrape, ms (null: never scraped). */
  loopDelayMaxMs: number | null;
}

export interface FuzzFigures extends ProcessFigures {
  seed: number;
  requested: number;
  sent: number;
  kinds: Histogram;
  commandsExpectingResult: number;
  answered: number;
  unanswered: number;
  answeredTwice: number;
  /** Of answeredTwice: ids sent with duplicates (a duplicate of an in-flight id must join it). */
  answeredTwiceDuplicated: number;
  /** Of answeredTwiceDuplicated: ids whose duplicates included an altered (usually malformed) copy. */
  answeredTwiceAlteredDuplicate: number;
  resultsForUnknownIds: number;
  lostWithConnection: number;
  notSent: number;
  codes: Histogram;
  violationsSent: number;
  expectedCloses: Histogram;
  unexpectedCloses: Histogram;
  closesMissing: { code: number; n: number }[];
  reconnects: number;
  finalCommandAnswered: boolean;
  elapsedMs: number;
  loopDelaySource: string;
}
export function runFuzz(o: {
  dir: string;
  frames: number;
  seed: number;
  simLatencyMs?: number;
  window?: number;
  hugeKeys?: number;
  floods?: number;
  budgetMs?: number;
  drainMs?: number;
  log?: Log;
}): Promise<FuzzFigures>;

export interface HostileCase {
  name: string;
  code: string;
  ms: number;
  deadlineMs: number;
  inTime: boolean;
  ok: boolean;
}
export interface HostileFigures extends ProcessFigures {
  cases: HostileCase[];
  casesFailed: number;
  tokenHits: { output: number; audit: number; results: number };
  tokenHitsTotal: number;
  vaultRequests: { total: number; byCase: Histogram };
}
export function runHostileVault(o: {
  dir: string;
  bodyMiB?: number;
  timeoutMs?: number;
  graceMs?: number;
  cases?: string[];
  log?: Log;
}): Promise<HostileFigures>;

export interface ReloadFigures extends ProcessFigures {
  reloads: number;
  workers: number;
  commands: number;
  ok: number;
  failed: number;
  codes: Histogram;
  firstFailure: { code: string; message?: string; reload: number } | null;
  roleMoves: number;
  moves: unknown[];
  healthFlaps: number;
  failuresPerReload: number | null;
  reloadSeconds: number;
}
export function runReloadRace(o: {
  dir: string;
  reloads?: number;
  workers?: number;
  intervalMs?: number;
  simLatencyMs?: number;
  log?: Log;
}): Promise<ReloadFigures>;

export interface BacklogFigures extends ProcessFigures {
  commands: number;
  maxInFlight: number;
  vaultLatencyMs: number;
  ok: number;
  overloaded: number;
  codes: Histogram;
  unanswered: number;
  drainMs: number;
}
export function runBacklog(o: {
  dir: string;
  commands?: number;
  maxInFlight?: number;
  vaultLatencyMs?: number;
  timeoutMs?: number;
  log?: Log;
}): Promise<BacklogFigures>;

export const HOSTILE_CASES: readonly { name: string; what: string }[];
/** A temporary directory (mode 0700) removed by cleanup(). */
export function tempDir(prefix?: string): string;
/** Stops every process and removes every directory the scenarios registered. */
export function cleanup(): Promise<void>;
