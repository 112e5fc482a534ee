/**
 * The ranker serves only where it beat the smoothed-CTR baseline on the
 * holdout, and every answer says why.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rankerUse } from './ranker-use.js';

test('the ranker serves when its holdout AUC is above the CTR baseline, else not, each time with the reason', () => {
  assert.deepEqual(rankerUse({ ranker_auc: 0.78, ctr_baseline_auc: 0.71 }), {
    serves: true,
    reason: "ranker_auc 0.7800 above the CTR baseline's 0.7100 on the holdout",
  });
  assert.deepEqual(rankerUse({ ranker_auc: 0.7, ctr_baseline_auc: 0.7 }), {
    serves: false,
    reason: "ranker_auc 0.7000 not above the CTR baseline's 0.7000 on the holdout",
  });
  assert.equal(rankerUse({ ranker_auc: 0.7 }).serves, false);
  assert.match(rankerUse({ ranker_auc: 0.7 }).reason, /without a CTR baseline/);
  assert.equal(rankerUse({ recall_at_20: 0.3 }).serves, false);
  assert.match(rankerUse({ recall_at_20: 0.3 }).reason, /no ranker_auc: the holdout had no impressions/);
});
