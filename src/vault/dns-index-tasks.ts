/**
 * The calls a DNS-name index has to make, in order: an urgent queue (what a
 * waiting lookup needs) before a background one (passes), one task per
 * resource (or the list) however many rounds want it, and the rounds that
 * wait for their tasks to finish.
 */

/** A set of calls someone waits for: a pass (build or refresh) or a miss's re-list. */
export class IndexRound {
  /** Tasks of this round not finished yet. */
  pending = 0;
  settled = false;
  /** Why a miss's re-list failed. */
  error: unknown = undefined;
  /** A miss round: the addresses looked up, whose name candidates it reads. */
  readonly addresses = new Set<string>();

  constructor(
    readonly kind: 'pass' | 'miss',
    /** A pass that re-reads resources already read. */
    readonly refresh: boolean,
  ) {}

  finish(): void {
    this.settled = true;
  }

  fail(err: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.error = err;
  }
}

export interface IndexTask {
  /** A resource ID (read its DNS NAME), or null (list the resources). */
  readonly id: string | null;
  rounds: IndexRound[];
  /** Failed reads that count against the resource's attempts. */
  attempts: number;
  where: 'urgent' | 'background' | 'running';
}

const LIST = '';

export class TaskQueue {
  /** Waiting or running tasks by resource ID ('' for the list). */
  private readonly tasks = new Map<string, IndexTask>();
  private urgent: IndexTask[] = [];
  /** A queue with a head index; promoted tasks are left behind and skipped. */
  private background: IndexTask[] = [];
  private head = 0;
  private waiting = 0;

  /** Tasks waiting to run. */
  get size(): number {
    return this.waiting;
  }

  /** Adds `round` to the task of `id` (creating it), moving it to the urgent queue when asked. */
  add(id: string | null, round: IndexRound, urgent: boolean): void {
    const key = id ?? LIST;
    const task = this.tasks.get(key);
    if (task) {
      if (!task.rounds.includes(round)) {
        task.rounds.push(round);
        round.pending++;
      }
      if (urgent && task.where === 'background') {
        task.where = 'urgent';
        this.urgent.push(task);
      }
      return;
    }
    const created: IndexTask = { id, rounds: [round], attempts: 0, where: urgent ? 'urgent' : 'background' };
    round.pending++;
    this.tasks.set(key, created);
    (urgent ? this.urgent : this.background).push(created);
    this.waiting++;
  }

  /** Moves the waiting tasks of these resources to the head of the urgent queue, in this order. */
  promote(ids: readonly string[]): void {
    const moved: IndexTask[] = [];
    for (const id of ids) {
      const task = this.tasks.get(id);
      if (!task || task.where === 'running') continue;
      if (task.where === 'urgent') this.urgent.splice(this.urgent.indexOf(task), 1);
      task.where = 'urgent';
      moved.push(task);
    }
    this.urgent.unshift(...moved);
  }

  /** The next task to run (urgent first), marked running. */
  next(): IndexTask | undefined {
    let task = this.urgent.shift();
    while (!task && this.head < this.background.length) {
      const t = this.background[this.head++]!;
      if (t.where === 'background') task = t;
    }
    if (this.head > 1024 && this.head * 2 > this.background.length) {
      this.background = this.background.slice(this.head);
      this.head = 0;
    }
    if (!task) return undefined;
    task.where = 'running';
    this.waiting--;
    return task;
  }

  /** A failed task goes back to the head of the urgent queue (it was due first). */
  retry(task: IndexTask): void {
    task.where = 'urgent';
    this.urgent.unshift(task);
    this.waiting++;
  }

  /** A finished task: the rounds it finished (pending reached 0) are returned. */
  done(task: IndexTask): IndexRound[] {
    this.tasks.delete(task.id ?? LIST);
    const finished: IndexRound[] = [];
    for (const round of task.rounds) {
      round.pending--;
      if (round.pending === 0 && !round.settled) finished.push(round);
    }
    task.rounds = [];
    return finished;
  }

  /** Takes the rounds of `kind` off a task (they stop waiting for it). */
  detach(task: IndexTask, kind: IndexRound['kind']): IndexRound[] {
    const gone = task.rounds.filter((r) => r.kind === kind);
    task.rounds = task.rounds.filter((r) => r.kind !== kind);
    for (const round of gone) round.pending--;
    return gone;
  }

  clear(): void {
    this.tasks.clear();
    this.urgent = [];
    this.background = [];
    this.head = 0;
    this.waiting = 0;
  }
}
