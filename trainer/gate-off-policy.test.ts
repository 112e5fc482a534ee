import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ModelRegistry } from '../registry/model-registry.js';
import { GATE_PENDING_PARAM, OFF_POLICY_STEP, pendingGateStep } from '../registry/pending-gate-step.js';
import type { ModelVersion } from '../schemas/generated/types.js';
import { awaitingOffPolicy, settledOffPolicy, takesOffPolicyStep } from './gate-off-policy.js';

function version(
  n: number,
  status: ModelVersion['status'],
  params: Record<string, string> = {},
): ModelVersion {
  return {
    model: 'recstream',
    version: n,
    snapshot_id: `set-${n}`,
    lineage: [],
    created_ts: n,
    parent_version: null,
    artifacts: [],
    metrics: { recall_at_20: 0.2 },
    status,
    status_ts: 1000 + n,
    reason: 'recall_at_20 0.2000 vs popularity 0.1000',
    engine: 'recstream_models',
    device: 'cpu',
    params: { examples: '100', ...params },
  };
}

test('the step is taken only when configured and another version is promoted', () => {
  const promoted = version(1, 'promoted');
  assert.equal(takesOffPolicyStep({ gateOffPolicy: 'true' }, promoted), true);
  assert.equal(
    takesOffPolicyStep({ gateOffPolicy: 'true' }, undefined),
    false,
    'the first version: nothing to compare',
  );
  assert.equal(takesOffPolicyStep({ gateOffPolicy: 'false' }, promoted), false);
});

test('a candidate awaiting the step is found in the registry, oldest first, and no longer once settled', () => {
  const registry = new ModelRegistry();
  const awaiting = awaitingOffPolicy('recall_at_20 0.2000 vs popularity 0.1000', { examples: '100' });
  assert.equal(awaiting.reason, 'recall_at_20 0.2000 vs popularity 0.1000; awaiting the off-policy step');
  assert.equal(awaiting.params[GATE_PENDING_PARAM], OFF_POLICY_STEP);
  registry.apply(version(1, 'promoted'));
  registry.apply(version(2, 'candidate', awaiting.params));
  registry.apply(version(3, 'candidate', awaiting.params));
  registry.apply(version(4, 'candidate'));
  assert.equal(pendingGateStep(registry, 'recstream', OFF_POLICY_STEP)?.version, 2);
  registry.apply(
    settledOffPolicy({ gateCanaryPct: 0 }, registry.get('recstream', 2)!, registry.promoted('recstream'), {
      promote: false,
      reason: 'significantly below',
    }),
  );
  assert.equal(pendingGateStep(registry, 'recstream', OFF_POLICY_STEP)?.version, 3);
  assert.equal(pendingGateStep(registry, 'other', OFF_POLICY_STEP), undefined);
});

test('the settled event: the holdout reason then the step, its figures, the mark gone, a canary when configured', () => {
  const promoted = version(1, 'promoted');
  const holdout = 'recall_at_20 0.2000 vs popularity 0.1000';
  const pending = { ...version(2, 'candidate'), ...awaitingOffPolicy(holdout, { examples: '100' }) };
  const figures = { metrics: { off_policy_difference: -0.01 }, params: { off_policy_estimator: 'dr' } };
  const rejected = settledOffPolicy(
    { gateCanaryPct: 0 },
    pending,
    promoted,
    { promote: false, reason: 'below' },
    figures,
  );
  assert.equal(rejected.status, 'rejected');
  assert.equal(rejected.reason, `${holdout}; below`);
  assert.deepEqual(rejected.params, {
    examples: '100',
    off_policy_estimator: 'dr',
    off_policy_compared: '1',
  });
  assert.deepEqual(rejected.metrics, { recall_at_20: 0.2, off_policy_difference: -0.01 });
  assert.ok(rejected.status_ts >= pending.status_ts);
  const promotedNow = settledOffPolicy({ gateCanaryPct: 0 }, pending, promoted, {
    promote: true,
    reason: 'fine',
  });
  assert.equal(promotedNow.status, 'promoted');
  const canary = settledOffPolicy({ gateCanaryPct: 5 }, pending, promoted, { promote: true, reason: 'fine' });
  assert.equal(canary.status, 'candidate');
  assert.equal(canary.reason, `${holdout}; fine; canary at 5 %`);
  assert.equal(canary.params[GATE_PENDING_PARAM], undefined, 'a canary candidate awaits no step');
  const override = settledOffPolicy({ gateCanaryPct: 0 }, pending, promoted, {
    promote: true,
    reason: 'gate_override: no lists',
    override: 'no lists',
  });
  assert.equal(override.params.gate_override, 'no lists');
});
