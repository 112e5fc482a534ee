/**
 * The `experiment-figures` processor alone, with the global tables and
 * stores it reads, for `TopologyTestDriver` tests: outcomes are piped to
 * `rec.experiment-outcomes`, experiment states to `rec.experiments`.
 *
 * @example
 * ```ts
 * const driver = await TopologyTestDriver.create(experimentFiguresTopology);
 * await driver.pipe('rec.experiment-outcomes', 'ranker-ab', outcomeBytes('ranker-ab', 'control', 'u1', 1, 6, ts), ts);
 * ```
 */
import { TopologyBuilder } from '../../runtime/processor/topology.js';
import { DEDUP_STORE_CACHE_ENTRIES, dedupCodec } from '../../runtime/state/dedup-window.js';
import type { Experiment, ExperimentOutcome, ModelVersion } from '../../schemas/generated/types.js';
import { MIN } from '../../test/experiments.js';
import {
  ExperimentFigures,
  experimentFiguresCodec,
  OUTCOME_IDS_STORE,
  userCountsCodec,
} from './experiment-figures.js';
import { EXPERIMENT_USER_FIGURES_STORE } from './figures.js';
import { EXPERIMENT_FIGURES_STORE } from './report.js';
import {
  EXPERIMENT_VERSIONS,
  MODEL_VERSIONS_TABLE,
  reduceExperiments,
  reduceModelVersions,
} from './tables.js';

const json = <T>() => ({ deserialize: (b: Buffer) => JSON.parse(b.toString()) as T });
const serialize = { serialize: (v: unknown) => Buffer.from(JSON.stringify(v)) };

export const experimentFiguresTopology = new TopologyBuilder('experiment-figures-test')
  .addGlobalTable({
    name: EXPERIMENT_VERSIONS,
    topic: 'rec.experiments',
    deserializer: json<Experiment>(),
    reduce: reduceExperiments,
  })
  .addGlobalTable({
    name: MODEL_VERSIONS_TABLE,
    topic: 'rec.model-versions',
    deserializer: json<ModelVersion>(),
    reduce: reduceModelVersions,
  })
  .addSource('outcomes', ['rec.experiment-outcomes'], json<ExperimentOutcome>())
  .addProcessor('experiment-figures', () => new ExperimentFigures({ dedupHorizonMs: 60 * MIN }), ['outcomes'])
  .addStore({ name: EXPERIMENT_FIGURES_STORE, codec: experimentFiguresCodec }, ['experiment-figures'])
  .addStore({ name: EXPERIMENT_USER_FIGURES_STORE, codec: userCountsCodec }, ['experiment-figures'])
  .addStore({ name: OUTCOME_IDS_STORE, codec: dedupCodec, cacheEntries: DEDUP_STORE_CACHE_ENTRIES }, [
    'experiment-figures',
  ])
  .addSink('experiments', 'rec.experiments', serialize, ['experiment-figures'])
  .addSink('model-versions', 'rec.model-versions', serialize, ['experiment-figures'])
  .build();

let request = 0;

/** One list's outcome for `variant` of experiment `experimentId`, as the topic holds it (JSON here). */
export function outcomeBytes(
  experimentId: string,
  variant: string,
  user: string,
  clicks: number,
  impressions: number,
  ts: number,
): Buffer {
  const id = `r${++request}`;
  const value: ExperimentOutcome = {
    experiment_id: experimentId,
    variant,
    shadow: false,
    outcome_id: `list/${id}`,
    request_id: id,
    user_id: user,
    ts,
    requests: 1,
    impressions,
    clicks,
    engaged_ms: 0,
    fallbacks: 0,
    errors: 0,
    overlap: null,
    took_ms: null,
  };
  return Buffer.from(JSON.stringify(value));
}
