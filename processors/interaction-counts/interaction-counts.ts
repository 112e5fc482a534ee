/**
 * `interaction-counts`: per user, how many interactions of each type they
 * made, and the event time of the last one. The smallest stateful processor
 * of the platform: it exercises the runtime end to end (Avro source,
 * RocksDB store, changelog, commits) and is what the crash test and the
 * `runtime` benchmark run.
 *
 * An interaction whose `event_id` it took within the dedup horizon
 * (store `event-ids`, `runtime/state/dedup-window.ts`) is a duplicate and
 * counts nothing.
 *
 * @example
 * ```ts
 * builder.addProcessor('interaction-counts', () => new InteractionCounts({ dedupHorizonMs }), ['interactions'])
 *        .addStore(interactionCountsStore, ['interaction-counts'])
 *        .addStore({ name: EVENT_IDS_STORE, codec: dedupCodec, cacheEntries: DEDUP_STORE_CACHE_ENTRIES }, ['interaction-counts']);
 * ```
 */
import { EVENT_IDS_STORE } from '../../features/math/interactions.js';
import type { Processor, ProcessorContext, StreamRecord } from '../../runtime/processor/processor.js';
import { DedupWindow } from '../../runtime/state/dedup-window.js';
import type { KeyValueStore, ValueCodec } from '../../runtime/state/store.js';
import { INTERACTION_TYPE_SYMBOLS } from '../../schemas/generated/types.js';

/** The fields of an `Interaction` this processor reads. */
export interface CountedInteraction {
  readonly event_id: string;
  readonly user_id: string;
  readonly type: string;
  readonly ts: number;
}

/** Counts by interaction type, with the total and the last event time. */
export interface InteractionCountsValue {
  total: number;
  by_type: Record<string, number>;
  last_ts: number;
}

export const INTERACTION_COUNTS_STORE = 'counts';

const TYPE_INDEX = new Map(INTERACTION_TYPE_SYMBOLS.map((t, i) => [t as string, i]));
const ENCODED_BYTES = 8 + 8 + 4 * INTERACTION_TYPE_SYMBOLS.length;

/**
 * Fixed binary layout (total, last_ts, one uint32 per interaction type in
 * schema order): equal counts give equal bytes whatever order the types were
 * first seen in (stores are compared by digest), and encoding at commit time
 * costs no JSON.
 */
export const interactionCountsCodec: ValueCodec<InteractionCountsValue> = {
  encode(value) {
    const out = Buffer.allocUnsafe(ENCODED_BYTES);
    out.writeDoubleBE(value.total, 0);
    out.writeDoubleBE(value.last_ts, 8);
    for (let i = 0; i < INTERACTION_TYPE_SYMBOLS.length; i++)
      out.writeUInt32BE(value.by_type[INTERACTION_TYPE_SYMBOLS[i]!] ?? 0, 16 + 4 * i);
    for (const type of Object.keys(value.by_type)) {
      if (!TYPE_INDEX.has(type))
        throw new RangeError(`interaction type ${JSON.stringify(type)} is not in the Interaction schema`);
    }
    return out;
  },
  decode(bytes) {
    if (bytes.length !== ENCODED_BYTES)
      throw new RangeError(`interaction counts value has ${bytes.length} bytes, expected ${ENCODED_BYTES}`);
    const by_type: Record<string, number> = {};
    for (let i = 0; i < INTERACTION_TYPE_SYMBOLS.length; i++) {
      const n = bytes.readUInt32BE(16 + 4 * i);
      if (n > 0) by_type[INTERACTION_TYPE_SYMBOLS[i]!] = n;
    }
    return { total: bytes.readDoubleBE(0), by_type, last_ts: bytes.readDoubleBE(8) };
  },
};

export interface InteractionCountsOptions {
  /** Event time over which a repeated event_id is recognised (RECSTREAM_DEDUP_HORIZON_MS). */
  readonly dedupHorizonMs: number;
}

export class InteractionCounts implements Processor<CountedInteraction | null, never> {
  private counts!: KeyValueStore<InteractionCountsValue>;
  private seen!: DedupWindow;

  constructor(private readonly options: InteractionCountsOptions) {}

  async init(ctx: ProcessorContext<never>): Promise<void> {
    this.counts = ctx.store(INTERACTION_COUNTS_STORE);
    this.seen = new DedupWindow(ctx.store(EVENT_IDS_STORE), { horizonMs: this.options.dedupHorizonMs });
    await this.seen.load();
  }

  async process(record: StreamRecord<CountedInteraction | null>): Promise<void> {
    const event = record.value;
    if (event === null || !(await this.seen.firstSeen(event.event_id, event.ts))) return;
    const user = event.user_id;
    const current = (await this.counts.get(user)) ?? { total: 0, by_type: {}, last_ts: 0 };
    current.total += 1;
    current.by_type[event.type] = (current.by_type[event.type] ?? 0) + 1;
    if (event.ts > current.last_ts) current.last_ts = event.ts;
    this.counts.put(user, current);
  }
}
