/**
 * The canary controller's decisions on figures that breach or hold each
 * guardrail, and the states it writes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Experiment } from '../../schemas/generated/types.js';
import { checkGuardrail, controlVariant, decideCanary, nextExperimentState } from './canary.js';
import { emptyFigures, latencyBucket, type VariantFigures } from './figures.js';

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
      min_step_ms: 60_000,
    },
    reason: null,
    created_ts: T0,
    updated_ts: T0,
    ...overrides,
  };
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
  const errors = checkGuardrail({ metric: 'error_rate', tolerance: 0 }, control, same);
  assert.deepEqual([errors.breached, errors.detail], [false, 'error_rate: not measured from served lists']);
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
  assert.match(decideCanary(canary(), thin, T0 + 60_000).reason, /needs 200 impressions per variant/);
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
