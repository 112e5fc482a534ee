import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ExactCatalog } from './exact-catalog.js';
import { exactTopK } from './exact-top-k.js';
import { unitVectors } from './test-support.js';

const DIMS = 32;
const ROWS = 3_001;
const QUERIES = 40;

test('a batch finds what exactTopK finds per query: the same rows in the same order, excluded rows and those before firstRow left out', () => {
  const matrix = unitVectors(ROWS, DIMS, 5);
  // Queries of different lengths, so that scores are not bounded by 1.
  const queries = unitVectors(QUERIES, DIMS, 6).map((x, i) => x * (1 + (Math.floor(i / DIMS) % 3)));
  // Each query leaves out the best rows it would otherwise get, and the first query nothing.
  const excluded = Array.from({ length: QUERIES }, (_, q) => {
    const query = queries.subarray(q * DIMS, (q + 1) * DIMS);
    return new Set(exactTopK(query, matrix, DIMS, q % 7, () => false, 1).rows);
  });
  const catalog = new ExactCatalog(matrix, DIMS, 1);
  const batch = catalog.topK(queries, 20, (q) => excluded[q]!);
  assert.equal(batch.length, QUERIES);
  for (let q = 0; q < QUERIES; q++) {
    const query = queries.subarray(q * DIMS, (q + 1) * DIMS);
    const one = exactTopK(query, matrix, DIMS, 20, (row) => excluded[q]!.has(row), 1);
    assert.deepEqual(batch[q]!.rows, one.rows, `query ${q}`);
    assert.ok(!batch[q]!.rows.includes(0));
    batch[q]!.scores.forEach((score, i) => {
      assert.ok(
        Math.abs(score - one.scores[i]!) < 1e-4,
        `query ${q}, rank ${i}: ${score} vs ${one.scores[i]}`,
      );
    });
  }
});

test('a catalog smaller than k gives every row it has; an empty batch gives nothing', () => {
  const matrix = unitVectors(6, DIMS, 7);
  const catalog = new ExactCatalog(matrix, DIMS, 1);
  const [top] = catalog.topK(unitVectors(1, DIMS, 8), 20, () => new Set([3]));
  assert.deepEqual([...top!.rows].sort(), [1, 2, 4, 5]);
  assert.deepEqual(
    catalog.topK(new Float32Array(0), 20, () => new Set()),
    [],
  );
});
