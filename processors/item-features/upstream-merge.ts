/**
 * Merges the enriched streams of every user-features task in event-time
 * order, whatever order they were interleaved in on the topic. Each task's
 * stream is already ordered and every record carries that task's promise
 * (`frontier`: nothing earlier follows), so a record can be released once
 * the promises of all tasks have passed it; the merged order then depends
 * only on the streams, not on how they interleave.
 *
 * Waiting records are kept per task, in the order the task sent them, in
 * store `item-pending` (Avro bodies, `enrichedWireCodec`; key `<task partition>\u0000<sequence>`, both fixed-
 * width hex) and mirrored in memory; the promise and the highest sequence
 * seen per task are in `item-clock`. A record whose sequence was already
 * seen from its task is a repeat (the task restarted, or was replayed) and
 * is dropped.
 *
 * @example
 * ```ts
 * const merge = new UpstreamMerge(pendingStore, clockStore, ctx.partitionCount);
 * await merge.load();
 * if (merge.accept(record)) for (let g = merge.nextGroup(); g; g = merge.nextGroup()) handle(g);
 * ```
 */
import { ProcessingError } from '../../runtime/errors.js';
import { jsonCodec } from '../../runtime/state/codecs/index.js';
import type { KeyValueStore, ValueCodec } from '../../runtime/state/store.js';
import type { Interaction } from '../../schemas/generated/types.js';
import { compareTimeId } from '../feature-math/keys.js';
import type { EnrichedWire } from './enriched-wire.js';

export const ITEM_PENDING_STORE = 'item-pending';
export const ITEM_CLOCK_STORE = 'item-clock';

/** What is known of one upstream task (store `item-clock`, key its partition). */
export interface UpstreamClock {
  /** Its latest promise: it sends nothing on time earlier than this any more. */
  frontier: number;
  /** Highest sequence number taken from it; -1 before the first. */
  sequence: number;
}

export const upstreamClockCodec: ValueCodec<UpstreamClock> = jsonCodec<UpstreamClock>();

/** A released record, with where it sits in the merge. */
export interface Released {
  readonly record: EnrichedWire;
  readonly interaction: Interaction;
  /** Event time, or for a late record the promise it came with. */
  readonly at: number;
}

interface Waiting extends Released {
  readonly key: string;
}

function pendingKey(partition: number, sequence: number): string {
  return `${partition.toString(16).padStart(4, '0')}\u0000${sequence.toString(16).padStart(12, '0')}`;
}

/** Where a record sits in the merge: its event time, or for a late one the promise it came with. */
function orderTime(record: EnrichedWire, interaction: Interaction): number {
  return record.late ? record.frontier : interaction.ts;
}

export class UpstreamMerge {
  private readonly clocks: UpstreamClock[] = [];
  private readonly streams: Waiting[][] = [];
  private readonly heads: number[] = [];

  constructor(
    private readonly pending: KeyValueStore<EnrichedWire>,
    private readonly clockStore: KeyValueStore<UpstreamClock>,
    private readonly partitionCount: number,
  ) {}

  async load(): Promise<void> {
    for (let p = 0; p < this.partitionCount; p++) {
      const clock = await this.clockStore.get(String(p));
      this.clocks.push(clock ? { ...clock } : { frontier: Number.NEGATIVE_INFINITY, sequence: -1 });
      this.streams.push([]);
      this.heads.push(0);
    }
    for await (const [key, record] of this.pending.range()) {
      const interaction = record.interaction!;
      this.streams[record.source_partition]!.push({
        record,
        interaction,
        at: orderTime(record, interaction),
        key,
      });
    }
  }

  /** Every upstream task has sent everything earlier than this. */
  frontier(): number {
    let min = Number.POSITIVE_INFINITY;
    for (const c of this.clocks) if (c.frontier < min) min = c.frontier;
    return min;
  }

  /** Takes one record from the topic (not a purge notice); returns whether its task's promise moved on. */
  accept(record: EnrichedWire): boolean {
    const p = record.source_partition;
    const clock = this.clocks[p];
    if (clock === undefined)
      throw new ProcessingError(
        `enriched record from partition ${p}, but the topic has ${this.partitionCount} partitions`,
      );
    const interaction = record.interaction;
    if (interaction !== null && record.sequence > clock.sequence) {
      clock.sequence = record.sequence;
      const key = pendingKey(p, record.sequence);
      this.streams[p]!.push({ record, interaction, at: orderTime(record, interaction), key });
      this.pending.put(key, record);
    }
    const advanced = record.frontier > clock.frontier;
    if (advanced) clock.frontier = record.frontier;
    this.clockStore.put(String(p), clock);
    return advanced;
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
    for (const [p, c] of this.clocks.entries()) if (c.frontier === Number.NEGATIVE_INFINITY) out.push(p);
    return out;
  }

  /** Removes the user features from the user's waiting records, so none of them yields an example. */
  forgetUser(userId: string): void {
    for (let p = 0; p < this.streams.length; p++) {
      const stream = this.streams[p]!;
      for (let i = this.heads[p]!; i < stream.length; i++) {
        const w = stream[i]!;
        if (w.interaction.user_id !== userId || w.record.userFeatures === null) continue;
        const record = { ...w.record, userFeatures: null };
        stream[i] = { ...w, record };
        this.pending.put(w.key, record);
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
   * The waiting records of the earliest time, if all tasks have passed it,
   * in event id order (then task): a group is handled as one instant.
   */
  nextGroup(): Released[] | undefined {
    const at = this.nextTime();
    if (!(at < this.frontier())) return undefined;
    const group: Waiting[] = [];
    for (let p = 0; p < this.streams.length; p++) {
      const stream = this.streams[p]!;
      let head = this.heads[p]!;
      while (head < stream.length && stream[head]!.at === at) group.push(stream[head++]!);
      this.advance(p, head);
    }
    if (group.length > 1)
      group.sort((a, b) => compareTimeId(at, a.interaction.event_id, at, b.interaction.event_id));
    for (const w of group) this.pending.delete(w.key);
    return group;
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
