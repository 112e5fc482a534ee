import assert from 'node:assert/strict';
import { test } from 'node:test';
import { requestRandom } from '../../responders/recommend/request-random.js';
import { placementMarginals } from './placement-marginals.js';

const POOL = [
  { item_id: 'a', logit: 2 },
  { item_id: 'b', logit: 1.2 },
  { item_id: 'c', logit: 0.4 },
  { item_id: 'd', logit: 0 },
  { item_id: 'e', logit: -1.5 },
];

/** μ(item, slot) by enumerating every ordered prefix of the pool. */
function exactMarginals(slots: number): Map<string, number[]> {
  const out = new Map(POOL.map((item) => [item.item_id, new Array<number>(slots).fill(0)]));
  const visit = (prefix: string[], probability: number) => {
    if (prefix.length === slots) return;
    const left = POOL.filter((item) => !prefix.includes(item.item_id));
    const total = left.reduce((sum, item) => sum + Math.exp(item.logit), 0);
    for (const item of left) {
      const p = (probability * Math.exp(item.logit)) / total;
      out.get(item.item_id)![prefix.length]! += p;
      visit([...prefix, item.item_id], p);
    }
  };
  visit([], 1);
  return out;
}

test("the marginals agree with every order of the pool's slots counted exactly", () => {
  const exact = exactMarginals(3);
  const samples = 20_000;
  const marginals = placementMarginals(POOL, 3, { random: requestRandom('exact'), samples });
  for (const [item, bySlot] of exact)
    bySlot.forEach((p, slot) => {
      const estimate = marginals.at(item, slot);
      // Each draw adds a probability in [0, 1] of mean p: its variance is at most p(1 - p).
      const tolerance = slot === 0 ? 1e-12 : 4 * Math.sqrt((p * (1 - p)) / samples);
      assert.ok(Math.abs(estimate - p) <= tolerance, `${item} at ${slot}: ${estimate} against ${p}`);
    });
});

test('each slot is a distribution over the pool, and an item outside it has probability 0', () => {
  const marginals = placementMarginals(POOL, 4, { random: requestRandom('sums'), samples: 500 });
  for (let slot = 0; slot < 4; slot++) {
    const total = POOL.reduce((sum, item) => sum + marginals.at(item.item_id, slot), 0);
    assert.ok(Math.abs(total - 1) < 1e-9, `slot ${slot}: ${total}`);
  }
  assert.equal(marginals.at('zz', 0), 0);
  assert.equal(marginals.at('a', 4), 0, 'a slot past those drawn');
});

test('the same seed gives the same marginals', () => {
  const one = placementMarginals(POOL, 3, { random: requestRandom('r1'), samples: 300 });
  const two = placementMarginals(POOL, 3, { random: requestRandom('r1'), samples: 300 });
  for (const item of POOL) assert.equal(one.at(item.item_id, 2), two.at(item.item_id, 2));
});
