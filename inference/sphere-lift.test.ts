import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { AnnIndex } from './ann-index.js';
import { exactSearch, measureRecallAt10 } from './ann-recall.js';
import { InferenceError } from './errors.js';
import { SessionThread } from './session-thread.js';
import { maxNorm, norm, SphereLift } from './sphere-lift.js';
import { unitVectors, withTempDir } from './test-support.js';

const DIMS = 32;
const ITEMS = 4_000;
const QUERIES = 200;

/** Item rows `[v, T·b]` and user rows `[u, 1]`, as the towers export them, the prior spread wide so norms differ. */
function towerRows(rows: number, seed: number, last: (i: number) => number): Float32Array {
  const head = unitVectors(rows, DIMS - 1, seed);
  const out = new Float32Array(rows * DIMS);
  for (let i = 0; i < rows; i++) {
    out.set(head.subarray(i * (DIMS - 1), (i + 1) * (DIMS - 1)), i * DIMS);
    out[i * DIMS + DIMS - 1] = last(i);
  }
  return out;
}

const vectors = towerRows(ITEMS, 1, (i) => 1.5 * Math.sin(i * 12.9898));
const queries = towerRows(QUERIES, 2, () => 1);
const keys = Array.from({ length: ITEMS }, (_, i) => 3 * i + 1);
const query = (q: number) => queries.subarray(q * DIMS, (q + 1) * DIMS);
const dot = (a: Float32Array, b: Float32Array) => a.reduce((sum, x, i) => sum + x * b[i]!, 0);
const item = (i: number) => vectors.subarray(i * DIMS, (i + 1) * DIMS);

describe('the sphere lift', () => {
  const lift = new SphereLift(DIMS, maxNorm(vectors, DIMS));

  test('every lifted row has norm M, and the L2 ranking over lifted rows is the inner-product ranking', () => {
    const { rows, clamped } = lift.items(vectors);
    assert.equal(clamped.size, 0);
    for (let i = 0; i < ITEMS; i++)
      assert.ok(Math.abs(norm(rows, i * (DIMS + 1), (i + 1) * (DIMS + 1)) - lift.maxNorm) < 1e-4, `row ${i}`);
    for (let q = 0; q < 20; q++) {
      const lifted = lift.query(query(q));
      const qNorm = norm(query(q));
      const byCosine = keys
        .map((key, i) => {
          const row = rows.subarray(i * (DIMS + 1), (i + 1) * (DIMS + 1));
          const distance = row.reduce((sum, x, d) => sum + (x - lifted[d]!) ** 2, 0);
          return { key, score: lift.score(distance, qNorm) };
        })
        .sort((a, b) => b.score - a.score)
        .slice(0, 50);
      const exact = exactSearch(vectors, DIMS, keys, query(q), 50);
      assert.deepEqual(
        byCosine.map((r) => r.key),
        exact.keys,
      );
      for (const [i, r] of byCosine.entries()) assert.ok(Math.abs(r.score - exact.scores[i]!) < 1e-4);
    }
  });

  test('a row longer than M is clamped onto the sphere with its factor; a zero query scores 0', () => {
    const long = new Float32Array(DIMS).fill(0);
    long[0] = 2 * lift.maxNorm;
    const { rows, clamped } = lift.items(long);
    assert.deepEqual([...clamped.keys()], [0]);
    assert.ok(Math.abs(clamped.get(0)! - 2) < 1e-6);
    assert.ok(Math.abs(norm(rows) - lift.maxNorm) < 1e-5);
    assert.equal(rows[DIMS], 0);
    assert.equal(lift.score(lift.maxNorm ** 2, 0), 0, 'a zero query is at distance M from every row');
    assert.throws(() => new SphereLift(DIMS, 0), InferenceError);
    assert.equal(maxNorm(new Float32Array(0), DIMS), 1, 'an empty index still has a sphere');
  });
});

describe('a mips index', () => {
  const index = AnnIndex.build({ dimensions: DIMS, metric: 'mips' }, keys, vectors);

  test('finds the exact inner-product top 10 and scores by the inner product, best first', (t) => {
    assert.equal(index.config.dimensions, DIMS);
    assert.ok(Math.abs(index.config.maxNorm - maxNorm(vectors, DIMS)) < 1e-9);
    const recall = measureRecallAt10(index, { keys, vectors }, queries);
    t.diagnostic(`recall@10 mips f32, prior spread ±1.5: ${recall.toFixed(4)}`);
    assert.ok(recall >= 0.97, `recall@10 ${recall}`);
    for (let q = 0; q < 10; q++) {
      const found = index.search(query(q), 20);
      for (let i = 1; i < found.scores.length; i++) assert.ok(found.scores[i - 1]! >= found.scores[i]!);
      found.keys.forEach((key, i) => {
        const expected = dot(query(q), item((key - 1) / 3));
        assert.ok(
          Math.abs(found.scores[i]! - expected) < 1e-4,
          `score of ${key}: ${found.scores[i]} vs ${expected}`,
        );
      });
    }
  });

  test('deltas: upserts lift with the same M, a longer vector is clamped with its exact score, and removal forgets it', async () => {
    const changed = AnnIndex.build({ dimensions: DIMS, metric: 'mips' }, keys, vectors);
    const radius = changed.config.maxNorm;
    // A new item pointing along the first query, within M: it comes first with its inner product.
    const near = query(0).map((x) => (x * radius * 0.99) / norm(query(0)));
    changed.upsert([100_000], near);
    let found = changed.search(query(0), 5);
    assert.equal(found.keys[0], 100_000);
    assert.ok(Math.abs(found.scores[0]! - dot(query(0), near)) < 1e-4);
    assert.equal(changed.clamped, 0);
    // Twice M: stored on the sphere, scored exactly.
    const far = near.map((x) => x * 2);
    changed.upsert([100_000], far);
    assert.equal(changed.clamped, 1);
    found = changed.search(query(0), 5);
    assert.equal(found.keys[0], 100_000);
    assert.ok(
      Math.abs(found.scores[0]! - dot(query(0), far)) < 1e-3,
      `${found.scores[0]} vs ${dot(query(0), far)}`,
    );
    for (let i = 1; i < found.scores.length; i++) assert.ok(found.scores[i - 1]! >= found.scores[i]!);
    await withTempDir(async (dir) => {
      assert.throws(() => changed.save(join(dir, 'clamped.usearch')), /clamped to maxNorm/);
    });
    changed.upsert([100_000], near);
    assert.equal(changed.clamped, 0, 'a changed vector within M is no longer clamped');
    changed.upsert([100_000], far);
    assert.equal(changed.remove([100_000]), 1);
    assert.equal(changed.clamped, 0);
    assert.notEqual(changed.search(query(0), 5).keys[0], 100_000);
  });

  test('saved, it loads only as mips with its M, answers as before, also on a session thread', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'index.usearch');
      index.save(path);
      const config = { metric: 'mips', maxNorm: index.config.maxNorm } as const;
      const loaded = AnnIndex.load(path, config);
      assert.deepEqual(loaded.config, index.config);
      for (let q = 0; q < 20; q++) assert.deepEqual(loaded.search(query(q), 20), index.search(query(q), 20));
      assert.throws(
        () => AnnIndex.load(path, { metric: 'mips' }),
        /maxNorm, the radius it was built with, is required/,
      );
      assert.throws(() => AnnIndex.load(path), /maxNorm/, 'the file says mips, but not its radius');
      const plain = join(dir, 'plain.usearch');
      AnnIndex.build({ dimensions: DIMS }, keys, vectors).save(plain);
      assert.throws(() => AnnIndex.load(plain, config), /has metric ip, not mips/);
      assert.throws(() => AnnIndex.load(path, { metric: 'ip' }), /has metric mips, not ip/);
      const thread = new SessionThread();
      const remote = await thread.openIndex(path, config);
      try {
        assert.equal(remote.config.dimensions, DIMS);
        const exclude = (key: number) => key % 2 === 0;
        for (let q = 0; q < 5; q++) {
          const there = await remote.search(query(q), 10, exclude, 10);
          const here = loaded.search(query(q), 10, exclude, 10);
          assert.deepEqual(there.keys, here.keys);
          // Scores cross the thread as f32.
          for (const [i, score] of there.scores.entries())
            assert.ok(Math.abs(score - here.scores[i]!) < 1e-5);
        }
        await remote.upsert(
          [100_000],
          query(0).map((x) => x * 3),
        );
        assert.equal((await remote.search(query(0), 1)).keys[0], 100_000);
      } finally {
        await remote.close();
      }
    });
  });
});
