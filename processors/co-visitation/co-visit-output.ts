/**
 * What a `co-visitation-sessions` task sends to `rec.co-visits`: co-visits
 * keyed by item, each with the task's next sequence number and its stream
 * time (`frontier`: the latest interaction event time it has seen, which is
 * the record's place in the merge and a promise that nothing it sends later
 * has an earlier place), and bare watermarks to partitions that have had no
 * promise for `watermarkIntervalMs` of stream time, so the `co-visitation`
 * tasks can merge the writers' streams (`co-visit-merge.ts`) without
 * waiting on a writer that sends them nothing. The sequence, the stream
 * time and the latest promise per partition live in store
 * `co-visit-clock`, committed with the sessions, so the stream is a
 * function of the input alone, also across a crash or a replay.
 *
 * @example
 * ```ts
 * const output = new CoVisitOutput(ctx, await loadCoVisitClock(store, ctx.partitionCount), store, 300_000);
 * output.advance(event.ts);
 * output.emit({ visit_id, item_id, ts, neighbours });
 * output.sendWatermarks();
 * ```
 */
import { partitionForKey } from '../../runtime/log/partitioner.js';
import type { ProcessorContext } from '../../runtime/processor/processor.js';
import { jsonCodec } from '../../runtime/state/codecs/index.js';
import type { KeyValueStore, ValueCodec } from '../../runtime/state/store.js';
import type { CoVisit, CoVisitNeighbour } from '../../schemas/generated/types.js';

export const CO_VISIT_CLOCK_STORE = 'co-visit-clock';
const CLOCK_KEY = 'clock';

/** A sessions task's clock (store `co-visit-clock`, key `clock`). */
export interface CoVisitClock {
  /** Latest valid interaction event time seen; -1 before the first. */
  stream_ts: number;
  /** Sequence number of the next co-visit. */
  sequence: number;
  /** Latest promise sent to each partition of rec.co-visits (-Infinity, stored as null: none yet). */
  promised: number[];
}

export const coVisitClockCodec: ValueCodec<CoVisitClock> = jsonCodec<CoVisitClock>();

/** The task's clock as stored, or a fresh one, with one promise per partition of rec.co-visits. */
export async function loadCoVisitClock(
  store: KeyValueStore<CoVisitClock>,
  partitionCount: number,
): Promise<CoVisitClock> {
  const stored = await store.get(CLOCK_KEY);
  const promised = Array.from(
    { length: partitionCount },
    (_, p) => stored?.promised?.[p] ?? Number.NEGATIVE_INFINITY,
  );
  return { stream_ts: -1, sequence: 0, ...stored, promised };
}

/** What a co-visit says before the output stamps it. */
export interface CoVisitBody {
  readonly visit_id: string;
  readonly item_id: string;
  readonly ts: number;
  readonly neighbours: CoVisitNeighbour[];
}

export class CoVisitOutput {
  constructor(
    private readonly ctx: ProcessorContext<CoVisit>,
    private readonly clock: CoVisitClock,
    private readonly store: KeyValueStore<CoVisitClock>,
    private readonly watermarkIntervalMs: number,
  ) {}

  /** Moves the stream time to `ts` if it is later. */
  advance(ts: number): void {
    if (ts > this.clock.stream_ts) this.clock.stream_ts = ts;
  }

  /** Sends a co-visit, keyed by its item, stamped with the next sequence number and the stream time. */
  emit(visit: CoVisitBody): void {
    const frontier = this.clock.stream_ts;
    const partition = partitionForKey(visit.item_id, this.ctx.partitionCount);
    if (frontier > this.clock.promised[partition]!) this.clock.promised[partition] = frontier;
    this.ctx.forward({
      key: visit.item_id,
      value: { ...visit, source_partition: this.ctx.partition, sequence: this.clock.sequence++, frontier },
      timestamp: visit.ts,
    });
  }

  /**
   * A bare watermark to each partition whose latest promise is an interval
   * of stream time behind; then puts the clock back (call once per record
   * processed, after `advance` and `emit`).
   */
  sendWatermarks(): void {
    const frontier = this.clock.stream_ts;
    for (let partition = 0; partition < this.ctx.partitionCount; partition++) {
      if (frontier - this.clock.promised[partition]! < this.watermarkIntervalMs) continue;
      this.clock.promised[partition] = frontier;
      this.ctx.forward({
        key: null,
        partition,
        value: {
          visit_id: '',
          item_id: '',
          ts: frontier,
          neighbours: [],
          source_partition: this.ctx.partition,
          sequence: this.clock.sequence - 1,
          frontier,
        },
        timestamp: frontier,
      });
    }
    this.store.put(CLOCK_KEY, this.clock);
  }
}
