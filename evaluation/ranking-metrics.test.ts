import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exactTopK } from '../inference/exact-top-k.js';
import { RankingMetrics } from './ranking-metrics.js';

test('recall, NDCG and HR at K follow their definitions', () => {
  const m = new RankingMetrics(2, 10);
  m.add(['a', 'b', 'c'], new Set(['b', 'c']));
  m.add(['x', 'y'], new Set(['z']));
  m.add(['q'], new Set());
  const r = m.result();
  assert.equal(r.users, 2);
  assert.equal(r.recall, (1 / 2 + 0) / 2);
  const ndcg = 1 / Math.log2(3) / (1 + 1 / Math.log2(3));
  assert.ok(Math.abs(r.ndcg - ndcg / 2) < 1e-12);
  assert.equal(r.hr, 0.5);
  assert.equal(r.coverage, 4 / 10);
});

test('exactTopK returns the best rows by inner product, best first, skipping excluded rows and row 0', () => {
  const dims = 2;
  const rows = 200;
  const matrix = new Float32Array(rows * dims);
  let seed = 7;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return (seed / 2 ** 31) * 2 - 1;
  };
  for (let i = 0; i < matrix.length; i++) matrix[i] = rand();
  const query = new Float32Array([0.3, -0.8]);
  const excluded = new Set([5, 17, 42]);
  const score = (r: number) => query[0]! * matrix[r * 2]! + query[1]! * matrix[r * 2 + 1]!;
  const expected = Array.from({ length: rows - 1 }, (_, i) => i + 1)
    .filter((r) => !excluded.has(r))
    .sort((a, b) => score(b) - score(a))
    .slice(0, 10);
  const top = exactTopK(query, matrix, dims, 10, (r) => excluded.has(r));
  assert.deepEqual(top.rows, expected);
  assert.ok(top.scores.every((s, i) => i === 0 || top.scores[i - 1]! >= s));
});
