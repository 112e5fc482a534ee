/**
 * `item-features` (input `rec.interactions.enriched`, keyed by item):
 * maintains the per-item view (`item-view.ts`) and emits one
 * `TrainingExample` per interaction to `rec.training-examples` (keyed by
 * user): the interaction's labels, the user's features before it (carried
 * by the enriched record) and the item's features before it.
 *
 * Each user-features task sends its interactions in event-time order with
 * its watermark; this processor merges those streams: it keeps the
 * watermark of every upstream task (`item-clock`) and releases waiting
 * interactions (`item-pending`) in (event time, event id) order once every
 * upstream watermark has passed them. The order of release, and so the
 * views and examples, are the same however the upstream streams interleave
 * in the topic (commit timing, replays, restarts). Records an upstream task
 * sent again after a restart are recognised by their sequence number and
 * dropped. A late interaction is placed at the watermark it came with and
 * folded there; it yields no example.
 *
 * Impressions wait for their label in the delayed-label join
 * (`label-join.ts`). Interactions without user features (the user opted
 * out, or late) update the item view only.
 *
 * @example
 * ```ts
 * builder.addProcessor('item-features', () => new ItemFeaturesProcessor({ labelWindowMs: 1_800_000 }), ['enriched']);
 * ```
 */
import { ProcessingError } from '../../runtime/errors.js';
import type {
  GlobalTableView,
  Processor,
  ProcessorContext,
  StreamRecord,
} from '../../runtime/processor/processor.js';
import { jsonCodec } from '../../runtime/state/codecs/index.js';
import type { KeyValueStore, ValueCodec } from '../../runtime/state/store.js';
import type { EnrichedInteraction, Interaction, TrainingExample } from '../../schemas/generated/types.js';
import { CATALOG_VERSIONS, type CatalogAttributes, catalogAsOf } from '../catalog/catalog-versions.js';
import { CLICK_THROUGH, eventLabels, watchFraction } from '../feature-math/interactions.js';
import { timeKey } from '../feature-math/keys.js';
import { subjectCodec } from '../feature-math/schema-codec.js';
import { TimeQueue } from '../feature-math/time-queue.js';
import type { Versioned } from '../feature-math/versioned.js';
import {
  emptyItemView,
  foldItemInteraction,
  ITEM_VIEW_STORE,
  type ItemView,
  itemFeaturesAt,
} from './item-view.js';
import { LABEL_JOIN_STORE, LabelJoin } from './label-join.js';

export const ITEM_PENDING_STORE = 'item-pending';
export const ITEM_CLOCK_STORE = 'item-clock';

export interface ItemFeaturesOptions {
  /** How long after an impression a click-through still labels it clicked. */
  readonly labelWindowMs: number;
}

/** Store `item-pending`: key `timeKey(order time, event_id)`, value the enriched record (Avro). */
export const pendingEnrichedCodec: ValueCodec<EnrichedInteraction> = subjectCodec<EnrichedInteraction>(
  'rec.interactions.enriched-value',
);

/** Store `label-join`: the waiting impressions' examples (Avro of rec.training-examples-value). */
export const trainingExampleCodec: ValueCodec<TrainingExample> = subjectCodec<TrainingExample>(
  'rec.training-examples-value',
);

/** What is known of one upstream task (store `item-clock`, key its partition). */
export interface UpstreamClock {
  frontier: number;
  /** Highest sequence number taken from it; -1 before the first. */
  sequence: number;
}

export const upstreamClockCodec: ValueCodec<UpstreamClock> = jsonCodec<UpstreamClock>();

interface Waiting {
  readonly record: EnrichedInteraction;
  readonly interaction: Interaction;
}

export class ItemFeaturesProcessor implements Processor<EnrichedInteraction | null, TrainingExample> {
  private ctx!: ProcessorContext<TrainingExample>;
  private views!: KeyValueStore<ItemView>;
  private pendingStore!: KeyValueStore<EnrichedInteraction>;
  private clockStore!: KeyValueStore<UpstreamClock>;
  private catalog!: GlobalTableView<Versioned<CatalogAttributes>>;
  private labels!: LabelJoin;
  private upstream: UpstreamClock[] = [];
  private readonly queue = new TimeQueue<Waiting>();
  private readonly scratch = new Float64Array(3);

  constructor(private readonly options: ItemFeaturesOptions) {}

  async init(ctx: ProcessorContext<TrainingExample>): Promise<void> {
    this.ctx = ctx;
    this.views = ctx.store(ITEM_VIEW_STORE);
    this.pendingStore = ctx.store(ITEM_PENDING_STORE);
    this.clockStore = ctx.store(ITEM_CLOCK_STORE);
    this.catalog = ctx.globalTable(CATALOG_VERSIONS);
    this.labels = new LabelJoin(ctx.store(LABEL_JOIN_STORE), this.options.labelWindowMs);
    await this.labels.load();
    this.upstream = [];
    for (let p = 0; p < ctx.partitionCount; p++) {
      const clock = await this.clockStore.get(String(p));
      this.upstream.push(clock ? { ...clock } : { frontier: Number.NEGATIVE_INFINITY, sequence: -1 });
    }
    for await (const [, record] of this.pendingStore.range()) {
      const interaction = record.interaction!;
      this.queue.insert(orderTime(record, interaction), interaction.event_id, { record, interaction });
    }
  }

  async process(record: StreamRecord<EnrichedInteraction | null>): Promise<void> {
    const value = record.value;
    if (value === null) throw new ProcessingError('rec.interactions.enriched record has no value');
    const p = value.source_partition;
    const upstream = this.upstream[p];
    if (upstream === undefined)
      throw new ProcessingError(
        `enriched record from partition ${p}, but the topic has ${this.ctx.partitionCount} partitions`,
      );
    const interaction = value.interaction;
    if (interaction !== null && value.sequence > upstream.sequence) {
      upstream.sequence = value.sequence;
      const at = orderTime(value, interaction);
      this.queue.insert(at, interaction.event_id, { record: value, interaction });
      this.pendingStore.put(timeKey(at, interaction.event_id), value);
    }
    const advanced = value.frontier > upstream.frontier;
    if (advanced) upstream.frontier = value.frontier;
    this.clockStore.put(String(p), upstream);
    if (advanced) await this.release(this.mergedFrontier());
  }

  /** Every upstream task has released everything before this time. */
  private mergedFrontier(): number {
    let min = Number.POSITIVE_INFINITY;
    for (const u of this.upstream) if (u.frontier < min) min = u.frontier;
    return min;
  }

  private async release(frontier: number): Promise<void> {
    const group: Waiting[] = [];
    while (this.queue.peekTs() < frontier) {
      const at = this.queue.peekTs();
      this.emitAll(await this.labels.expire(at));
      group.length = 0;
      while (this.queue.peekTs() === at) group.push(this.queue.shift()!.value);
      for (const waiting of group) await this.label(waiting);
      // Folded only after the whole millisecond has its features: same-time events do not see each other.
      for (const { interaction, record } of group) {
        this.pendingStore.delete(timeKey(orderTime(record, interaction), interaction.event_id));
        const view = (await this.views.get(interaction.item_id)) ?? emptyItemView();
        foldItemInteraction(view, interaction, this.scratch);
        this.views.put(interaction.item_id, view);
      }
    }
    this.emitAll(await this.labels.expire(frontier));
  }

  /** The example of one released interaction, and the impression it may label clicked. */
  private async label({ record, interaction }: Waiting): Promise<void> {
    if (CLICK_THROUGH.has(interaction.type) && (record.user !== null || record.late)) {
      const clicked = await this.labels.resolve(interaction);
      if (clicked !== undefined) this.emit(clicked);
    }
    if (record.user === null || record.late) return;
    const attrs = catalogAsOf(this.catalog, interaction.item_id, interaction.ts);
    const view = await this.views.get(interaction.item_id);
    const example: TrainingExample = {
      example_id: interaction.event_id,
      user_id: interaction.user_id,
      item_id: interaction.item_id,
      type: interaction.type,
      ts: interaction.ts,
      context: interaction.context,
      labels: eventLabels(interaction, watchFraction(interaction, attrs?.duration_s)),
      user: record.user,
      item: itemFeaturesAt(view, interaction.ts, attrs, this.scratch),
    };
    if (interaction.type === 'impression') this.labels.add(example);
    else this.emit(example);
  }

  private emitAll(examples: readonly TrainingExample[]): void {
    for (const example of examples) this.emit(example);
  }

  private emit(example: TrainingExample): void {
    this.ctx.forward({ key: example.user_id, value: example, timestamp: example.ts });
  }
}

/** Where a record sits in the merge: its event time, or for a late one the watermark it came with. */
function orderTime(record: EnrichedInteraction, interaction: Interaction): number {
  return record.late ? record.frontier : interaction.ts;
}
