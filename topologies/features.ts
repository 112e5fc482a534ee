/**
 * The `features` application: the catalog and users tables, the per-user
 * and per-item feature views, and training examples.
 *
 * ```
 * rec.items ─────────► catalog ─────────► store items (key item_id)
 *      └─ all partitions ─► global table catalog-versions (item → versions by updated_ts)
 * rec.users ─────────► profiles ────────► store users (key user_id, versions, opt_out)
 *                          │ purge (opt-out, deletion)
 *                          ▼
 * rec.interactions ──► user-features ───► stores user-view (key user_id), user-clock, served-waiting,
 *                          │                event-ids (ids taken, over the dedup horizon)
 * rec.recommendations ─┘   │ interaction (or served item as an exposure) + user features
 *                          │ before it, in event-time order, + watermarks
 *                          ▼
 * rec.interactions.enriched (key item_id) ─► item-features ─► stores item-view (key item_id),
 *                          │                        item-clock, label-join, attribution
 *                          ▼
 *                   rec.training-examples (key user_id)
 * ```
 *
 * One task per partition runs every processor, so a user's profile, view
 * and served lists share a task (`rec.users`, `rec.interactions` and
 * `rec.recommendations` are co-partitioned by user id), and so do an item's catalog entry and view (`rec.items` and
 * the enriched topic, by item id). The catalog is also a global table
 * because user-features needs the categories of any item.
 *
 * @example
 * ```ts
 * const topology = await featuresTopology(platform.serde, { latenessMs: 300_000, labelWindowMs: 1_800_000, watermarkIntervalMs: 60_000 });
 * console.log(String(topology.describe()));
 * ```
 */
import { EVENT_IDS_STORE } from '../features/math/interactions.js';
import { ITEM_FRONTIER_STORE, itemFrontierCodec } from '../features/views/item-frontier.js';
import { ITEM_VIEW_STORE, itemViewCodec } from '../features/views/item-view.js';
import { shareCatalogStrings } from '../features/views/shared-strings.js';
import { USER_VIEW_STORE, userViewCodec } from '../features/views/user-view.js';
import { CatalogProcessor, ITEMS_STORE, itemCodec } from '../processors/catalog/catalog.js';
import { CATALOG_VERSIONS, reduceCatalog } from '../processors/catalog/catalog-versions.js';
import { exampleCodec } from '../processors/item-features/example-parts.js';
import {
  ATTRIBUTION_STORE,
  attributionCodec,
  ItemFeaturesProcessor,
} from '../processors/item-features/item-features.js';
import { LABEL_JOIN_STORE } from '../processors/item-features/label-join.js';
import { ITEM_CLOCK_STORE } from '../processors/item-features/upstream-merge.js';
import { Profiles, profileHistoryCodec, USERS_STORE } from '../processors/profiles/profiles.js';
import { SERVED_WAITING_STORE, servedWaitingCodec } from '../processors/user-features/served-waiting.js';
import {
  USER_CLOCK_STORE,
  UserFeaturesProcessor,
  userClockCodec,
} from '../processors/user-features/user-features.js';
import { attributesAnonymous } from '../runtime/config/access.js';
import { CONFIG_SCHEMA, type Config } from '../runtime/config.js';
import { avroDeserializer } from '../runtime/processor/avro-serdes.js';
import type { ValueDeserializer } from '../runtime/processor/processor.js';
import { type Topology, TopologyBuilder } from '../runtime/processor/topology.js';
import { trustedAvroSerializer } from '../runtime/processor/trusted-avro-serde.js';
import { writerClocksCodec } from '../runtime/processor/writer-merge.js';
import type { Serde } from '../runtime/serde/serde.js';
import { DEDUP_STORE_CACHE_ENTRIES, dedupCodec } from '../runtime/state/dedup-window.js';
import type { Item } from '../schemas/generated/types.js';
import {
  ENRICHED_TOPIC,
  INTERACTIONS_TOPIC,
  ITEMS_TOPIC,
  RECOMMENDATIONS_TOPIC,
  TRAINING_EXAMPLES_TOPIC,
  USERS_TOPIC,
} from '../schemas/topics.js';
import { enrichedWireDeserializer, exampleSerializer } from './spliced-serdes.js';

export const FEATURES_APPLICATION = 'features';

export interface FeaturesOptions {
  readonly latenessMs: number;
  readonly labelWindowMs: number;
  readonly watermarkIntervalMs: number;
  /** RECSTREAM_DEDUP_HORIZON_MS; its default when absent. */
  readonly dedupHorizonMs?: number;
  /** Whether anonymous served lists become exposures (RECSTREAM_ATTRIBUTE_ANONYMOUS); true when absent. */
  readonly attributeAnonymous?: boolean;
}

/** The application's settings from the configuration (RECSTREAM_FEATURE_LATENESS_MS, …). */
export function featuresOptions(config: Config): FeaturesOptions {
  return {
    latenessMs: config.featureLatenessMs,
    labelWindowMs: config.labelWindowMs,
    watermarkIntervalMs: config.watermarkIntervalMs,
    dedupHorizonMs: config.dedupHorizonMs,
    attributeAnonymous: attributesAnonymous(config),
  };
}

export async function featuresTopology(serde: Serde, options: FeaturesOptions): Promise<Topology> {
  const itemDecoder = avroDeserializer(await serde.decoder('rec.items-value'));
  const items: ValueDeserializer<Item> = {
    deserialize: (bytes, topic) => {
      const item = itemDecoder.deserialize(bytes, topic);
      return item instanceof Promise ? item.then(shareCatalogStrings) : shareCatalogStrings(item);
    },
  };
  const users = avroDeserializer(await serde.decoder('rec.users-value'));
  const interactions = avroDeserializer(await serde.decoder('rec.interactions-value'));
  const servedLists = avroDeserializer(await serde.decoder('rec.recommendations-value'));
  const enrichedIn = await enrichedWireDeserializer(serde);
  const enrichedOut = await trustedAvroSerializer(serde, 'rec.interactions.enriched-value');
  const examples = await exampleSerializer(serde);
  // A waiting list is written once and read once, when the watermark passes it. Decoded copies kept
  // after each commit only grew the heap, by ~2 KB a served list, and until interactions move the
  // watermark nothing releases them.
  const servedWaitingStore = { name: SERVED_WAITING_STORE, codec: servedWaitingCodec, cacheEntries: 0 };
  const userFeatures = {
    ...options,
    dedupHorizonMs: options.dedupHorizonMs ?? CONFIG_SCHEMA.dedupHorizonMs.default,
  };
  return new TopologyBuilder(FEATURES_APPLICATION)
    .addGlobalTable({
      name: CATALOG_VERSIONS,
      topic: ITEMS_TOPIC,
      deserializer: items,
      reduce: reduceCatalog,
    })
    .addSource('items', [ITEMS_TOPIC], items)
    .addProcessor('catalog', () => new CatalogProcessor(), ['items'])
    .addStore({ name: ITEMS_STORE, codec: itemCodec, keyedByRecordKey: true }, ['catalog'])
    .addSource('users', [USERS_TOPIC], users)
    .addProcessor('profiles', () => new Profiles(), ['users'])
    .addStore({ name: USERS_STORE, codec: profileHistoryCodec, keyedByRecordKey: true }, [
      'profiles',
      'user-features',
    ])
    .addSource('interactions', [INTERACTIONS_TOPIC], interactions)
    .addSource('served-lists', [RECOMMENDATIONS_TOPIC], servedLists)
    .addProcessor('user-features', () => new UserFeaturesProcessor(userFeatures), [
      'interactions',
      'served-lists',
      'profiles',
    ])
    .addStore({ name: USER_VIEW_STORE, codec: userViewCodec, keyedByRecordKey: true }, ['user-features'])
    .addStore({ name: USER_CLOCK_STORE, codec: userClockCodec }, ['user-features'])
    .addStore(servedWaitingStore, ['user-features'])
    .addStore({ name: EVENT_IDS_STORE, codec: dedupCodec, cacheEntries: DEDUP_STORE_CACHE_ENTRIES }, [
      'user-features',
    ])
    .addSink('enriched', ENRICHED_TOPIC, enrichedOut, ['user-features'])
    .addSource('enriched-interactions', [ENRICHED_TOPIC], enrichedIn)
    .addProcessor('item-features', () => new ItemFeaturesProcessor(options), ['enriched-interactions'])
    .addStore({ name: ITEM_VIEW_STORE, codec: itemViewCodec, keyedByRecordKey: true }, ['item-features'])
    .addStore({ name: ITEM_CLOCK_STORE, codec: writerClocksCodec }, ['item-features'])
    .addStore({ name: ITEM_FRONTIER_STORE, codec: itemFrontierCodec }, ['item-features'])
    .addStore({ name: LABEL_JOIN_STORE, codec: exampleCodec }, ['item-features'])
    .addStore({ name: ATTRIBUTION_STORE, codec: attributionCodec }, ['item-features'])
    .addSink('training-examples', TRAINING_EXAMPLES_TOPIC, examples, ['item-features'])
    .build();
}
