/**
 * The `interaction-counts` application: `rec.interactions` → per-user counts
 * by interaction type in a RocksDB store (changelog
 * `rec.interaction-counts.counts.changelog`). Used by the crash test, the
 * `runtime` benchmark and `recstream demo`.
 *
 * @example
 * ```ts
 * const topology = await interactionCountsTopology(platform.serde);
 * console.log(String(topology.describe()));
 * ```
 */
import {
  INTERACTION_COUNTS_STORE,
  InteractionCounts,
  interactionCountsCodec,
} from '../processors/interaction-counts/interaction-counts.js';
import { avroDeserializer } from '../runtime/processor/avro-serdes.js';
import { type Topology, TopologyBuilder } from '../runtime/processor/topology.js';
import type { Serde } from '../runtime/serde/serde.js';
import { INTERACTIONS_TOPIC } from '../runtime/topics/catalogue.js';

export async function interactionCountsTopology(serde: Serde): Promise<Topology> {
  const interactions = avroDeserializer(await serde.decoder('rec.interactions-value'));
  return new TopologyBuilder('interaction-counts')
    .addSource('interactions', [INTERACTIONS_TOPIC], interactions)
    .addProcessor('interaction-counts', () => new InteractionCounts(), ['interactions'])
    .addStore({ name: INTERACTION_COUNTS_STORE, codec: interactionCountsCodec, keyedByRecordKey: true }, [
      'interaction-counts',
    ])
    .build();
}
