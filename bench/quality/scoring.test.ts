import assert from 'node:assert/strict';
import { test } from 'node:test';
import { evaluateItemKnn } from '../../evaluation/item-knn-eval.js';
import type { RankingResult } from '../../evaluation/ranking-metrics.js';
import type { ModelVersion } from '../../schemas/generated/types.js';
import { KS } from './pipeline.js';
import { qualityRows } from './scoring.js';

const at = (recall: number): Record<number, RankingResult> =>
  Object.fromEntries(KS.map((k) => [k, { recall, ndcg: recall, hr: 1, coverage: 0.5, users: 2 }]));

test('quality rows: the item-kNN baseline beside recstream and popularity, with its reference and training time', () => {
  const seen = new Map([
    ['u1', new Set(['a', 'b'])],
    ['u2', new Set(['b', 'c'])],
  ]);
  const holdout = new Map([
    ['u1', new Set(['c'])],
    ['u2', new Set(['a'])],
  ]);
  const knn = evaluateItemKnn({ seen, holdout, ks: KS });
  const model = { version: 3, status: 'promoted', params: {}, metrics: {} } as unknown as ModelVersion;
  const rows = qualityRows(
    'tiny',
    { users: 2, recstream: at(0.5), popularity: at(0.25) },
    model,
    12,
    {},
    {
      itemKnn: knn,
    },
  );
  const models = [...new Set(rows.map((r) => r.config.model))];
  assert.deepEqual(models, ['recstream', 'popularity', 'item-knn']);
  const recall = rows.find((r) => r.name === 'recall_at_20' && r.config.model === 'item-knn')!;
  // Both users find their held-out item: b's neighbours bring c to u1 and a to u2.
  assert.equal(recall.value, 1);
  assert.deepEqual(recall.reference, { name: 'popularity', value: 0.25 });
  assert.equal(recall.config.neighbours, 200);
  assert.equal(recall.config.similarity, 'cosine');
  assert.equal(typeof recall.config.train_seconds, 'number');
  assert.equal(rows.filter((r) => r.config.model === 'item-knn').length, 2 * KS.length + 2);
});
