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
import type { Experiment } from '../../schemas/generated/types.js';
import { MIN, RANKER_AB, T0 } from '../../test/experiments.js';
import { experimentFiguresTopology, outcomeBytes } from './experiment-figures.fixture.js';
import { EXPERIMENT_FIGURES_STORE, type ExperimentFiguresValue } from './report.js';

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
      min_users: 0,
      min_step_ms: 1_000 * MIN,
    },
    updated_ts: ts,
  };
}

function outcome(user: string, clicks: number, impressions: number, ts: number): Buffer {
  return outcomeBytes(RANKER_AB.id, 'candidate', user, clicks, impressions, ts);
}

test('a user counts once per span; a late outcome of an earlier step counts in the whole figures only', async () => {
  const driver = await TopologyTestDriver.create(experimentFiguresTopology);
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
