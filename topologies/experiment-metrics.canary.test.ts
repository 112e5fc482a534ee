/**
 * The canary controller on the embedded log: a canary whose candidate is
 * clicked far less than the control is rolled back by itself before its
 * second step (the experiment concluded, the version rejected), and one
 * as good as the control grows step by step and is promoted; one whose
 * model fails a fifth of its requests (served popularity, `model_error`)
 * is rolled back by its error_rate guardrail. Every step
 * is an event in rec.experiments, and a replay writes none again.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Experiment, ModelVersion } from '../schemas/generated/types.js';
import { experimentTraffic } from '../sim/experiment-traffic.js';
import {
  MIN,
  publishWorld,
  readFigures,
  runExperimentMetrics,
  T0,
  topicValues,
} from '../test/experiments.js';
import { withTestPlatform } from '../test/platform.js';

const CANDIDATE: ModelVersion = {
  model: 'two-tower',
  version: 7,
  snapshot_id: 'snap-7',
  lineage: [],
  created_ts: T0 - 10 * MIN,
  artifacts: [],
  metrics: { recall_at_20: 0.2 },
  status: 'candidate',
  status_ts: T0 - 10 * MIN,
  reason: null,
  parent_version: 6,
  engine: 'pytorch',
  device: 'cpu',
  params: {},
};

function canary(id: string, steps: number[]): Experiment {
  return {
    id,
    description: 'roll out two-tower@7',
    status: 'running',
    salt: id,
    traffic_start: 0,
    traffic_end: 1,
    variants: [
      { name: 'candidate', model: 'two-tower@7', share: steps[0]!, shadow: false, ordering: null },
      { name: 'control', model: 'promoted', share: 1 - steps[0]!, shadow: false, ordering: null },
    ],
    primary_metric: 'ctr',
    guardrails: [
      { metric: 'ctr', tolerance: 0 },
      { metric: 'latency_p99_ms', tolerance: 0.5 },
    ],
    canary: {
      candidate: 'candidate',
      steps,
      step: 0,
      step_started_ts: T0,
      min_impressions: 200,
      min_users: 0,
      min_step_ms: MIN,
    },
    reason: 'started by models promote --canary',
    created_ts: T0,
    updated_ts: T0,
  };
}

async function rollout(
  experiment: Experiment,
  rates: Record<string, number>,
  errorRates?: Record<string, number>,
): Promise<{
  experiments: Experiment[];
  versions: ModelVersion[];
  replayed: number;
  holding: string | null;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-canary-'));
  try {
    return await withTestPlatform(dir, async (platform) => {
      const world = experimentTraffic({
        seed: 5,
        experimentId: experiment.id,
        requests: 3000,
        rates,
        errorRates,
        start: T0 + 1,
        spacingMs: 100,
      });
      await publishWorld(platform, [experiment], world, [CANDIDATE]);
      await runExperimentMetrics(platform, join(dir, 'state'));
      const experiments = await topicValues<Experiment>(platform, 'rec.experiments', 'rec.experiments-value');
      const versions = await topicValues<ModelVersion>(
        platform,
        'rec.model-versions',
        'rec.model-versions-value',
      );
      const { report } = await readFigures(platform, join(dir, 'state'), experiments.at(-1)!);
      await runExperimentMetrics(platform, join(dir, 'replay'));
      const replayed = (await topicValues(platform, 'rec.experiments', 'rec.experiments-value')).length;
      return { experiments, versions, replayed, holding: report?.canary_holding ?? null };
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('a canary clicked far less than the control is rolled back by itself at its first step, and the version rejected', {
  timeout: 120_000,
}, async () => {
  const { experiments, versions, replayed, holding } = await rollout(
    canary('bad-canary', [0.05, 0.25, 0.5, 1]),
    { candidate: 0.01, control: 0.06 },
  );
  assert.equal(holding, null, 'a concluded canary holds nothing');
  assert.deepEqual(
    experiments.map((e) => [e.status, e.canary?.step]),
    [
      ['running', 0],
      ['concluded', 0],
    ],
  );
  const concluded = experiments[1]!;
  assert.ok(concluded.updated_ts < T0 + MIN, 'rolled back before the first step could have grown');
  assert.match(
    concluded.reason!,
    /^canary rolled back at step 1 of 4 \(5\.00 %\): guardrail ctr: candidate /,
  );
  assert.deepEqual(
    versions.map((v) => [v.model, v.version, v.status]),
    [
      ['two-tower', 7, 'candidate'],
      ['two-tower', 7, 'rejected'],
    ],
  );
  assert.equal(versions[1]!.reason, `bad-canary: ${concluded.reason}`);
  assert.equal(versions[1]!.status_ts, concluded.updated_ts);
  assert.equal(replayed, 2, 'a replay decides nothing again');
});

test('a canary as good as the control grows step by step and is promoted', { timeout: 120_000 }, async () => {
  const { experiments, versions, replayed } = await rollout(canary('good-canary', [0.25, 0.5, 1]), {
    candidate: 0.05,
    control: 0.05,
  });
  assert.deepEqual(
    experiments.map((e) => [e.status, e.canary?.step, e.variants.map((v) => v.share)]),
    [
      ['running', 0, [0.25, 0.75]],
      ['running', 1, [0.5, 0.5]],
      ['concluded', 1, [0.5, 0.5]],
    ],
  );
  const [, grown, promoted] = experiments;
  assert.ok(grown!.updated_ts >= T0 + MIN && grown!.canary!.step_started_ts === grown!.updated_ts);
  assert.ok(promoted!.updated_ts >= grown!.updated_ts + MIN);
  assert.match(
    promoted!.reason!,
    /^canary promoted candidate after step 2 of 3 \(50\.00 %\); guardrails held: ctr, latency_p99_ms$/,
  );
  assert.deepEqual(
    versions.map((v) => [v.version, v.status]),
    [
      [7, 'candidate'],
      [7, 'promoted'],
    ],
  );
  assert.equal(replayed, 3);
});

test('a canary whose traffic cannot give its minimum sample holds, and its figures say why', {
  timeout: 120_000,
}, async () => {
  const thin = canary('thin-canary', [0.25, 0.5, 1]);
  const { experiments, versions, holding } = await rollout(
    { ...thin, canary: { ...thin.canary!, min_users: 1_000_000 } },
    { candidate: 0.01, control: 0.06 },
  );
  assert.deepEqual(
    experiments.map((e) => [e.status, e.canary?.step]),
    [['running', 0]],
  );
  assert.deepEqual(
    versions.map((v) => v.status),
    ['candidate'],
  );
  assert.match(
    holding ?? '',
    /^step 1 needs 200 impressions and 1000000 effective users per variant: candidate \d+ impressions, [\d.]+ effective users, control \d+ impressions, [\d.]+ effective users$/,
  );
});

test('a canary whose model fails a fifth of its requests is rolled back by its error_rate guardrail', {
  timeout: 120_000,
}, async () => {
  const experiment = canary('failing-canary', [0.25, 0.5, 1]);
  experiment.guardrails = [...experiment.guardrails, { metric: 'error_rate', tolerance: 0.1 }];
  const rates = { candidate: 0.05, control: 0.05 };
  const { experiments, versions } = await rollout(experiment, rates, { candidate: 0.2 });
  assert.deepEqual(
    experiments.map((e) => [e.status, e.canary?.step]),
    [
      ['running', 0],
      ['concluded', 0],
    ],
  );
  assert.match(
    experiments[1]!.reason!,
    /^canary rolled back at step 1 of 3 \(25\.00 %\): guardrail error_rate: candidate 2\d\.\d\d % vs control 0\.00 %, above control beyond tolerance 0\.1 with significance/,
  );
  assert.deepEqual(
    versions.map((v) => [v.version, v.status]),
    [
      [7, 'candidate'],
      [7, 'rejected'],
    ],
  );
});
