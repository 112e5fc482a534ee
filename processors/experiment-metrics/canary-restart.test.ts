/**
 * A canary decision survives its task being made again. The controller's
 * decision reaches the `rec.experiments` table only once the log hands it
 * back, and on Kafka a rebalance can make the task again before then: the
 * new task must not decide a second time (each decision is an event the
 * registry acts on), so the decision is kept in the task's store, not in
 * the processor's memory.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TopologyTestDriver } from '../../runtime/processor/test-driver.js';
import type { Experiment } from '../../schemas/generated/types.js';
import { MIN, RANKER_AB, T0 } from '../../test/experiments.js';
import { experimentFiguresTopology, outcomeBytes } from './experiment-figures.fixture.js';

const CANARY: Experiment = {
  ...RANKER_AB,
  guardrails: [{ metric: 'ctr', tolerance: 0 }],
  canary: {
    candidate: 'candidate',
    steps: [0.5, 1],
    step: 0,
    step_started_ts: T0,
    min_impressions: 200,
    min_users: 0,
    min_step_ms: 1_000 * MIN,
  },
  updated_ts: T0,
};

test('a task made again before the table shows its rollback does not roll the canary back twice', async () => {
  const driver = await TopologyTestDriver.create(experimentFiguresTopology);
  await driver.pipe('rec.experiments', CANARY.id, Buffer.from(JSON.stringify(CANARY)), T0);
  let ts = T0;
  // Control users click one in ten, the candidate's none: the ctr guardrail breaks within these.
  const traffic = async (users: number) => {
    for (let u = 0; u < users; u++) {
      ts += 10;
      await driver.pipe(
        'rec.experiment-outcomes',
        CANARY.id,
        outcomeBytes(CANARY.id, 'control', `c${ts}`, 1, 10, ts),
        ts,
      );
      await driver.pipe(
        'rec.experiment-outcomes',
        CANARY.id,
        outcomeBytes(CANARY.id, 'candidate', `k${ts}`, 0, 10, ts),
        ts,
      );
    }
  };
  await traffic(200);
  const decided = driver.readOutput('rec.experiments');
  assert.equal(decided.length, 1, 'the controller rolled the canary back once');
  assert.equal((JSON.parse(decided[0]!.value!.toString()) as Experiment).status, 'concluded');
  // The task is made again; the table has not read the decision back (nothing is piped to it).
  await driver.restart();
  await traffic(50);
  assert.deepEqual(driver.readOutput('rec.experiments'), [], 'no second decision');
  await driver.close();
});
