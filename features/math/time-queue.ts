/**
 * An in-memory queue of entries ordered by (event time, id), the order
 * `timeKey` store keys sort in. Processors keep their not-yet-released
 * events here and mirror them in a store, from which `init` rebuilds it.
 * Arrivals are mostly in time order, so an insert is usually an append.
 *
 * @example
 * ```ts
 * const queue = new TimeQueue<Interaction>();
 * queue.insert(event.ts, event.event_id, event);
 * while (queue.size > 0 && queue.peekTs() < frontier) release(queue.shift()!);
 * ```
 */
import { compareTimeId } from './keys.js';

export interface TimeEntry<T> {
  readonly ts: number;
  readonly id: string;
  readonly value: T;
}

export class TimeQueue<T> {
  private entries: TimeEntry<T>[] = [];
  private head = 0;

  get size(): number {
    return this.entries.length - this.head;
  }

  insert(ts: number, id: string, value: T): void {
    const entries = this.entries;
    let i = entries.length;
    while (i > this.head && compareTimeId(entries[i - 1]!.ts, entries[i - 1]!.id, ts, id) > 0) i--;
    if (i === entries.length) entries.push({ ts, id, value });
    else entries.splice(i, 0, { ts, id, value });
  }

  /** Event time of the first entry; +Infinity when empty. */
  peekTs(): number {
    return this.head < this.entries.length ? this.entries[this.head]!.ts : Number.POSITIVE_INFINITY;
  }

  shift(): TimeEntry<T> | undefined {
    if (this.head >= this.entries.length) return undefined;
    const entry = this.entries[this.head++]!;
    // Drop the consumed prefix now and then instead of shifting the array on every call.
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
    return entry;
  }

  /** Removes the entry with this time and id; returns whether it was there. */
  remove(ts: number, id: string): boolean {
    for (let i = this.head; i < this.entries.length; i++) {
      const e = this.entries[i]!;
      if (e.ts === ts && e.id === id) {
        this.entries.splice(i, 1);
        return true;
      }
      if (e.ts > ts) return false;
    }
    return false;
  }

  /** Entries in order (for purges that must look at every pending event). */
  *values(): IterableIterator<TimeEntry<T>> {
    for (let i = this.head; i < this.entries.length; i++) yield this.entries[i]!;
  }
}
