/**
 * The admission queue of protocol section 5: commands that find every
 * execution slot taken wait here in arrival order, at most `capacity` of
 * them (`limits.maxQueued`). Keyed by command id, so that a duplicate finds
 * the waiting command it joins, and a command whose deadline passes while it
 * waits leaves from the middle. A Map iterates in insertion order: its first
 * entry is the oldest.
 */
export class AdmissionQueue<T> {
  private readonly waiting = new Map<string, T>();

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.waiting.size;
  }

  get full(): boolean {
    return this.waiting.size >= this.capacity;
  }

  get(id: string): T | undefined {
    return this.waiting.get(id);
  }

  /** Adds `item` at the back; false (and nothing added) when the queue is full or `id` already waits. */
  push(id: string, item: T): boolean {
    if (this.full || this.waiting.has(id)) return false;
    this.waiting.set(id, item);
    return true;
  }

  /** Removes and returns the oldest item; undefined when empty. */
  shift(): T | undefined {
    for (const [id, item] of this.waiting) {
      this.waiting.delete(id);
      return item;
    }
    return undefined;
  }

  /** Removes the item of `id` wherever it stands; false when it was not waiting. */
  delete(id: string): boolean {
    return this.waiting.delete(id);
  }

  /** Removes and returns every item, oldest first. */
  takeAll(): T[] {
    const all = [...this.waiting.values()];
    this.waiting.clear();
    return all;
  }
}
