/**
 * The `co-visitation` application: item-to-item co-visitation counts, a
 * candidate source beside the ANN index that follows what users consume
 * together now, without retraining.
 *
 * ```
 * rec.interactions (key user) ─► co-visitation-sessions ─► stores session-items (key user_id), event-ids,
 *                                                          co-visit-clock
 * rec.users (opt-out, deletion) ─┘  (and global table opt-outs: opt-out as of event time)
 *      rec.items ─► global table catalog-versions ─┘ │ per consumed item: the pairs it makes with the
 *                                                     │ user's recent items, both ways
 *                                                     ▼
 * rec.co-visits (key item_id) ─► co-visitation ─► stores co-visitation (key item_id; online view
 *      merged by writer stream time               `co_visitation`), co-visit-ids, co-visit-merge
 * ```
 *
 * Its own application, like `experiment-metrics`: it is deployed, replayed
 * and scaled on its own (`recstream process --app co-visitation`), and the
 * feature views never wait for it. Windows and decay are by event time
 * (RECSTREAM_CO_VISITATION_*), so a replay gives the same stores.
 *
 * @example
 * ```ts
 * const topology = await coVisitationTopology(platform.serde, coVisitationOptions(loadConfig()));
 * console.log(String(topology.describe()));
 * ```
 */
import { EVENT_IDS_STORE } from '../features/math/interactions.js';
import { CO_VISITATION_STORE, coVisitationCodec } from '../features/views/co-visitation.js';
import { CATALOG_VERSIONS, reduceCatalog } from '../processors/catalog/catalog-versions.js';
import { CO_VISIT_MERGE_STORE } from '../processors/co-visitation/co-visit-merge.js';
import { CO_VISIT_CLOCK_STORE, coVisitClockCodec } from '../processors/co-visitation/co-visit-output.js';
import { CO_VISIT_IDS_STORE, CoVisitationCounts } from '../processors/co-visitation/co-visitation.js';
import { CoVisitationSessions } from '../processors/co-visitation/co-visitation-sessions.js';
import { OPT_OUTS, reduceOptOuts } from '../processors/co-visitation/opt-outs.js';
import { SESSION_ITEMS_STORE, sessionItemsCodec } from '../processors/co-visitation/session-items.js';
import { CONFIG_SCHEMA, type Config } from '../runtime/config.js';
import { avroDeserializer, avroSerializer } from '../runtime/processor/avro-serdes.js';
import { type Topology, TopologyBuilder } from '../runtime/processor/topology.js';
import { writerClocksCodec } from '../runtime/processor/writer-merge.js';
import type { Serde } from '../runtime/serde/serde.js';
import { DEDUP_STORE_CACHE_ENTRIES, dedupCodec } from '../runtime/state/dedup-window.js';
import { CO_VISITS_TOPIC, INTERACTIONS_TOPIC, ITEMS_TOPIC, USERS_TOPIC } from '../schemas/topics.js';

export const CO_VISITATION_APPLICATION = 'co-visitation';

export interface CoVisitationOptions {
  readonly windowMs: number;
  readonly recentItems: number;
  readonly halfLifeMs: number;
  readonly neighbours: number;
  /** RECSTREAM_DEDUP_HORIZON_MS; its default when absent. */
  readonly dedupHorizonMs?: number;
  /** RECSTREAM_WATERMARK_INTERVAL_MS; its default when absent. */
  readonly watermarkIntervalMs?: number;
}

/** The application's settings from the configuration (RECSTREAM_CO_VISITATION_*). */
export function coVisitationOptions(config: Config): CoVisitationOptions {
  return {
    windowMs: config.coVisitationWindowMs,
    recentItems: config.coVisitationRecentItems,
    halfLifeMs: config.coVisitationHalfLifeMs,
    neighbours: config.coVisitationNeighbours,
    dedupHorizonMs: config.dedupHorizonMs,
    watermarkIntervalMs: config.watermarkIntervalMs,
  };
}

export async function coVisitationTopology(serde: Serde, options: CoVisitationOptions): Promise<Topology> {
  const settings = {
    ...options,
    dedupHorizonMs: options.dedupHorizonMs ?? CONFIG_SCHEMA.dedupHorizonMs.default,
    watermarkIntervalMs: options.watermarkIntervalMs ?? CONFIG_SCHEMA.watermarkIntervalMs.default,
  };
  return new TopologyBuilder(CO_VISITATION_APPLICATION)
    .addGlobalTable({
      name: CATALOG_VERSIONS,
      topic: ITEMS_TOPIC,
      deserializer: avroDeserializer(await serde.decoder('rec.items-value')),
      reduce: reduceCatalog,
    })
    .addGlobalTable({
      name: OPT_OUTS,
      topic: USERS_TOPIC,
      deserializer: avroDeserializer(await serde.decoder('rec.users-value')),
      reduce: reduceOptOuts,
    })
    .addSource(
      'interactions',
      [INTERACTIONS_TOPIC],
      avroDeserializer(await serde.decoder('rec.interactions-value')),
    )
    .addSource('users', [USERS_TOPIC], avroDeserializer(await serde.decoder('rec.users-value')))
    .addProcessor('co-visitation-sessions', () => new CoVisitationSessions(settings), [
      'interactions',
      'users',
    ])
    .addStore({ name: SESSION_ITEMS_STORE, codec: sessionItemsCodec, keyedByRecordKey: true }, [
      'co-visitation-sessions',
    ])
    .addStore({ name: EVENT_IDS_STORE, codec: dedupCodec, cacheEntries: DEDUP_STORE_CACHE_ENTRIES }, [
      'co-visitation-sessions',
    ])
    .addStore({ name: CO_VISIT_CLOCK_STORE, codec: coVisitClockCodec }, ['co-visitation-sessions'])
    .addSink('co-visits', CO_VISITS_TOPIC, avroSerializer(await serde.encoder('rec.co-visits-value')), [
      'co-visitation-sessions',
    ])
    .addSource(
      'co-visits-in',
      [CO_VISITS_TOPIC],
      avroDeserializer(await serde.decoder('rec.co-visits-value')),
    )
    .addProcessor('co-visitation', () => new CoVisitationCounts(settings), ['co-visits-in'])
    .addStore({ name: CO_VISITATION_STORE, codec: coVisitationCodec, keyedByRecordKey: true }, [
      'co-visitation',
    ])
    .addStore({ name: CO_VISIT_IDS_STORE, codec: dedupCodec, cacheEntries: DEDUP_STORE_CACHE_ENTRIES }, [
      'co-visitation',
    ])
    .addStore({ name: CO_VISIT_MERGE_STORE, codec: writerClocksCodec }, ['co-visitation'])
    .build();
}
