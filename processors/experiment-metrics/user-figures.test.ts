/**
 * The per-user sums the test's variance reads, kept by `experiment-figures`
 * for the whole experiment and for the canary step in effect: a user
 * counts once per span, a late outcome of an earlier step counts in the
 * whole figures only, and the same user's first outcome of the current
 * step then counts them in the step's.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TopologyTestDriver } from '../../runtime/processor/test-driver.js';
import { TopologyBuilder } from '../../runtime/processor/topology.js';
import { DEDUP_STORE_CACHE_ENTRIES, dedupCodec } from '../../runtime/state/dedup-window.js';
import type { Experiment, ExperimentOutcome, ModelVersion } from '../../schemas/generated/types.js';
import { MIN, RANKER_AB, T0 } from '../../test/experiments.js';
import {
  ExperimentFigures,
  experimentFiguresCodec,
  OUTCOME_IDS_STORE,
  userCountsCodec,
} from './experiment-figures.js';
import { EXPERIMENT_USER_FIGURES_STORE } from './figures.js';
import { EXPERIMENT_FIGURES_STORE, type ExperimentFiguresValue } from './report.js';
import {
  EXPERIMENT_VERSIONS,
  MODEL_VERSIONS_TABLE,
  reduceExperiments,
  reduceModelVersions,
} from './tables.js';

const json = <T>() => ({ deserialize: (b: Buffer) => JSON.parse(b.toString()) as T });
const serialize = { serialize: (v: unknown) => Buffer.from(JSON.stringify(v)) };

const topology = new TopologyBuilder('user-figures-test')
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

/** A canary that never decides on its own here: steps grow only by the events the test pipes. */
function canaryAt(step: number, ts: number): Experiment {
  return {
    ...RANKER_AB,
    canary: {
      candidate: 'candidate',
      steps: [0.5, 1],
      step,
      step_started_ts: ts,
      min_impressions: 1_000_000,
      min_step_ms: 1_000 * MIN,
    },
    updated_ts: ts,
  };
}

let request = 0;
function outcome(user: string, clicks: number, impressions: number, ts: number): Buffer {
  const id = `r${++request}`;
  const value: ExperimentOutcome = {
    experiment_id: RANKER_AB.id,
    variant: 'candidate',
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
    overlap: null,
    took_ms: null,
  };
  return Buffer.from(JSON.stringify(value));
}

test('a user counts once per span; a late outcome of an earlier step counts in the whole figures only', async () => {
  const driver = await TopologyTestDriver.create(topology);
  const send = (user: string, clicks: number, impressions: number, ts: number) =>
    driver.pipe('rec.experiment-outcomes', RANKER_AB.id, outcome(user, clicks, impressions, ts), ts);
  await driver.pipe('rec.experiments', RANKER_AB.id, Buffer.from(JSON.stringify(canaryAt(0, T0))), T0);
  await send('u1', 3, 10, T0 + 1);
  await driver.pipe(
    'rec.experiments',
    RANKER_AB.id,
    Buffer.from(JSON.stringify(canaryAt(1, T0 + 10))),
    T0 + 10,
  );
  await send('u1', 1, 5, T0 + 11);
  // u2's first outcome is a late one of step 0, then one of step 1.
  await send('u2', 2, 6, T0 + 5);
  await send('u2', 0, 6, T0 + 12);
  await send('u2', 1, 6, T0 + 13);
  const value = (await driver.store<ExperimentFiguresValue>(EXPERIMENT_FIGURES_STORE).get(RANKER_AB.id))!;
  const { total, step } = value.variants.candidate!;
  assert.equal(value.step, 1);
  // Whole experiment: u1 (4 clicks of 15), u2 (3 of 18).
  assert.deepEqual(
    [total.users, total.user_clicks_sq, total.user_impressions_sq, total.user_clicks_impressions],
    [2, 16 + 9, 225 + 324, 60 + 54],
  );
  // Step 1: u1 (1 of 5), u2 (1 of 12).
  assert.deepEqual(
    [step.users, step.user_clicks_sq, step.user_impressions_sq, step.user_clicks_impressions],
    [2, 1 + 1, 25 + 144, 5 + 12],
  );
  assert.deepEqual([step.clicks, step.impressions], [2, 17]);
  await driver.close();
});
