import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Estimate } from './estimators.js';
import { offPolicyDecision } from './gate-step.js';
import type { OffPolicyComparison } from './off-policy-comparison.js';

const estimate = (value: number, half: number): Estimate => ({
  value,
  stderr: half / 1.96,
  ci: [value - half, value + half],
});

function compared(difference: number, half: number): OffPolicyComparison {
  return {
    supported: true,
    decisions: 2400,
    estimator: 'dr',
    difference: estimate(difference, half),
    candidate: estimate(0.05 + difference, 0.02),
    baseline: estimate(0.05, 0.02),
    candidateEffectiveSampleSize: 150,
    baselineEffectiveSampleSize: 900,
    candidateLabel: 'recstream@3',
    baselineLabel: 'recstream@2',
    lists: 410,
    evaluatedLists: 400,
  };
}

test('a candidate whose difference is entirely below 0 is rejected, with both estimates and the difference', () => {
  const decision = offPolicyDecision(compared(-0.012, 0.01), false);
  assert.equal(decision.promote, false);
  assert.equal(
    decision.reason,
    "off-policy click-through (DR, 2400 decisions of 400 lists) 0.0380 vs the promoted recstream@2's 0.0500, " +
      'difference -0.0120 [-0.0220, -0.0020]: significantly below',
  );
});

test('a candidate the log cannot tell from the promoted one, or better, passes', () => {
  assert.equal(offPolicyDecision(compared(-0.008, 0.01), false).promote, true);
  assert.equal(offPolicyDecision(compared(0.02, 0.01), false).promote, true);
  assert.equal(offPolicyDecision(compared(-0.008, 0.01), false).override, undefined);
});

test('a comparison that cannot run rejects with the reason, or passes as an override when allowed', () => {
  const unsupported: OffPolicyComparison = {
    supported: false,
    decisions: 1200,
    reason: 'the candidate: 40.0 % of the target policy’s choices are actions the logging policy never takes',
    candidateLabel: 'recstream@3',
    baselineLabel: 'recstream@2',
    lists: 200,
    evaluatedLists: 200,
  };
  const rejected = offPolicyDecision(unsupported, false);
  assert.equal(rejected.promote, false);
  assert.match(
    rejected.reason,
    /^the off-policy step cannot run over 200 replayed lists: the candidate: 40\.0 %.*RECSTREAM_GATE_ALLOW_UNCOMPARED=true promotes without it\)$/,
  );
  const allowed = offPolicyDecision(unsupported, true);
  assert.equal(allowed.promote, true);
  assert.match(allowed.override ?? '', /^the off-policy step cannot run over 200 replayed lists/);
  assert.match(allowed.reason, /^gate_override: /);
});
