/**
 * Merges the co-visit streams of every `co-visitation-sessions` task in
 * the order of the writers' stream time (`frontier`), then `visit_id`,
 * whatever order they were interleaved in on `rec.co-visits`. Each writer's
 * stream is ordered by its stream time and every record carries it as a
 * promise, so a record is released once every writer's promise has passed
 * it; which records the neighbour lists and the visit ids see, and in which
 * order, then depends only on the streams, not on commit timing, crashes or
 * replays (the lists are capped and summed in floating point, so order
 * changes their bytes).
 *
 * Waiting records are kept in memory only; the processor holds its input
 * at the oldest one (`ProcessorContext.holdInput`), so a restart delivers
 * them again. Store `co-visit-merge` (key `clock`) says, per writer, its
 * promise, the highest sequence taken and the highest released: a record
 * not above what was released from its writer, or above it but not above
 * the last one waiting, is a copy (the writer restarted or was replayed, or
 * the input was delivered again) and is dropped.
 *
 * @example
 * ```ts
 * const merge = new CoVisitMerge(ctx.store(CO_VISIT_MERGE_STORE), ctx.partitionCount);
 * await merge.load();
 * if (merge.accept(visit, offset)) for (let g = merge.nextGroup(); g; g = merge.nextGroup()) count(g);
 * ctx.holdInput(topic, merge.oldestOffset());
 * ```
 */
import { ProcessingError } from '../../runtime/errors.js';
import { jsonCodec } from '../../runtime/state/codecs/index.js';
import type { KeyValueStore, ValueCodec } from '../../runtime/state/store.js';
import type { CoVisit } from '../../schemas/generated/types.js';

export const CO_VISIT_MERGE_STORE = 'co-visit-merge';
const CLOCK_KEY = 'clock';

/** What is known of one writer. */
export interface WriterClock {
  /** Its latest promise (-Infinity, stored as null: none yet). */
  frontier: number;
  /** Highest sequence number taken from it; -1 before the first. */
  sequence: number;
  /** Highest sequence number released from it; -1 before the first. */
  released: number;
}

export const coVisitMergeCodec: ValueCodec<WriterClock[]> = jsonCodec<WriterClock[]>();

interface Waiting {
  readonly visit: CoVisit;
  readonly offset: number;
}

function byVisitId(a: Waiting, b: Waiting): number {
  const x = a.visit;
  const y = b.visit;
  if (x.visit_id !== y.visit_id) return x.visit_id < y.visit_id ? -1 : 1;
  return x.source_partition - y.source_partition || x.sequence - y.sequence;
}

export class CoVisitMerge {
  private clock: WriterClock[] = [];
  private readonly streams: Waiting[][] = [];
  private readonly heads: number[] = [];

  constructor(
    private readonly store: KeyValueStore<WriterClock[]>,
    private readonly partitionCount: number,
  ) {}

  async load(): Promise<void> {
    const stored = await this.store.get(CLOCK_KEY);
    for (let p = 0; p < this.partitionCount; p++) {
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

  /** Takes one record (a co-visit or a bare watermark) from input offset `offset`; returns whether its writer's promise moved on. */
  accept(visit: CoVisit, offset: number): boolean {
    const p = visit.source_partition;
    const writer = this.clock[p];
    if (writer === undefined)
      throw new ProcessingError(
        `co-visit from partition ${p}, but rec.interactions has ${this.partitionCount} partitions`,
      );
    if (visit.neighbours.length > 0 && visit.sequence > this.lastInLine(p)) {
      if (visit.sequence > writer.sequence) writer.sequence = visit.sequence;
      this.streams[p]!.push({ visit, offset });
    }
    const advanced = visit.frontier > writer.frontier;
    if (advanced) writer.frontier = visit.frontier;
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

  /**
   * The waiting co-visits of the earliest stream time, if every writer has
   * promised past it (or it is before `until`: the input ended), in
   * `visit_id` order.
   */
  nextGroup(until = this.frontier()): CoVisit[] | undefined {
    let at = Number.POSITIVE_INFINITY;
    for (let p = 0; p < this.streams.length; p++) {
      const head = this.streams[p]![this.heads[p]!];
      if (head !== undefined && head.visit.frontier < at) at = head.visit.frontier;
    }
    if (!(at < until)) return undefined;
    const group: Waiting[] = [];
    for (let p = 0; p < this.streams.length; p++) {
      const stream = this.streams[p]!;
      let head = this.heads[p]!;
      while (head < stream.length && stream[head]!.visit.frontier === at) {
        this.clock[p]!.released = stream[head]!.visit.sequence;
        group.push(stream[head++]!);
      }
      this.advance(p, head);
    }
    group.sort(byVisitId);
    this.store.put(CLOCK_KEY, this.clock);
    return group.map((w) => w.visit);
  }

  /** Every writer has promised nothing earlier than this. */
  private frontier(): number {
    let min = Number.POSITIVE_INFINITY;
    for (const c of this.clock) if (c.frontier < min) min = c.frontier;
    return min;
  }

  /** Sequence of the last record of writer `p` released or waiting: anything not above it is a copy. */
  private lastInLine(p: number): number {
    const stream = this.streams[p]!;
    const tail = stream.length > this.heads[p]! ? stream[stream.length - 1]!.visit.sequence : -1;
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
