/**
 * The `interaction-counts` application: `rec.interactions` → per-user counts
 * by interaction type in a RocksDB store (changelog
 * `rec.interaction-counts.counts.changelog`), each `event_id` counted once
 * within the dedup horizon (store `event-ids`). Used by the crash test, the
 * `runtime` benchmark and `recstream demo`.
 *
 * @example
 * ```ts
 * const topology = await interactionCountsTopology(platform.serde, loadConfig());
 * console.log(String(topology.describe()));
 * ```
 */
import { EVENT_IDS_STORE } from '../features/math/interactions.js';
import {
  INTERACTION_COUNTS_STORE,
  InteractionCounts,
  interactionCountsCodec,
} from '../processors/interaction-counts/interaction-counts.js';
import { CONFIG_SCHEMA, type Config } from '../runtime/config.js';
import { avroDeserializer } from '../runtime/processor/avro-serdes.js';
import { type Topology, TopologyBuilder } from '../runtime/processor/topology.js';
import type { Serde } from '../runtime/serde/serde.js';
import { DEDUP_STORE_CACHE_ENTRIES, dedupCodec } from '../runtime/state/dedup-window.js';
import { INTERACTIONS_TOPIC } from '../schemas/topics.js';

/**
 * `config`: where RECSTREAM_DEDUP_HORIZON_MS is read; without it, the
 * setting's default.
 */
export async function interactionCountsTopology(
  serde: Serde,
  config?: Pick<Config, 'dedupHorizonMs'>,
): Promise<Topology> {
  const interactions = avroDeserializer(await serde.decoder('rec.interactions-value'));
  const options = { dedupHorizonMs: config?.dedupHorizonMs ?? CONFIG_SCHEMA.dedupHorizonMs.default };
  return new TopologyBuilder('interaction-counts')
    .addSource('interactions', [INTERACTIONS_TOPIC], interactions)
    .addProcessor('interaction-counts', () => new InteractionCounts(options), ['interactions'])
    .addStore({ name: INTERACTION_COUNTS_STORE, codec: interactionCountsCodec, keyedByRecordKey: true }, [
      'interaction-counts',
    ])
    .addStore({ name: EVENT_IDS_STORE, codec: dedupCodec, cacheEntries: DEDUP_STORE_CACHE_ENTRIES }, [
      'interaction-counts',
    ])
    .build();
}
