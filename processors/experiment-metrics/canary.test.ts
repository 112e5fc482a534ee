/**
 * The canary controller's decisions on figures that breach or hold each
 * guardrail, and the states it writes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Experiment } from '../../schemas/generated/types.js';
import {
  checkGuardrail,
  controlVariant,
  decideCanary,
  effectiveUsers,
  nextExperimentState,
} from './canary.js';
import { addUserCounts, emptyFigures, latencyBucket, type VariantFigures } from './figures.js';

const T0 = Date.UTC(2026, 0, 5, 12);

function canary(overrides: Partial<Experiment> = {}): Experiment {
  return {
    id: 'ranker-v7-canary',
    description: '',
    status: 'running',
    salt: 's',
    traffic_start: 0,
    traffic_end: 1,
    variants: [
      { name: 'candidate', model: 'two-tower@7', share: 0.05, shadow: false, ordering: null },
      { name: 'control', model: 'promoted', share: 0.95, shadow: false, ordering: null },
      { name: 'shadow', model: 'two-tower@8', share: 0, shadow: true, ordering: null },
    ],
    primary_metric: 'ctr',
    guardrails: [
      { metric: 'ctr', tolerance: 0 },
      { metric: 'fallback_rate', tolerance: 0.5 },
      { metric: 'latency_p99_ms', tolerance: 0.2 },
    ],
    canary: {
      candidate: 'candidate',
      steps: [0.05, 0.25, 0.5, 1],
      step: 0,
      step_started_ts: T0,
      min_impressions: 200,
      min_users: 0,
      min_step_ms: 60_000,
    },
    reason: null,
    created_ts: T0,
    updated_ts: T0,
    ...overrides,
  };
}

/** The figures with `rate` of their requests failed by the variant's model. */
function withErrors(f: VariantFigures, rate: number): VariantFigures {
  f.errors = Math.round(rate * f.requests);
  return f;
}

/** Figures whose users saw `impressions[u]` impressions each, clicked at `ctr`. */
function usersFigures(impressions: readonly number[], ctr: number): VariantFigures {
  const f = emptyFigures();
  for (const n of impressions) {
    const clicks = Math.round(ctr * n);
    f.requests += n / 10;
    f.impressions += n;
    f.clicks += clicks;
    f.latency[latencyBucket(20)]! += n / 10;
    addUserCounts(f, undefined, clicks, n);
  }
  return f;
}

/** Figures of `requests` lists of 10 items with `ctr`, `fallbackRate` and every list taking `tookMs`. */
function figures(requests: number, ctr: number, fallbackRate = 0, tookMs = 20): VariantFigures {
  const f = emptyFigures();
  f.requests = requests;
  f.impressions = 10 * requests;
  f.clicks = Math.round(ctr * f.impressions);
  f.fallbacks = Math.round(fallbackRate * requests);
  f.latency[latencyBucket(tookMs)] = requests;
  return f;
}

test('the control is the variant serving promoted, else the first served one', () => {
  assert.equal(controlVariant(canary())?.name, 'control');
  const ab = canary({
    variants: [
      { name: 'a', model: 'two-tower@3', share: 0.5, shadow: false, ordering: null },
      { name: 'b', model: 'two-tower@4', share: 0.5, shadow: false, ordering: null },
    ],
  });
  assert.equal(controlVariant(ab)?.name, 'a');
});

test('guardrails hold for a candidate as good as the control and breach for a clearly worse one', () => {
  const control = figures(2000, 0.06, 0.01, 20);
  const same = figures(2000, 0.061, 0.01, 20);
  for (const g of canary().guardrails)
    assert.equal(checkGuardrail(g, control, same).breached, false, g.metric);
  const ctr = checkGuardrail({ metric: 'ctr', tolerance: 0 }, control, figures(2000, 0.03));
  assert.equal(ctr.breached, true);
  assert.match(ctr.detail, /^ctr: candidate 3\.00 % vs control 6\.00 %, below control/);
  // Within a 60 % tolerance, half the control's click-through is no breach.
  assert.equal(
    checkGuardrail({ metric: 'ctr', tolerance: 0.6 }, control, figures(2000, 0.03)).breached,
    false,
  );
  assert.equal(
    checkGuardrail({ metric: 'fallback_rate', tolerance: 0.5 }, control, figures(2000, 0.06, 0.2)).breached,
    true,
  );
  const slow = checkGuardrail(
    { metric: 'latency_p99_ms', tolerance: 0.2 },
    control,
    figures(2000, 0.06, 0.01, 80),
  );
  assert.equal(slow.breached, true, slow.detail);
  const errors = checkGuardrail({ metric: 'error_rate', tolerance: 0.1 }, control, same);
  assert.equal(errors.breached, false, errors.detail);
});

test('error_rate breaches for a candidate whose model fails a fifth of its requests, and holds for one failing as often as the control', () => {
  const control = withErrors(figures(2000, 0.06, 0.01), 0.002);
  const failing = withErrors(figures(400, 0.06, 0.2), 0.2);
  const errors = checkGuardrail({ metric: 'error_rate', tolerance: 0.1 }, control, failing);
  assert.equal(errors.breached, true, errors.detail);
  assert.match(
    errors.detail,
    /^error_rate: candidate 20\.00 % vs control 0\.20 %, above control beyond tolerance 0\.1/,
  );
  const steady = withErrors(figures(2000, 0.06, 0.01), 0.002);
  assert.equal(checkGuardrail({ metric: 'error_rate', tolerance: 0.1 }, control, steady).breached, false);
  const step = { control, candidate: failing };
  const decision = decideCanary(
    canary({ guardrails: [{ metric: 'error_rate', tolerance: 0.1 }] }),
    step,
    T0 + 1000,
  );
  assert.equal(decision.action, 'rollback');
  assert.match(
    decision.reason,
    /^canary rolled back at step 1 of 4 \(5\.00 %\): guardrail error_rate: candidate 20\.00 %/,
  );
});

test('a step grows once it lasted min_step_ms with min_impressions per variant, and holds before', () => {
  const step = { control: figures(400, 0.06), candidate: figures(30, 0.06) };
  assert.equal(decideCanary(canary(), step, T0 + 30_000).action, 'hold');
  const grow = decideCanary(canary(), step, T0 + 60_000);
  assert.deepEqual(grow, {
    action: 'grow',
    step: 1,
    reason: 'canary step 2 of 4: candidate at 25.00 %; guardrails held: ctr, fallback_rate, latency_p99_ms',
  });
  const thin = { control: figures(400, 0.06), candidate: figures(10, 0.06) };
  assert.match(
    decideCanary(canary(), thin, T0 + 60_000).reason,
    /needs 200 impressions and 0 effective users per variant/,
  );
  const next = nextExperimentState(canary(), grow, T0 + 60_000);
  assert.deepEqual(
    next.variants.map((v) => [v.name, v.share]),
    [
      ['candidate', 0.25],
      ['control', 0.75],
      ['shadow', 0],
    ],
  );
  assert.deepEqual(
    [next.canary?.step, next.canary?.step_started_ts, next.updated_ts],
    [1, T0 + 60_000, T0 + 60_000],
  );
  assert.equal(next.status, 'running');
});

test('a guardrail breached with significance rolls back at once, even before min_step_ms', () => {
  const step = { control: figures(2000, 0.06), candidate: figures(400, 0.02) };
  const decision = decideCanary(canary(), step, T0 + 1000);
  assert.equal(decision.action, 'rollback');
  assert.match(
    decision.reason,
    /^canary rolled back at step 1 of 4 \(5\.00 %\): guardrail ctr: candidate 2\.00 % vs control 6\.00 %/,
  );
  const concluded = nextExperimentState(canary(), decision, T0 + 1000);
  assert.deepEqual(
    [concluded.status, concluded.reason, concluded.updated_ts],
    ['concluded', decision.reason, T0 + 1000],
  );
});

test('passing the step before the last (share 1) promotes the candidate; a stopped or plain experiment is never touched', () => {
  const plan = canary().canary!;
  const last = canary({ canary: { ...plan, step: 2 } });
  const step = { control: figures(400, 0.06), candidate: figures(400, 0.06) };
  const decision = decideCanary(last, step, T0 + 60_000);
  assert.equal(decision.action, 'promote');
  assert.match(decision.reason, /^canary promoted candidate after step 3 of 4 \(50\.00 %\)/);
  assert.equal(nextExperimentState(last, decision, T0 + 60_000).status, 'concluded');
  assert.equal(decideCanary(canary({ status: 'stopped' }), step, T0 + 60_000).action, 'hold');
  assert.equal(decideCanary(canary({ canary: null }), step, T0 + 60_000).action, 'hold');
});

test('effective users: as many as the users when they weigh alike, close to one when one user makes the impressions', () => {
  assert.equal(effectiveUsers(usersFigures(Array(100).fill(10), 0.05)), 100);
  const heavy = effectiveUsers(usersFigures([910, ...Array(99).fill(1)], 0.05));
  assert.ok(heavy > 1 && heavy < 1.3, String(heavy));
  assert.equal(effectiveUsers(figures(400, 0.06)), 0, 'no per-user sums, no users');
});

test('neither a rollback nor a growth is decided before both arms hold min_users effective users', () => {
  const plan = { ...canary().canary!, min_users: 30 };
  const experiment = canary({ canary: plan });
  // A candidate clicked at a third of the control's, but by 5 users (and one of them most of its impressions).
  const few = {
    control: usersFigures(Array(200).fill(20), 0.06),
    candidate: usersFigures([400, 40, 40, 40, 40], 0.02),
  };
  const held = decideCanary(experiment, few, T0 + 1000);
  assert.equal(held.action, 'hold');
  assert.match(
    held.reason,
    /^step 1 needs 200 impressions and 30 effective users per variant: candidate 560 impressions, 1\.9 effective users, control 4000 impressions, 200\.0 effective users$/,
  );
  const many = { control: few.control, candidate: usersFigures(Array(40).fill(20), 0.02) };
  assert.equal(decideCanary(experiment, many, T0 + 1000).action, 'rollback');
  // As good as the control: grows once both arms have them, not before.
  const thinControl = {
    control: usersFigures(Array(20).fill(20), 0.06),
    candidate: usersFigures(Array(40).fill(20), 0.06),
  };
  assert.equal(decideCanary(experiment, thinControl, T0 + 60_000).action, 'hold');
  const enough = {
    control: usersFigures(Array(200).fill(20), 0.06),
    candidate: usersFigures(Array(40).fill(20), 0.06),
  };
  assert.equal(decideCanary(experiment, enough, T0 + 60_000).action, 'grow');
});

test('a guardrail is not decided on fewer than min_impressions per arm either', () => {
  const plan = { ...canary().canary!, min_impressions: 5000 };
  const step = { control: figures(2000, 0.06), candidate: figures(400, 0.02) };
  const decision = decideCanary(canary({ canary: plan }), step, T0 + 1000);
  assert.equal(decision.action, 'hold');
  assert.match(decision.reason, /needs 5000 impressions/);
});
