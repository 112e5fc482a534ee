/**
 * Merges the streams of several writers to one topic (each writer one
 * upstream task, named by its partition) in the order of their own time,
 * whatever order they were interleaved in on the topic. Each writer's stream
 * is already ordered, numbers its records, and every record carries that
 * writer's promise (`frontier`: nothing earlier follows), so a record can be
 * released once every writer's promise has passed it; the merged order then
 * depends only on the streams, not on commit timing, crashes or replays.
 *
 * Waiting records are kept in memory only, per writer in the order it sent
 * them. They wait briefly (until every writer's promise passes them), so
 * instead of writing each to a store and deleting it soon after, the
 * processor holds its input at the oldest waiting record
 * (`ProcessorContext.holdInput`): after a restart the topic delivers them
 * again from there. The clock store (key `clock`) says which of those were
 * handled: per writer its promise, the highest sequence taken and the
 * highest released. A record at or below what was released from its
 * writer, or at or below the last one waiting from it, is a repeat (the
 * writer restarted, or was replayed, or this is a re-delivery of a released
 * record) and is dropped; a re-delivered one that was waiting goes back in
 * line.
 *
 * @example
 * ```ts
 * const merge = new WriterMerge<Entry>(ctx.store(CLOCK_STORE), ctx.partitionCount, byId, (p, n) => `record from ${p} of ${n}`);
 * await merge.load();
 * if (merge.accept(p, frontier, entry)) for (let g = merge.nextGroup(); g; g = merge.nextGroup()) handle(g);
 * ctx.holdInput(topic, merge.oldestOffset());
 * ```
 */
import { ProcessingError } from '../errors.js';
import { jsonCodec } from '../state/codecs/index.js';
import type { KeyValueStore, ValueCodec } from '../state/store.js';

const CLOCK_KEY = 'clock';

/** What is known of one writer. */
export interface WriterClock {
  /** Its latest promise: it sends nothing on time earlier than this any more (-Infinity, stored as null: none yet). */
  frontier: number;
  /** Highest sequence number taken from it; -1 before the first. */
  sequence: number;
  /** Highest sequence number released from it; -1 before the first. */
  released: number;
}

/** A clock store's value, key `clock`: what is known of each writer, by its partition. */
export const writerClocksCodec: ValueCodec<WriterClock[]> = jsonCodec<WriterClock[]>();

/** A record waiting in the merge. */
export interface MergeEntry {
  /** Its number in its writer's stream. */
  readonly sequence: number;
  /** Where it sits in the merge: its writer's time for it. */
  readonly at: number;
  /** Where it is on the input partition. */
  readonly offset: number;
}

export class WriterMerge<T extends MergeEntry> {
  private readonly clock: WriterClock[] = [];
  private readonly streams: T[][] = [];
  private readonly heads: number[] = [];

  /**
   * @param order orders the records of one time: a group is handled as one instant, in this order.
   * @param unknownWriter the error message for a record naming a writer outside `[0, writers)`.
   */
  constructor(
    private readonly store: KeyValueStore<WriterClock[]>,
    private readonly writers: number,
    private readonly order: (a: T, b: T) => number,
    private readonly unknownWriter: (writer: number, writers: number) => string,
  ) {}

  async load(): Promise<void> {
    const stored = await this.store.get(CLOCK_KEY);
    for (let p = 0; p < this.writers; p++) {
      const c = stored?.[p];
      this.clock.push({
        frontier: c?.frontier ?? Number.NEGATIVE_INFINITY,
        sequence: c?.sequence ?? -1,
        released: c?.released ?? -1,
      });
      this.streams.push([]);
      this.heads.push(0);
    }
  }

  /** Every writer has sent everything earlier than this. */
  frontier(): number {
    let min = Number.POSITIVE_INFINITY;
    for (const c of this.clock) if (c.frontier < min) min = c.frontier;
    return min;
  }

  /**
   * Takes one record of `writer` carrying its promise `frontier`: `entry`
   * waits in line unless it is a repeat; null (a record that only carries
   * the promise) moves the promise alone. Returns whether the promise moved on.
   */
  accept(writer: number, frontier: number, entry: T | null): boolean {
    const clock = this.clock[writer];
    if (clock === undefined) throw new ProcessingError(this.unknownWriter(writer, this.writers));
    if (entry !== null && entry.sequence > this.lastInLine(writer)) {
      if (entry.sequence > clock.sequence) clock.sequence = entry.sequence;
      this.streams[writer]!.push(entry);
    }
    const advanced = frontier > clock.frontier;
    if (advanced) clock.frontier = frontier;
    this.store.put(CLOCK_KEY, this.clock);
    return advanced;
  }

  /** Offset of the oldest waiting record, which a restart must deliver again; null when none waits. */
  oldestOffset(): number | null {
    let min: number | null = null;
    for (let p = 0; p < this.streams.length; p++) {
      const head = this.streams[p]![this.heads[p]!];
      if (head !== undefined && (min === null || head.offset < min)) min = head.offset;
    }
    return min;
  }

  /** Records waiting for the merge. */
  waiting(): number {
    let n = 0;
    for (let p = 0; p < this.streams.length; p++) n += this.streams[p]!.length - this.heads[p]!;
    return n;
  }

  /** Writers that have promised nothing yet. */
  silent(): number[] {
    const out: number[] = [];
    for (const [p, c] of this.clock.entries()) if (c.frontier === Number.NEGATIVE_INFINITY) out.push(p);
    return out;
  }

  /** Replaces every waiting record by `change(record)` (e.g. to strip what must not be released any more). */
  rewriteWaiting(change: (entry: T) => T): void {
    for (let p = 0; p < this.streams.length; p++) {
      const stream = this.streams[p]!;
      for (let i = this.heads[p]!; i < stream.length; i++) stream[i] = change(stream[i]!);
    }
  }

  /** Time of the earliest waiting record; +Infinity when none waits. */
  nextTime(): number {
    let min = Number.POSITIVE_INFINITY;
    for (let p = 0; p < this.streams.length; p++) {
      const head = this.streams[p]![this.heads[p]!];
      if (head !== undefined && head.at < min) min = head.at;
    }
    return min;
  }

  /**
   * The waiting records of the earliest time, if every writer has promised
   * past it (or it is before `until`: the input ended, nothing else comes),
   * in the merge's `order`.
   */
  nextGroup(until = this.frontier()): T[] | undefined {
    const at = this.nextTime();
    if (!(at < until)) return undefined;
    const group: T[] = [];
    for (let p = 0; p < this.streams.length; p++) {
      const stream = this.streams[p]!;
      let head = this.heads[p]!;
      while (head < stream.length && stream[head]!.at === at) {
        this.clock[p]!.released = stream[head]!.sequence;
        group.push(stream[head++]!);
      }
      this.advance(p, head);
    }
    if (group.length > 1) group.sort(this.order);
    this.store.put(CLOCK_KEY, this.clock);
    return group;
  }

  /** Sequence of the last record of writer `p` released or waiting: anything not above it is a repeat. */
  private lastInLine(p: number): number {
    const stream = this.streams[p]!;
    const tail = stream.length > this.heads[p]! ? stream[stream.length - 1]!.sequence : -1;
    return Math.max(this.clock[p]!.released, tail);
  }

  private advance(p: number, head: number): void {
    const stream = this.streams[p]!;
    // Drop the released prefix now and then rather than shifting the array on every release.
    if (head > 1024 && head * 2 > stream.length) {
      this.streams[p] = stream.slice(head);
      this.heads[p] = 0;
    } else {
      this.heads[p] = head;
    }
  }
}
