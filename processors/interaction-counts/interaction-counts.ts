/**
 * `interaction-counts`: per user, how many interactions of each type they
 * made, and the event time of the last one. The smallest stateful processor
 * of the platform: it exercises the runtime end to end (Avro source,
 * RocksDB store, changelog, commits) and is what the crash test and the
 * `runtime` benchmark run.
 *
 * @example
 * ```ts
 * builder.addProcessor('interaction-counts', () => new InteractionCounts(), ['interactions'])
 *        .addStore(interactionCountsStore, ['interaction-counts']);
 * ```
 */
import type { Processor, ProcessorContext, StreamRecord } from '../../runtime/processor/processor.js';
import type { KeyValueStore, ValueCodec } from '../../runtime/state/store.js';

/** The fields of an `Interaction` this processor reads. */
export interface CountedInteraction {
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

/**
 * Fixed-layout codec: keys sorted so equal counts give equal bytes whatever
 * order the types were first seen in (stores are compared by digest).
 */
export const interactionCountsCodec: ValueCodec<InteractionCountsValue> = {
  encode(value) {
    const types = Object.keys(value.by_type).sort();
    const sorted: Record<string, number> = {};
    for (const t of types) sorted[t] = value.by_type[t]!;
    return Buffer.from(JSON.stringify({ total: value.total, by_type: sorted, last_ts: value.last_ts }));
  },
  decode(bytes) {
    return JSON.parse(bytes.toString('utf8')) as InteractionCountsValue;
  },
};

export class InteractionCounts implements Processor<CountedInteraction | null, never> {
  private counts!: KeyValueStore<InteractionCountsValue>;

  init(ctx: ProcessorContext<never>): void {
    this.counts = ctx.store(INTERACTION_COUNTS_STORE);
  }

  async process(record: StreamRecord<CountedInteraction | null>): Promise<void> {
    const event = record.value;
    if (event === null) return;
    const user = event.user_id;
    const current = (await this.counts.get(user)) ?? { total: 0, by_type: {}, last_ts: 0 };
    current.total += 1;
    current.by_type[event.type] = (current.by_type[event.type] ?? 0) + 1;
    if (event.ts > current.last_ts) current.last_ts = event.ts;
    this.counts.put(user, current);
  }
}
