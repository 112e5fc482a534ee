import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Experiment, ModelVersion } from '../../schemas/generated/types.js';
import { ModelRegistry } from '../model-registry.js';
import { ExperimentConflictError, ExperimentInvalidError } from './errors.js';
import { checkExperiment, experimentFromJson } from './validate-experiment.js';

const NOW = 1_764_000_000_000;

function version(v: number, status: ModelVersion['status']): ModelVersion {
  return {
    model: 'recstream',
    version: v,
    snapshot_id: `s${v}`,
    lineage: [],
    created_ts: v,
    artifacts: [],
    metrics: {},
    status,
    status_ts: v,
    reason: null,
    parent_version: null,
    engine: 'test',
    device: 'cpu',
    params: {},
  };
}

function models(): ModelRegistry {
  const registry = new ModelRegistry();
  registry.apply(version(1, 'promoted'));
  registry.apply(version(2, 'candidate'));
  registry.apply(version(3, 'rejected'));
  return registry;
}

/** A good A/B file; each case below breaks one thing. */
function good(): Record<string, unknown> {
  return {
    id: 'ranker-ab',
    description: 'candidate against the promoted model',
    salt: '7c1f',
    variants: [
      { name: 'control', model: 'promoted', share: 0.5 },
      { name: 'candidate', model: 'recstream@2', share: 0.5 },
    ],
  };
}

function refusal(fn: () => unknown): ExperimentInvalidError | ExperimentConflictError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ExperimentInvalidError || error instanceof ExperimentConflictError) return error;
    throw error;
  }
  assert.fail('the experiment was accepted');
}

const fromJson = (json: unknown) => experimentFromJson(json, NOW);
const check = (json: unknown, running: Experiment[] = []) =>
  checkExperiment(fromJson(json), { running, models: models() });

test('a good file passes, filled in with the defaults and running from now', () => {
  const experiment = fromJson(good());
  check(good());
  assert.equal(experiment.status, 'running');
  assert.equal(experiment.traffic_start, 0);
  assert.equal(experiment.traffic_end, 1);
  assert.equal(experiment.primary_metric, 'ctr');
  assert.deepEqual(experiment.guardrails, []);
  assert.equal(experiment.canary, null);
  assert.equal(experiment.created_ts, NOW);
  assert.deepEqual(experiment.variants[1], {
    name: 'candidate',
    model: 'recstream@2',
    share: 0.5,
    shadow: false,
    ordering: null,
  });
});

test('every shape refusal names its field', () => {
  const cases: [string, (json: Record<string, unknown>) => void][] = [
    ['variants', (j) => ((j.variants as { share: number }[])[1]!.share = 0.4)],
    ['variants', (j) => (j.variants = [])],
    ['variants[0].share', (j) => ((j.variants as { share: number }[])[0]!.share = 1.5)],
    ['variants[1].model', (j) => ((j.variants as { model: string }[])[1]!.model = 'recstream-2')],
    ['variants[1].name', (j) => ((j.variants as { name: string }[])[1]!.name = 'control')],
    ['variants[0].colour', (j) => ((j.variants as Record<string, unknown>[])[0]!.colour = 'red')],
    ['owner', (j) => (j.owner = 'me')],
    ['id', (j) => (j.id = 'has spaces')],
    ['salt', (j) => delete j.salt],
    ['traffic_end', (j) => Object.assign(j, { traffic_start: 0.5, traffic_end: 0.5 })],
    ['primary_metric', (j) => (j.primary_metric = 'revenue')],
    ['guardrails[0].metric', (j) => (j.guardrails = [{ metric: 'mood' }])],
    ['reason', (j) => (j.reason = 42)],
  ];
  for (const [field, breakIt] of cases) {
    const json = good();
    breakIt(json);
    const error = refusal(() => fromJson(json));
    assert.ok(error instanceof ExperimentInvalidError, field);
    assert.equal(error.field, field, error.message);
    assert.ok(error.message.startsWith(`${field}: `), error.message);
  }
});

test('an exploration ε outside [0, 1) or a fresh weight below 1 is refused naming the ordering field', () => {
  const withOrdering = (ordering: Record<string, unknown>) => {
    const json = good();
    (json.variants as Record<string, unknown>[])[1]!.ordering = ordering;
    return json;
  };
  for (const epsilon of [1, 1.5, -0.1, '0.1']) {
    const error = refusal(() => fromJson(withOrdering({ exploration_epsilon: epsilon })));
    assert.equal(error.field, 'variants[1].ordering.exploration_epsilon', String(epsilon));
  }
  const weight = refusal(() => fromJson(withOrdering({ exploration_fresh_weight: 0.5 })));
  assert.equal(weight.field, 'variants[1].ordering.exploration_fresh_weight');
  const accepted = fromJson(withOrdering({ exploration_epsilon: 0.1 })).variants[1]!.ordering;
  assert.deepEqual(accepted, {
    freshness_boost: null,
    freshness_window_ms: null,
    promotions: null,
    max_category_share: null,
    exploration_epsilon: 0.1,
    exploration_fresh_weight: null,
    exploration_policy: null,
    exploration_temperature: null,
    exploration_pool_size: null,
  });
  assert.equal(
    fromJson(withOrdering({ exploration_epsilon: 0 })).variants[1]!.ordering!.exploration_epsilon,
    0,
  );
});

test('a Plackett–Luce ordering is read, and an unknown policy, a negative temperature or a pool below 1 is refused', () => {
  const withOrdering = (ordering: Record<string, unknown>) => {
    const json = good();
    (json.variants as Record<string, unknown>[])[1]!.ordering = ordering;
    return json;
  };
  const accepted = fromJson(
    withOrdering({
      exploration_policy: 'plackett_luce',
      exploration_temperature: 0.5,
      exploration_pool_size: 20,
    }),
  ).variants[1]!.ordering!;
  assert.deepEqual(
    [accepted.exploration_policy, accepted.exploration_temperature, accepted.exploration_pool_size],
    ['plackett_luce', 0.5, 20],
  );
  const refused: [Record<string, unknown>, string][] = [
    [{ exploration_policy: 'softmax' }, 'exploration_policy'],
    [{ exploration_temperature: -1 }, 'exploration_temperature'],
    [{ exploration_pool_size: 0 }, 'exploration_pool_size'],
    [{ exploration_pool_size: 2.5 }, 'exploration_pool_size'],
  ];
  for (const [ordering, field] of refused)
    assert.equal(refusal(() => fromJson(withOrdering(ordering))).field, `variants[1].ordering.${field}`);
});

test('bad canary plans are refused naming the canary field', () => {
  const canary = (plan: Record<string, unknown>, share = 0.05) => ({
    ...good(),
    variants: [
      { name: 'candidate', model: 'recstream@2', share },
      { name: 'control', model: 'promoted', share: 1 - share },
    ],
    canary: { candidate: 'candidate', steps: [0.05, 0.25, 1], ...plan },
  });
  assert.equal(fromJson(canary({})).canary?.step_started_ts, NOW);
  const cases: [string, Record<string, unknown>, number?][] = [
    ['canary.steps', { steps: [0.05, 0.5] }],
    ['canary.steps[1]', { steps: [0.25, 0.05, 1] }],
    ['canary.steps', { steps: [] }],
    ['canary.step', { step: 3 }],
    ['canary.candidate', { candidate: 'nobody' }],
    ['canary.candidate', { candidate: 'control' }],
    ['variants[0].share', {}, 0.1],
    ['canary.min_impressions', { min_impressions: -1 }],
    ['canary.speed', { speed: 2 }],
  ];
  for (const [field, plan, share] of cases) {
    const error = refusal(() => fromJson(canary(plan, share)));
    assert.equal(error.field, field, error.message);
  }
});

test('model versions the registry does not know or refused are refused naming the variant', () => {
  for (const model of ['recstream@9', 'recstream@3', 'other@1']) {
    const json = good();
    (json.variants as { model: string }[])[1]!.model = model;
    const error = refusal(() => check(json));
    assert.ok(error instanceof ExperimentInvalidError);
    assert.equal(error.field, 'variants[1].model', error.message);
  }
});

test('a running experiment over the same users is a conflict on traffic_start; disjoint slices run side by side', () => {
  const other = fromJson({ ...good(), id: 'other', traffic_start: 0.4, traffic_end: 0.6 });
  const overlapping = { ...good(), traffic_start: 0.5, traffic_end: 1 };
  const error = refusal(() => check(overlapping, [other]));
  assert.ok(error instanceof ExperimentConflictError);
  assert.equal(error.field, 'traffic_start');
  assert.match(error.reason, /other/);
  check({ ...good(), traffic_start: 0.6, traffic_end: 1 }, [other]);
  check({ ...good(), traffic_start: 0, traffic_end: 0.4 }, [other]);
  // The same id restarted is not its own conflict.
  check({ ...good(), id: 'other' }, [other]);
});
