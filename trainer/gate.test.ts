import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VocabularyBuilder } from '../features/vocabulary.js';
import { comparedVersion, gate } from './gate.js';

test('the gate promotes only a model not worse than popularity and the promoted one, with finite metrics', () => {
  const margins = { popularityMargin: 0, previousMargin: 0.02 };
  assert.equal(gate({ recall_at_20: 0.3, popularity_recall_at_20: 0.1 }, margins).promote, true);
  assert.match(
    gate({ recall_at_20: 0.09, popularity_recall_at_20: 0.1 }, margins).reason,
    /below the popularity baseline/,
  );
  assert.equal(
    gate({ recall_at_20: 0.295, popularity_recall_at_20: 0.1, previous_recall_at_20: 0.3 }, margins).promote,
    true,
    'within the margin',
  );
  assert.match(
    gate({ recall_at_20: 0.25, previous_recall_at_20: 0.3 }, margins).reason,
    /below the promoted model/,
  );
  const later = {
    recall_at_20: 0.3,
    popularity_recall_at_20: 0.1,
    compared_recall_at_20: 0.2,
    previous_recall_at_20: 0.25,
  };
  assert.match(
    gate(later, margins).reason,
    /0\.2000 is below the promoted model's 0\.2500 on the holdout events it never trained on/,
  );
  assert.match(
    gate({ ...later, compared_recall_at_20: 0.26 }, margins).reason,
    /promoted 0\.2500 \(this model 0\.2600 on the same events\)/,
  );
  const sameData = gate(
    { recall_at_20: 0.26, popularity_recall_at_20: 0.1, previous_holdout_examples: 0 },
    margins,
  );
  assert.equal(sameData.promote, true);
  assert.match(sameData.reason, /the promoted model not compared: it trained on every holdout event/);
  assert.equal(comparedVersion(3, { previous_recall_at_20: 0.25, previous_holdout_examples: 812 }), '3');
  assert.equal(comparedVersion(3, { recall_at_20: 0.26, previous_holdout_examples: 0 }), 'none');
  assert.equal(comparedVersion(undefined, { recall_at_20: 0.26 }), 'none');
  assert.match(gate({ recall_at_20: Number.NaN }, margins).reason, /not finite numbers: recall_at_20/);
  assert.match(
    gate({ recall_at_20: 0.3, ranker_auc: 0.5, ctr_baseline_auc: 0.6 }, margins).reason,
    /ranker_auc/,
  );
  assert.match(gate({}, margins).reason, /no recall_at_20/);
});

test('a shortfall against the promoted model within the paired noise does not reject a retrain', () => {
  const margins = { popularityMargin: 0, previousMargin: 0.02 };
  const retrain = {
    recall_at_20: 0.39,
    popularity_recall_at_20: 0.2,
    compared_recall_at_20: 0.39,
    previous_recall_at_20: 0.41,
  };
  const noisy = gate({ ...retrain, compared_recall_at_20_se: 0.015 }, margins);
  assert.equal(noisy.promote, true, noisy.reason);
  assert.match(
    noisy.reason,
    /promoted 0\.4100 \(this model 0\.3900 on the same events, below it within the noise ±0\.0294\)/,
  );
  const sure = gate({ ...retrain, compared_recall_at_20_se: 0.005 }, margins);
  assert.equal(sure.promote, false);
  assert.match(sure.reason, /below the promoted model's 0\.4100 .*margin 0\.02, noise ±0\.0098/);
  assert.equal(gate(retrain, margins).promote, false, 'without a standard error the margin alone decides');
});

test('a comparison that cannot run refuses the promotion and names what is missing, unless overridden', () => {
  const margins = { popularityMargin: 0, previousMargin: 0.02 };
  const good = { recall_at_20: 0.3, popularity_recall_at_20: 0.1, ranker_auc: 0.7, ctr_baseline_auc: 0.6 };
  const unverified =
    'artifact model.npz at /data/artifacts/models/recstream/v3/model.npz has sha256 ab, expected cd';
  const refused = gate(good, margins, { promotedVersion: 3, unverified });
  assert.equal(refused.promote, false);
  assert.match(
    refused.reason,
    /comparison cannot run: the promoted model v3 was not compared: artifact model\.npz/,
  );
  assert.match(refused.reason, /RECSTREAM_GATE_ALLOW_UNCOMPARED=true/);
  assert.equal(refused.override, undefined);

  const overridden = gate(good, margins, { promotedVersion: 3, unverified, allowUncompared: true });
  assert.equal(overridden.promote, true);
  assert.match(overridden.override!, /the promoted model v3 was not compared: artifact model\.npz/);
  assert.match(
    overridden.reason,
    /^recall_at_20 0\.3000 vs popularity 0\.1000; gate_override: the promoted model v3/,
  );

  const engineError = "the promoted model was trained with user_dense ['a'], this set has ['a', 'b']";
  assert.match(
    gate({ ...good, previous_holdout_examples: 40 }, margins, { promotedVersion: 3, engineError }).reason,
    /the promoted model v3 was not compared: the promoted model was trained with user_dense/,
  );
  const silent = gate({ ...good, previous_holdout_examples: 40, previous_holdout_users: 12 }, margins, {
    promotedVersion: 3,
  });
  assert.equal(silent.promote, false);
  assert.match(silent.reason, /the engine reported no previous_recall_at_20 for the promoted model v3/);
  assert.equal(gate({ recall_at_20: 0.3 }, margins).promote, false, 'no popularity baseline');
  assert.match(gate({ recall_at_20: 0.3 }, margins).reason, /no popularity_recall_at_20/);
  assert.match(
    gate({ recall_at_20: 0.3, popularity_recall_at_20: 0.1, ranker_auc: 0.7 }, margins).reason,
    /ranker_auc without ctr_baseline_auc/,
  );
});

test('what is not missing: the first model, a promoted model that saw every holdout event, a holdout without impressions', () => {
  const margins = { popularityMargin: 0, previousMargin: 0.02 };
  const good = { recall_at_20: 0.3, popularity_recall_at_20: 0.1 };
  const first = gate(good, margins, {});
  assert.deepEqual(first, { promote: true, reason: 'recall_at_20 0.3000 vs popularity 0.1000' });
  const sawEverything = gate({ ...good, previous_holdout_examples: 0 }, margins, { promotedVersion: 3 });
  assert.equal(sawEverything.promote, true);
  assert.equal(sawEverything.override, undefined);
  assert.match(sawEverything.reason, /not compared: it trained on every holdout event/);
  const noQuery = gate({ ...good, previous_holdout_examples: 30, previous_holdout_users: 0 }, margins, {
    promotedVersion: 3,
  });
  assert.equal(noQuery.promote, true);
  assert.match(noQuery.reason, /not compared: the holdout events after its training make no query/);
  const compared = gate({ ...good, previous_recall_at_20: 0.29, previous_holdout_examples: 300 }, margins, {
    promotedVersion: 3,
  });
  assert.equal(compared.promote, true);
  assert.equal(compared.override, undefined);
});

test('vocabularies freeze sorted, whatever order values were met in', () => {
  const a = new VocabularyBuilder('<unk>');
  const b = new VocabularyBuilder('<unk>');
  for (const v of ['u2', 'u10', 'u1']) a.intern(v);
  for (const v of ['u1', 'u2', 'u10', 'u1']) b.intern(v);
  const fa = a.freeze();
  const fb = b.freeze();
  assert.deepEqual(fa.values, ['<unk>', 'u1', 'u10', 'u2']);
  assert.deepEqual(fa.values, fb.values);
  assert.equal(fa.values[fa.remap[a.intern('u2')]!], 'u2');
  assert.equal(a.intern(null), 0);
});
