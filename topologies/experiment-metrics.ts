/**
 * The `experiment-metrics` application: each experiment's online figures
 * per variant, and the canary controller.
 *
 * ```
 * rec.recommendations ─┐ (key user)
 * rec.interactions ────┴► experiment-attribution ─► stores experiment-requests, experiment-pending,
 *                               │                      experiment-clock
 *                               │ each list with its clicks and watch time, once its window passed
 *                               ▼
 * rec.experiment-outcomes (key experiment_id) ─► experiment-figures ─► store experiment-figures
 *      rec.experiments ─► global table experiment-versions ─┘ │  (key experiment id; online view
 *      rec.model-versions ─► global table model-version-events │   `experiment_figures`),
 *                                                              │  store experiment-user-figures
 *                                                              ├─► rec.experiments (canary steps, conclusions)
 *                                                              └─► rec.model-versions (promoted / rejected)
 * ```
 *
 * Its own application rather than part of `features`: it is deployed,
 * replayed and scaled on its own (`recstream process --app
 * experiment-metrics`), and a fault in it never holds back the feature
 * views. A list is counted once its attribution window
 * (RECSTREAM_EXPERIMENT_ATTRIBUTION_MS, 2 min) has passed, with the clicks
 * and watch time that came within it.
 *
 * @example
 * ```ts
 * const topology = await experimentMetricsTopology(platform.serde, { windowMs: 1_800_000 });
 * console.log(String(topology.describe()));
 * ```
 */
import {
  attributionClockCodec,
  EXPERIMENT_CLOCK_STORE,
  EXPERIMENT_PENDING_STORE,
  EXPERIMENT_REQUESTS_STORE,
  ExperimentAttribution,
  heldRequestCodec,
  pendingCodec,
} from '../processors/experiment-metrics/attribution.js';
import {
  EXPERIMENTS_SINK,
  ExperimentFigures,
  experimentFiguresCodec,
  MODEL_VERSIONS_SINK,
  OUTCOME_IDS_STORE,
  userCountsCodec,
} from '../processors/experiment-metrics/experiment-figures.js';
import { EXPERIMENT_USER_FIGURES_STORE } from '../processors/experiment-metrics/figures.js';
import { EXPERIMENT_FIGURES_STORE } from '../processors/experiment-metrics/report.js';
import {
  EXPERIMENT_VERSIONS,
  MODEL_VERSIONS_TABLE,
  reduceExperiments,
  reduceModelVersions,
} from '../processors/experiment-metrics/tables.js';
import { attributesAnonymous } from '../runtime/config/access.js';
import { CONFIG_SCHEMA, type Config } from '../runtime/config.js';
import { avroDeserializer, avroSerializer } from '../runtime/processor/avro-serdes.js';
import { type Topology, TopologyBuilder } from '../runtime/processor/topology.js';
import type { Serde } from '../runtime/serde/serde.js';
import { DEDUP_STORE_CACHE_ENTRIES, dedupCodec } from '../runtime/state/dedup-window.js';
import {
  EXPERIMENT_OUTCOMES_TOPIC,
  EXPERIMENTS_TOPIC,
  INTERACTIONS_TOPIC,
  MODEL_VERSIONS_TOPIC,
  RECOMMENDATIONS_TOPIC,
} from '../schemas/topics.js';

export const EXPERIMENT_METRICS_APPLICATION = 'experiment-metrics';

export interface ExperimentMetricsOptions {
  /** How long after a served list its clicks count (RECSTREAM_EXPERIMENT_ATTRIBUTION_MS). */
  readonly windowMs: number;
  /** RECSTREAM_DEDUP_HORIZON_MS; its default when absent. */
  readonly dedupHorizonMs?: number;
  /** Whether anonymous served lists count (RECSTREAM_ATTRIBUTE_ANONYMOUS); true when absent. */
  readonly attributeAnonymous?: boolean;
}

export function experimentMetricsOptions(config: Config): ExperimentMetricsOptions {
  return {
    windowMs: config.experimentAttributionMs,
    dedupHorizonMs: config.dedupHorizonMs,
    attributeAnonymous: attributesAnonymous(config),
  };
}

export async function experimentMetricsTopology(
  serde: Serde,
  options: ExperimentMetricsOptions,
): Promise<Topology> {
  const experiments = avroDeserializer(await serde.decoder('rec.experiments-value'));
  const modelVersions = avroDeserializer(await serde.decoder('rec.model-versions-value'));
  const dedupHorizonMs = options.dedupHorizonMs ?? CONFIG_SCHEMA.dedupHorizonMs.default;
  return new TopologyBuilder(EXPERIMENT_METRICS_APPLICATION)
    .addGlobalTable({
      name: EXPERIMENT_VERSIONS,
      topic: EXPERIMENTS_TOPIC,
      deserializer: experiments,
      reduce: reduceExperiments,
    })
    .addGlobalTable({
      name: MODEL_VERSIONS_TABLE,
      topic: MODEL_VERSIONS_TOPIC,
      deserializer: modelVersions,
      reduce: reduceModelVersions,
    })
    .addSource(
      'served-lists',
      [RECOMMENDATIONS_TOPIC],
      avroDeserializer(await serde.decoder('rec.recommendations-value')),
    )
    .addSource(
      'interactions',
      [INTERACTIONS_TOPIC],
      avroDeserializer(await serde.decoder('rec.interactions-value')),
    )
    .addProcessor('experiment-attribution', () => new ExperimentAttribution(options), [
      'served-lists',
      'interactions',
    ])
    .addStore({ name: EXPERIMENT_REQUESTS_STORE, codec: heldRequestCodec }, ['experiment-attribution'])
    .addStore({ name: EXPERIMENT_PENDING_STORE, codec: pendingCodec }, ['experiment-attribution'])
    .addStore({ name: EXPERIMENT_CLOCK_STORE, codec: attributionClockCodec }, ['experiment-attribution'])
    .addSink(
      'experiment-outcomes',
      EXPERIMENT_OUTCOMES_TOPIC,
      avroSerializer(await serde.encoder('rec.experiment-outcomes-value')),
      ['experiment-attribution'],
    )
    .addSource(
      'outcomes',
      [EXPERIMENT_OUTCOMES_TOPIC],
      avroDeserializer(await serde.decoder('rec.experiment-outcomes-value')),
    )
    .addProcessor('experiment-figures', () => new ExperimentFigures({ dedupHorizonMs }), ['outcomes'])
    .addStore({ name: EXPERIMENT_FIGURES_STORE, codec: experimentFiguresCodec }, ['experiment-figures'])
    .addStore({ name: EXPERIMENT_USER_FIGURES_STORE, codec: userCountsCodec }, ['experiment-figures'])
    .addStore({ name: OUTCOME_IDS_STORE, codec: dedupCodec, cacheEntries: DEDUP_STORE_CACHE_ENTRIES }, [
      'experiment-figures',
    ])
    .addSink(
      EXPERIMENTS_SINK,
      EXPERIMENTS_TOPIC,
      avroSerializer(await serde.encoder('rec.experiments-value')),
      ['experiment-figures'],
    )
    .addSink(
      MODEL_VERSIONS_SINK,
      MODEL_VERSIONS_TOPIC,
      avroSerializer(await serde.encoder('rec.model-versions-value')),
      ['experiment-figures'],
    )
    .build();
}
