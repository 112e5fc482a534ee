/**
 * The waiting records of one input topic in the order they arrived: the
 * first one not released yet is where the task holds that topic's input
 * (`ProcessorContext.holdInput`), so a restart delivers it again.
 *
 * @example
 * ```ts
 * const arrivals = new Arrivals<PendingEntry>();
 * arrivals.push(entry);                          // entry.released turns true once handled
 * ctx.holdInput(topic, arrivals.oldest());       // null when none waits
 * ```
 */

export interface Arrival {
  readonly released: boolean;
  /** Where it is on its input partition. */
  readonly offset: number;
}

export class Arrivals<T extends Arrival> {
  private entries: T[] = [];
  private head = 0;

  push(entry: T): void {
    this.entries.push(entry);
  }

  /** Offset of the first entry not released; null when none waits. */
  oldest(): number | null {
    const entries = this.entries;
    let head = this.head;
    while (head < entries.length && entries[head]!.released) head++;
    // Drop the released prefix now and then rather than shifting the array on every release.
    if (head > 1024 && head * 2 > entries.length) {
      this.entries = entries.slice(head);
      head = 0;
    }
    this.head = head;
    return head < this.entries.length ? this.entries[head]!.offset : null;
  }
}
