/**
 * `item-features` (input `rec.interactions.enriched`, keyed by item):
 * maintains the per-item view (`features/views/item-view.ts`) and emits one
 * `TrainingExample` per interaction to `rec.training-examples` (keyed by
 * user): the interaction's labels, the user's features before it (carried
 * by the enriched record, as bytes it copies without decoding:
 * `enriched-wire.ts`, `example-parts.ts`) and the item's features before it.
 *
 * Each user-features task sends its interactions in event-time order;
 * `upstream-merge.ts` merges those streams by event time, so the views and
 * examples are the same however the streams interleave on the topic
 * (commit timing, replays, restarts), and drops what a task sent twice.
 * Interactions of one millisecond are handled as one instant: all get
 * their features first, then all are folded. A late interaction is placed
 * at the promise it came with and folded there; it yields no example.
 *
 * Impressions wait for their label in the delayed-label join
 * (`label-join.ts`). So do exposures of served lists (enriched records
 * with `served`: `features/math/served-exposures.ts`), which fold into no
 * view. An interaction carrying a `request_id` labels the exposure of that
 * request and item, and its own example carries the served position; one
 * whose request names no waiting exposure of its user and item is counted
 * in store `attribution` (key `counts`) and goes on as an ordinary
 * interaction. An exposure of a request and item already waiting (the
 * client's impression of a served item, or the other way round) merges
 * into it and is counted there too: one exposure is never two examples.
 * Interactions without user features (the user opted out, or late) update
 * the item view only. A purge notice (a user opted out or was deleted)
 * drops the user's waiting impressions and the features of their waiting
 * records at once.
 *
 * A bounded input (`Processor.endOfInput`, after every user-features task
 * has released what it held) releases every record still waiting for the
 * merge, in order, and labels every exposure still in its label window by
 * what the input held: nothing follows that could change them.
 *
 * @example
 * ```ts
 * builder.addProcessor('item-features', () => new ItemFeaturesProcessor({ labelWindowMs: 1_800_000 }), ['enriched']);
 * ```
 */
import { CLICK_THROUGH, eventLabels, watchFraction } from '../../features/math/interactions.js';
import type { Versioned } from '../../features/math/versioned.js';
import type { CatalogAttributes } from '../../features/views/attributes.js';
import { ITEM_FRONTIER_STORE, itemFrontierKeys } from '../../features/views/item-frontier.js';
import {
  emptyItemView,
  foldItemInteraction,
  ITEM_VIEW_STORE,
  type ItemView,
  itemFeaturesAt,
} from '../../features/views/item-view.js';
import { ProcessingError } from '../../runtime/errors.js';
import type {
  GlobalTableView,
  Processor,
  ProcessorContext,
  StreamRecord,
} from '../../runtime/processor/processor.js';
import { jsonCodec } from '../../runtime/state/codecs/index.js';
import type { KeyValueStore, ValueCodec } from '../../runtime/state/store.js';
import type { ServedPosition } from '../../schemas/generated/types.js';
import { CATALOG_VERSIONS, catalogAsOf } from '../catalog/catalog-versions.js';
import type { EnrichedWire } from './enriched-wire.js';
import type { ExampleParts } from './example-parts.js';
import { LABEL_JOIN_STORE, LabelJoin } from './label-join.js';
import { ITEM_CLOCK_STORE, type Released, UpstreamMerge } from './upstream-merge.js';

/** Records waiting before a silent upstream partition is reported. */
const SILENT_WARNING_AT = 10_000;

export const ATTRIBUTION_STORE = 'attribution';
const COUNTS_KEY = 'counts';

/** Store `attribution`, key `counts`: how the task's interactions carrying a request_id, and its impressions, met served lists. */
export interface AttributionCounts {
  /** Interactions that labelled the exposure of their request and item. */
  attributed: number;
  /** Interactions whose request_id named no waiting exposure of their item (no such list, not in it, or past its window). */
  unknown_request: number;
  /** Interactions whose request_id and item named another user's exposure. */
  other_user: number;
  /** Exposures (served items, client impressions) merged into one of the same request and item already waiting. */
  merged_exposures: number;
}

export const attributionCodec: ValueCodec<AttributionCounts> = jsonCodec<AttributionCounts>();

export interface ItemFeaturesOptions {
  /** How long after an impression a click-through still labels it clicked. */
  readonly labelWindowMs: number;
}

export class ItemFeaturesProcessor implements Processor<EnrichedWire | null, ExampleParts> {
  private ctx!: ProcessorContext<ExampleParts>;
  private views!: KeyValueStore<ItemView>;
  private catalog!: GlobalTableView<Versioned<CatalogAttributes>>;
  private labels!: LabelJoin;
  private merge!: UpstreamMerge;
  private countsStore!: KeyValueStore<AttributionCounts>;
  private frontierStore!: KeyValueStore<number>;
  private counts: AttributionCounts = {
    attributed: 0,
    unknown_request: 0,
    other_user: 0,
    merged_exposures: 0,
  };
  private warnedSilent = false;
  /** The topic the input is held on (the enriched topic, as the task reads it). */
  private inputTopic: string | undefined;
  private readonly scratch = new Float64Array(3);

  constructor(private readonly options: ItemFeaturesOptions) {}

  async init(ctx: ProcessorContext<ExampleParts>): Promise<void> {
    this.ctx = ctx;
    this.views = ctx.store(ITEM_VIEW_STORE);
    this.catalog = ctx.globalTable(CATALOG_VERSIONS);
    this.labels = new LabelJoin(ctx.store(LABEL_JOIN_STORE), this.options.labelWindowMs);
    await this.labels.load();
    this.merge = new UpstreamMerge(ctx.store(ITEM_CLOCK_STORE), ctx.partitionCount);
    await this.merge.load();
    this.countsStore = ctx.store(ATTRIBUTION_STORE);
    this.frontierStore = ctx.store(ITEM_FRONTIER_STORE);
    this.counts = { ...this.counts, ...(await this.countsStore.get(COUNTS_KEY)) };
  }

  async process(record: StreamRecord<EnrichedWire | null>): Promise<void> {
    const value = record.value;
    if (value === null) throw new ProcessingError('rec.interactions.enriched record has no value');
    const { topic, offset } = this.ctx.recordMetadata()!;
    this.inputTopic = topic;
    if (value.purged_user_id !== null) {
      this.labels.forgetUser(value.purged_user_id);
      this.merge.forgetUser(value.purged_user_id);
    } else if (this.merge.acceptRecord(value, offset)) await this.release();
    else if (!this.warnedSilent && this.merge.waiting() >= SILENT_WARNING_AT) this.warnIfSilent();
    this.ctx.holdInput(topic, this.merge.oldestOffset());
  }

  /** Says once why nothing is released when a partition of rec.interactions has never had an interaction. */
  private warnIfSilent(): void {
    const silent = this.merge.silent();
    if (silent.length === 0) return;
    this.warnedSilent = true;
    this.ctx.logger.warn(
      { waiting: this.merge.waiting(), silentPartitions: silent },
      'item-features waits for partitions of rec.interactions that have had no interaction yet; item views and training examples are held back until they do',
    );
  }

  /** The input ended: see the module comment. */
  async endOfInput(): Promise<void> {
    await this.release(Number.POSITIVE_INFINITY);
    if (this.inputTopic !== undefined) this.ctx.holdInput(this.inputTopic, this.merge.oldestOffset());
  }

  /** Releases what every upstream task's promise has passed (`until`: everything before it). */
  private async release(until = this.merge.frontier()): Promise<void> {
    for (let group = this.merge.nextGroup(until); group !== undefined; group = this.merge.nextGroup(until)) {
      this.emitAll(await this.labels.expire(group[0]!.at));
      for (const released of group) await this.label(released);
      // Folded only after the whole millisecond has its features: same-time events do not see each other.
      for (const { record, interaction } of group) {
        if (record.served !== null) continue;
        const view = (await this.views.get(interaction.item_id)) ?? emptyItemView();
        foldItemInteraction(view, interaction, this.scratch);
        this.views.put(interaction.item_id, view);
      }
    }
    this.emitAll(await this.labels.expire(until));
    // The end of input (+Infinity) is no time a served list could log: the last finite frontier stays.
    if (Number.isFinite(until))
      this.frontierStore.put(itemFrontierKeys(this.ctx.partitionCount)[this.ctx.partition]!, until);
  }

  /** The example of one released interaction or exposure, and the exposure it may label. */
  private async label({ record, interaction }: Released): Promise<void> {
    const attrs = catalogAsOf(this.catalog, interaction.item_id, interaction.ts);
    const wf = watchFraction(interaction, attrs?.duration_s);
    let served: ServedPosition | null = record.served;
    if (record.userFeatures !== null || record.late) {
      let attributed = false;
      if (interaction.context.request_id !== null && interaction.type !== 'impression') {
        const attribution = await this.labels.attribute(interaction, wf);
        this.count(attribution.outcome);
        attributed = attribution.outcome === 'attributed';
        served = attribution.served;
      }
      if (CLICK_THROUGH.has(interaction.type) && !attributed) {
        const clicked = await this.labels.resolve(interaction);
        if (clicked !== undefined) this.emit(clicked);
      }
    }
    if (record.userFeatures === null || record.late) return;
    const view = await this.views.get(interaction.item_id);
    const example: ExampleParts = {
      head: {
        example_id: interaction.event_id,
        user_id: interaction.user_id,
        item_id: interaction.item_id,
        type: interaction.type,
        ts: interaction.ts,
        context: interaction.context,
        labels: eventLabels(interaction, wf),
        served,
      },
      user: record.userFeatures,
      item: itemFeaturesAt(view, interaction.ts, attrs, this.scratch),
    };
    if (interaction.type !== 'impression') this.emit(example);
    else if (!(await this.labels.add(example))) this.count('merged_exposures');
  }

  private count(what: keyof AttributionCounts): void {
    this.counts[what]++;
    this.countsStore.put(COUNTS_KEY, this.counts);
  }

  private emitAll(examples: readonly ExampleParts[]): void {
    for (const example of examples) this.emit(example);
  }

  private emit(example: ExampleParts): void {
    this.ctx.forward({ key: example.head.user_id, value: example, timestamp: example.head.ts });
  }
}
