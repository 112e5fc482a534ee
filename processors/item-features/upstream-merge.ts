/**
 * Merges the enriched streams of every user-features task in event-time
 * order, whatever order they were interleaved in on the topic. Each task's
 * stream is already ordered and every record carries that task's promise
 * (`frontier`: nothing earlier follows), so a record can be released once
 * the promises of all tasks have passed it; the merged order then depends
 * only on the streams, not on how they interleave.
 *
 * Waiting records are kept in memory only, per task in the order it sent
 * them. They wait briefly (until every task's promise passes them), so
 * instead of writing each to a store and deleting it soon after, the
 * processor holds its input at the oldest waiting record
 * (`ProcessorContext.holdInput`): after a restart the topic delivers them
 * again from there. Store `item-clock` (key `clock`) says which of those
 * were handled: per task its promise, the highest sequence taken and the
 * highest released. A record at or
 * below what was released from its task, or at or below the last one
 * waiting from it, is a repeat (the task restarted, or was replayed, or
 * this is a re-delivery of a released record) and is dropped; a
 * re-delivered one that was waiting goes back in line.
 *
 * @example
 * ```ts
 * const merge = new UpstreamMerge(clockStore, ctx.partitionCount);
 * await merge.load();
 * if (merge.accept(record, offset)) for (let g = merge.nextGroup(); g; g = merge.nextGroup()) handle(g);
 * ctx.holdInput(topic, merge.oldestOffset());
 * ```
 */
import { compareTimeId } from '../../features/math/keys.js';
import { ProcessingError } from '../../runtime/errors.js';
import { jsonCodec } from '../../runtime/state/codecs/index.js';
import type { KeyValueStore, ValueCodec } from '../../runtime/state/store.js';
import type { Interaction } from '../../schemas/generated/types.js';
import type { EnrichedWire } from './enriched-wire.js';

export const ITEM_CLOCK_STORE = 'item-clock';
const CLOCK_KEY = 'clock';

/** What is known of one upstream task. */
export interface UpstreamClock {
  /** Its latest promise: it sends nothing on time earlier than this any more. */
  frontier: number;
  /** Highest sequence number taken from it; -1 before the first. */
  sequence: number;
  /** Highest sequence number released from it; -1 before the first. */
  released: number;
}

/** Store `item-clock`, key `clock`: what is known of each upstream task, by its partition. */
export const mergeClockCodec: ValueCodec<UpstreamClock[]> = jsonCodec<UpstreamClock[]>();

/** A released record, with where it sits in the merge. */
export interface Released {
  readonly record: EnrichedWire;
  readonly interaction: Interaction;
  /** Event time, or for a late record the promise it came with. */
  readonly at: number;
}

interface Waiting extends Released {
  /** Where it is on the input partition. */
  readonly offset: number;
}

/** Where a record sits in the merge: its event time, or for a late one the promise it came with. */
function orderTime(record: EnrichedWire, interaction: Interaction): number {
  return record.late ? record.frontier : interaction.ts;
}

export class UpstreamMerge {
  private clock: UpstreamClock[] = [];
  private readonly streams: Waiting[][] = [];
  private readonly heads: number[] = [];

  constructor(
    private readonly clockStore: KeyValueStore<UpstreamClock[]>,
    private readonly partitionCount: number,
  ) {}

  async load(): Promise<void> {
    const stored = await this.clockStore.get(CLOCK_KEY);
    for (let p = 0; p < this.partitionCount; p++) {
      const c = stored?.[p];
      this.clock.push(c ? { ...c } : { frontier: Number.NEGATIVE_INFINITY, sequence: -1, released: -1 });
      this.streams.push([]);
      this.heads.push(0);
    }
  }

  /** Every upstream task has sent everything earlier than this. */
  frontier(): number {
    let min = Number.POSITIVE_INFINITY;
    for (const c of this.clock) if (c.frontier < min) min = c.frontier;
    return min;
  }

  /**
   * Takes one record from the input partition at `offset` (not a purge
   * notice); returns whether its task's promise moved on.
   */
  accept(record: EnrichedWire, offset: number): boolean {
    const p = record.source_partition;
    const upstream = this.clock[p];
    if (upstream === undefined)
      throw new ProcessingError(
        `enriched record from partition ${p}, but the topic has ${this.partitionCount} partitions`,
      );
    const interaction = record.interaction;
    if (interaction !== null && record.sequence > this.lastInLine(p)) {
      if (record.sequence > upstream.sequence) upstream.sequence = record.sequence;
      this.streams[p]!.push({ record, interaction, at: orderTime(record, interaction), offset });
    }
    const advanced = record.frontier > upstream.frontier;
    if (advanced) upstream.frontier = record.frontier;
    this.clockStore.put(CLOCK_KEY, this.clock);
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

  /** Upstream partitions that have promised nothing yet (their task has seen no interaction). */
  silent(): number[] {
    const out: number[] = [];
    for (const [p, c] of this.clock.entries()) if (c.frontier === Number.NEGATIVE_INFINITY) out.push(p);
    return out;
  }

  /** Removes the user features from the user's waiting records, so none of them yields an example. */
  forgetUser(userId: string): void {
    for (let p = 0; p < this.streams.length; p++) {
      const stream = this.streams[p]!;
      for (let i = this.heads[p]!; i < stream.length; i++) {
        const w = stream[i]!;
        if (w.interaction.user_id !== userId || w.record.userFeatures === null) continue;
        stream[i] = { ...w, record: { ...w.record, userFeatures: null } };
      }
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
   * The waiting records of the earliest time, if all tasks have passed it
   * (or it is before `until`: the input ended, nothing else comes), in
   * event id order (then task): a group is handled as one instant.
   */
  nextGroup(until = this.frontier()): Released[] | undefined {
    const at = this.nextTime();
    if (!(at < until)) return undefined;
    const group: Waiting[] = [];
    for (let p = 0; p < this.streams.length; p++) {
      const stream = this.streams[p]!;
      let head = this.heads[p]!;
      while (head < stream.length && stream[head]!.at === at) {
        this.clock[p]!.released = stream[head]!.record.sequence;
        group.push(stream[head++]!);
      }
      this.advance(p, head);
    }
    if (group.length > 1)
      group.sort((a, b) => compareTimeId(at, a.interaction.event_id, at, b.interaction.event_id));
    this.clockStore.put(CLOCK_KEY, this.clock);
    return group;
  }

  /** Sequence of the last record of task `p` released or waiting: anything not above it is a repeat. */
  private lastInLine(p: number): number {
    const stream = this.streams[p]!;
    const tail = stream.length > this.heads[p]! ? stream[stream.length - 1]!.record.sequence : -1;
    return Math.max(this.clock[p]!.released, tail);
  }

  private advance(p: number, head: number): void {
    const stream = this.streams[p]!;
    // Drop the consumed prefix now and then rather than shifting the array on every release.
    if (head > 1024 && head * 2 > stream.length) {
      this.streams[p] = stream.slice(head);
      this.heads[p] = 0;
    } else {
      this.heads[p] = head;
    }
  }
}
