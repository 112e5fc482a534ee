import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { ArtifactIntegrityError } from '../registry/errors.js';
import { CorruptDataError } from '../runtime/errors.js';
import { AnnIndex, type Quantization } from './ann-index.js';
import { exactSearch, measureRecallAt10, recallAt10 } from './ann-recall.js';
import { InferenceError } from './errors.js';
import { unitVectors, withTempDir } from './test-support.js';

const ITEMS = 20_000;
const DIMS = 64;
const QUERIES = 300;

describe('an index of 20,000 random 64-d unit vectors', () => {
  const vectors = unitVectors(ITEMS, DIMS, 1);
  // Queries independent of the items: harder than querying with indexed vectors, whose own key is a sure hit.
  const queries = unitVectors(QUERIES, DIMS, 2);
  const keys = Array.from({ length: ITEMS }, (_, i) => i + 1);
  const embeddings = { keys, vectors };
  let index: AnnIndex;
  before(() => {
    index = AnnIndex.build({ dimensions: DIMS }, keys, vectors);
  });

  test('f32 finds at least 95% of the exact top 10, scored by the dot product, best first', (t) => {
    const recall = measureRecallAt10(index, embeddings, queries);
    t.diagnostic(`recall@10 f32 (ip, random queries): ${recall.toFixed(4)}`);
    assert.ok(recall >= 0.95, `recall@10 ${recall}`);
    const query = queries.subarray(0, DIMS);
    const found = index.search(query, 10);
    const exact = exactSearch(vectors, DIMS, keys, query, 10);
    assert.equal(found.keys.length, 10);
    for (let i = 1; i < 10; i++) assert.ok(found.scores[i - 1]! >= found.scores[i]!);
    found.keys.forEach((key, i) => {
      let dot = 0;
      for (let d = 0; d < DIMS; d++) dot += query[d]! * vectors[(key - 1) * DIMS + d]!;
      assert.ok(Math.abs(found.scores[i]! - dot) < 1e-5, `score of ${key}`);
    });
    assert.ok(Math.abs(found.scores[0]! - exact.scores[0]!) < 1e-5);
  });

  for (const quantization of ['f16', 'i8'] as Quantization[])
    test(`${quantization} recall@10 is measured and recorded`, (t) => {
      const quantised = AnnIndex.build({ dimensions: DIMS, quantization }, keys, vectors);
      const recall = measureRecallAt10(quantised, embeddings, queries);
      const self = recallAt10(quantised, keys, vectors, DIMS, QUERIES);
      t.diagnostic(
        `recall@10 ${quantization}: ${recall.toFixed(4)} (random queries), ${self.toFixed(4)} (indexed vectors as queries)`,
      );
      // Floors well below what is measured: they catch a broken index, not a drift of a point.
      assert.ok(recall >= (quantization === 'f16' ? 0.9 : 0.8), `recall@10 ${recall}`);
      // i8 reports the cosine of what it stored (unit-length vectors here, so the dot).
      const hit = quantised.search(vectors.subarray(0, DIMS), 1);
      assert.equal(hit.keys[0], 1);
      assert.ok(Math.abs(hit.scores[0]! - 1) < 0.05, `self score ${hit.scores[0]}`);
    });

  test('saved, then loaded, it answers as before and can be changed; a config that disagrees with the file is refused', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'index.usearch');
      index.save(path);
      const loaded = AnnIndex.load(path, { dimensions: DIMS, metric: 'ip', quantization: 'f32' });
      assert.deepEqual(loaded.config, index.config);
      assert.equal(loaded.size, ITEMS);
      for (let q = 0; q < 50; q++) {
        const query = queries.subarray(q * DIMS, (q + 1) * DIMS);
        assert.deepEqual(loaded.search(query, 20), index.search(query, 20));
      }
      assert.equal(loaded.remove([1]), 1);
      assert.throws(() => AnnIndex.load(path, { quantization: 'i8' }), /has quantization f32, not i8/);
      assert.throws(() => AnnIndex.load(path, { dimensions: 65 }), /has dimensions 64, not 65/);
    });
  });
});

describe('changes for delta updates', () => {
  const vectors = unitVectors(2_000, 16, 3);
  const keys = Array.from({ length: 2_000 }, (_, i) => 10 * i);
  const row = (i: number) => vectors.subarray(i * 16, (i + 1) * 16);

  test('upsert adds new keys and replaces changed ones; remove takes keys out of results', () => {
    const index = AnnIndex.build({ dimensions: 16 }, keys, vectors);
    assert.equal(index.remove([0, 10, 12_345]), 2);
    assert.equal(index.size, 1_998);
    assert.ok(!index.search(row(1), 50).keys.includes(10));
    // Key 20 changes to row 5's vector, and a new key 99_999 arrives with row 7's.
    index.upsert([20, 99_999], Float32Array.from([...row(5), ...row(7)]));
    assert.equal(index.size, 1_999);
    assert.deepEqual(new Set(index.search(row(5), 2).keys), new Set([20, 50]));
    assert.deepEqual(new Set(index.search(row(7), 2).keys), new Set([70, 99_999]));
    assert.ok(!index.search(row(2), 5).keys.includes(20), 'the old vector of key 20 is gone');
    index.upsert([10], row(1));
    assert.equal(index.size, 2_000);
  });

  test('exclude leaves keys out and still returns k, best first', () => {
    const index = AnnIndex.build({ dimensions: 16 }, keys, vectors);
    const all = index.search(row(3), 40);
    const banned = new Set(all.keys.slice(0, 30));
    const kept = index.search(row(3), 10, (key) => banned.has(key));
    assert.equal(kept.keys.length, 10);
    assert.ok(kept.keys.every((key) => !banned.has(key)));
    assert.deepEqual(kept.keys, all.keys.slice(30, 40));
    const everything = index.search(row(3), 10, () => true);
    assert.deepEqual(everything.keys, []);
  });

  test('a margin sizes the first ask; one too small for the filter still gives k, the same keys', () => {
    const index = AnnIndex.build({ dimensions: 16 }, keys, vectors);
    const all = index.search(row(5), 40);
    const banned = new Set(all.keys.slice(0, 30));
    const asked: number[] = [];
    const exclude = (key: number) => {
      asked.push(key);
      return banned.has(key);
    };
    const exact = index.search(row(5), 10, exclude, 30);
    assert.deepEqual(exact.keys, all.keys.slice(30, 40));
    assert.equal(asked.length, 40, 'one ask of k + margin keys, every one read');
    asked.length = 0;
    const short = index.search(row(5), 10, exclude, 2);
    assert.deepEqual(short.keys, all.keys.slice(30, 40));
    assert.ok(asked.length > 12, 'a second, larger ask followed the first 12 keys');
  });

  test('bad keys, vectors and queries are refused before usearch sees them', () => {
    const index = AnnIndex.create({ dimensions: 16 });
    assert.throws(() => index.upsert([1, 1], new Float32Array(32)), /the same key twice/);
    assert.throws(
      () => index.upsert([1], new Float32Array(15)),
      /1 keys but 15 values; the index takes 16 per vector/,
    );
    assert.throws(() => index.upsert([-1], new Float32Array(16)), /ANN key -1 is not a non-negative integer/);
    assert.throws(() => index.search(new Float32Array(8), 5), /a query of 8 values for an index of 16/);
    assert.deepEqual(index.search(new Float32Array(16), 5), { keys: [], scores: [] });
    assert.throws(() => AnnIndex.create({ dimensions: 0 }), InferenceError);
  });
});

test('cosine ignores length; inner product does not', () => {
  const rows = Float32Array.from([1, 0, 0, 0.3, 0.4, 0]);
  const query = Float32Array.from([0.6, 0.8, 0]);
  const ip = AnnIndex.build({ dimensions: 3, metric: 'ip' }, [1, 2], rows).search(query, 2);
  const cos = AnnIndex.build({ dimensions: 3, metric: 'cos' }, [1, 2], rows).search(query, 2);
  assert.deepEqual(ip.keys, [1, 2]);
  assert.ok(Math.abs(ip.scores[0]! - 0.6) < 1e-6 && Math.abs(ip.scores[1]! - 0.5) < 1e-6);
  assert.deepEqual(cos.keys, [2, 1]);
  assert.ok(Math.abs(cos.scores[0]! - 1) < 1e-6 && Math.abs(cos.scores[1]! - 0.6) < 1e-6);
});

test('with the model prior in the last coordinate f32 and f16 keep their recall; i8 is recorded', (t) => {
  // Item rows [v, T·b] and user rows [u, 1], as the towers export them, T·b spread like trained models'.
  const items = 5_000;
  const head = unitVectors(items, DIMS, 4);
  const vectors = new Float32Array(items * (DIMS + 1));
  for (let i = 0; i < items; i++) {
    vectors.set(head.subarray(i * DIMS, (i + 1) * DIMS), i * (DIMS + 1));
    vectors[i * (DIMS + 1) + DIMS] = 0.3 * Math.sin(i * 12.9898);
  }
  const users = unitVectors(QUERIES, DIMS, 6);
  const queries = new Float32Array(QUERIES * (DIMS + 1));
  for (let q = 0; q < QUERIES; q++) {
    queries.set(users.subarray(q * DIMS, (q + 1) * DIMS), q * (DIMS + 1));
    queries[q * (DIMS + 1) + DIMS] = 1;
  }
  const keys = Array.from({ length: items }, (_, i) => i + 1);
  const [f32, f16, i8] = (['f32', 'f16', 'i8'] as Quantization[]).map((quantization) =>
    measureRecallAt10(
      AnnIndex.build({ dimensions: DIMS + 1, quantization }, keys, vectors),
      { keys, vectors },
      queries,
    ),
  ) as [number, number, number];
  t.diagnostic(
    `recall@10 with a prior coordinate: f32 ${f32.toFixed(4)}, f16 ${f16.toFixed(4)}, i8 ${i8.toFixed(4)}`,
  );
  assert.ok(f32 >= 0.95, `f32 ${f32}`);
  assert.ok(f16 >= 0.9, `f16 ${f16}`);
});

test('a missing or foreign file is a clear error', async () => {
  await withTempDir(async (dir) => {
    assert.throws(() => AnnIndex.load(join(dir, 'none.usearch')), ArtifactIntegrityError);
    await writeFile(join(dir, 'junk.usearch'), Buffer.alloc(300, 7));
    assert.throws(() => AnnIndex.load(join(dir, 'junk.usearch')), CorruptDataError);
  });
});
