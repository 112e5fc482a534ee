/**
 * The item-kNN baseline on a data set small enough to compute by hand:
 *
 * ```
 * u1: a b      users of a: u1 u2      sim(a,b) = 2/√(2·3) = 0.8165
 * u2: a b c    users of b: u1 u2 u3   sim(a,c) = 1/√(2·3) = 0.4082
 * u3: b c      users of c: u2 u3 u4   sim(b,c) = 2/√(3·3) = 0.6667
 * u4: c d      users of d: u4         sim(c,d) = 1/√(3·1) = 0.5774   (a–d, b–d: 0)
 * ```
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ItemKnnBaseline } from './item-knn-baseline.js';
import { evaluateItemKnn } from './item-knn-eval.js';

const seen = new Map<string, Set<string>>([
  ['u1', new Set(['a', 'b'])],
  ['u2', new Set(['a', 'b', 'c'])],
  ['u3', new Set(['b', 'c'])],
  ['u4', new Set(['c', 'd'])],
]);
const AB = 2 / Math.sqrt(6);
const AC = 1 / Math.sqrt(6);
const BC = 2 / 3;
const CD = 1 / Math.sqrt(3);

function close(actual: [string, number][], expected: [string, number][]): void {
  assert.deepEqual(
    actual.map(([id]) => id),
    expected.map(([id]) => id),
  );
  for (const [i, [, sim]] of actual.entries())
    assert.ok(Math.abs(sim - expected[i]![1]) < 1e-12, `${sim} ≠ ${expected[i]![1]}`);
}

test('item-kNN: cosine similarities over users, each item’s most similar kept', () => {
  const all = ItemKnnBaseline.fromSeen(seen.values());
  assert.equal(all.itemCount, 4);
  close(all.neighbours('a'), [
    ['b', AB],
    ['c', AC],
  ]);
  close(all.neighbours('c'), [
    ['b', BC],
    ['d', CD],
    ['a', AC],
  ]);
  close(all.neighbours('d'), [['c', CD]]);
  const one = ItemKnnBaseline.fromSeen(seen.values(), { neighbours: 1 });
  close(one.neighbours('b'), [['a', AB]]);
  close(one.neighbours('c'), [['b', BC]]);
  assert.deepEqual(one.neighbours('unknown'), []);
  assert.throws(() => ItemKnnBaseline.fromSeen(seen.values(), { neighbours: 0 }), RangeError);
});

test('item-kNN: a user’s score for an item sums its similarities to the user’s items that keep it as a neighbour', () => {
  // {a, d}: c = sim(a,c) + sim(d,c) = 0.9856 > b = sim(a,b) = 0.8165.
  assert.deepEqual(ItemKnnBaseline.fromSeen(seen.values()).top(2, new Set(['a', 'd'])), ['c', 'b']);
  // One neighbour each: a keeps only b, d only c: b = 0.8165 > c = 0.5774.
  assert.deepEqual(ItemKnnBaseline.fromSeen(seen.values(), { neighbours: 1 }).top(2, new Set(['a', 'd'])), [
    'b',
    'c',
  ]);
  const knn = ItemKnnBaseline.fromSeen(seen.values());
  // u1's own items left out; c scores 0.4082 + 0.6667, d nothing: it follows by popularity.
  assert.deepEqual(knn.top(2, seen.get('u1'), seen.get('u1')), ['c', 'd']);
  // Nothing to go on: the most popular items (b and c have three users each; ties by id).
  assert.deepEqual(knn.top(3, undefined), ['b', 'c', 'a']);
});

test('item-kNN evaluation: Recall, NDCG and HR of every holdout user, as computed by hand', () => {
  const holdout = new Map<string, Set<string>>([
    ['u1', new Set(['d'])], // ranked [c, d]: 1 of 1
    ['u3', new Set(['d', 'x'])], // a = 0.8165 + 0.4082, d = 0.5774: [a, d]: 1 of 2
    ['u4', new Set(['a'])], // b = 0.6667, a = 0.4082: [b, a]: 1 of 1
    ['u2', new Set()], // nothing to find: not counted
  ]);
  const result = evaluateItemKnn({ seen, holdout, ks: [1, 2] });
  assert.equal(result.users, 3);
  assert.equal(result.neighbours, 200);
  assert.equal(result.byK[1]!.recall, 0);
  assert.ok(Math.abs(result.byK[2]!.recall - (1 + 0.5 + 1) / 3) < 1e-12);
  const second = 1 / Math.log2(3);
  const ndcg = (second + second / (1 + second) + second) / 3;
  assert.ok(Math.abs(result.byK[2]!.ndcg - ndcg) < 1e-12);
  assert.equal(result.byK[2]!.hr, 1);
  // Lists at 2: [c, d], [a, d], [b, a]: every item of the four recommended.
  assert.equal(result.byK[2]!.coverage, 1);

  // Without leaving the users' items out, their own fill the lists: [c, a], [a, b], [b, c].
  const kept = evaluateItemKnn({ seen, holdout, ks: [2], excludeSeen: false });
  assert.equal(kept.byK[2]!.recall, 0);
});
