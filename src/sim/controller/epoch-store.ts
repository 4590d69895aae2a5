import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { isEpoch, isId, isObject } from '../../protocol/index.js';
import { CredgwError, type CredgwErrorOptions } from '../../shared/index.js';

/**
 * The last epoch granted per cluster, so that a restarted controller never
 * hands out an epoch it already granted (protocol section 4: "never
 * reuses"). Kept in a small JSON file:
 *
 *   {"version":1,"clusters":{"site-1":{"epoch":9}}}
 *
 * Writes are synchronous and atomic (temp file, fsync, rename): the caller
 * persists a new epoch before sending any frame that carries it, so a crash
 * between the two can only skip an epoch, never repeat one. Without a file
 * the store lives in memory (tests, throwaway demos).
 */

export const EPOCH_STATE_VERSION = 1;

export class EpochStoreError extends CredgwError<'EPOCH_STATE_INVALID'> {
  override readonly name = 'EpochStoreError';
  constructor(
    message: string,
    readonly path: string,
    options?: CredgwErrorOptions,
  ) {
    super('EPOCH_STATE_INVALID', message, options);
  }
}

export class EpochStore {
  private readonly epochs = new Map<string, number>();

  /**
   * @param file the state file, or null to keep epochs in memory only.
   *   A missing file is an empty store; an unreadable or malformed one
   *   throws EpochStoreError (refusing to start beats reusing epochs).
   */
  constructor(readonly file: string | null = null) {
    if (file) this.load(file);
  }

  /** The last epoch granted in the cluster (0 when none was). */
  get(clusterId: string): number {
    return this.epochs.get(clusterId) ?? 0;
  }

  /** Records a new epoch; it must be higher than the stored one. */
  set(clusterId: string, epoch: number): void {
    const current = this.get(clusterId);
    if (!isEpoch(epoch) || epoch <= current) {
      throw new RangeError(`epoch ${epoch} for cluster ${clusterId} is not above the stored ${current}`);
    }
    this.epochs.set(clusterId, epoch);
    if (this.file) this.write(this.file);
  }

  /** Every stored cluster and its epoch. */
  entries(): Array<[string, number]> {
    return [...this.epochs.entries()];
  }

  private load(file: string): void {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new EpochStoreError(`cannot read the epoch state file ${file}`, file, { cause: err });
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (err) {
      throw new EpochStoreError(`the epoch state file ${file} is not JSON`, file, { cause: err });
    }
    if (!isObject(data) || data['version'] !== EPOCH_STATE_VERSION || !isObject(data['clusters'])) {
      throw new EpochStoreError(`the epoch state file ${file} is not a version ${EPOCH_STATE_VERSION} state`, file);
    }
    for (const [clusterId, entry] of Object.entries(data['clusters'])) {
      if (!isId(clusterId) || !isObject(entry) || !isEpoch(entry['epoch'])) {
        throw new EpochStoreError(`the epoch state file ${file} has a bad entry for cluster "${clusterId.slice(0, 128)}"`, file);
      }
      this.epochs.set(clusterId, entry['epoch']);
    }
  }

  private write(file: string): void {
    const clusters: Record<string, { epoch: number }> = {};
    for (const [id, epoch] of [...this.epochs.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) clusters[id] = { epoch };
    const text = `${JSON.stringify({ version: EPOCH_STATE_VERSION, clusters }, null, 2)}\n`;
    const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  }
}
