import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Item, Promotion } from '../../schemas/generated/types.js';
import {
  explorationOf,
  type FinalOrderingInput,
  finalOrder,
  type OrderingSettings,
  type RankedItem,
} from './final-ordering.js';
import { catalogItem, NOW } from './items.fixture.js';
import { explorationPool, plackettLuce, softmax } from './plackett-luce.js';
import { requestRandom } from './request-random.js';

const CATALOG = new Map<string, Item>(
  [
    ...['a', 'b', 'c', 'd', 'e', 'f', 'promo'].map((id) => catalogItem(id)),
    catalogItem('gone', { available: false }),
  ].map((i) => [i.item_id, i]),
);

const PLACKETT_LUCE: OrderingSettings = {
  freshnessBoost: 0,
  freshnessWindowMs: 1,
  promotions: true,
  maxCategoryShare: 1,
  explorationEpsilon: 0,
  explorationFreshWeight: 1,
  explorationPolicy: 'plackett_luce',
  explorationTemperature: 1,
  explorationPoolSize: 5,
};

function ranked(...ids: string[]): RankedItem[] {
  return ids.map((id, i) => ({ item_id: id, score: 3 - i / 2, reason: 'retrieved', propensity: 1 }));
}

const PROMO: Promotion = {
  item_id: 'promo',
  position: 1,
  start_ts: null,
  end_ts: null,
  campaign: null,
  updated_ts: 1,
};

/** A page of 3 (a, promo, b) drawn from a pool of a, b, c, d, e (gone and the seen f left out; pool size 5). */
const INPUT: FinalOrderingInput = {
  items: ranked('a', 'b', 'c', 'gone', 'd', 'f', 'e'),
  k: 3,
  now: NOW,
  settings: PLACKETT_LUCE,
  catalog: CATALOG,
  promotions: [PROMO],
  seen: new Set(['f']),
  minor: false,
};

const SCORES = new Map(INPUT.items.map((item) => [item.item_id, item.score]));

/** The probability of drawing `itemId` from `left` by softmax(score / T). */
function chance(itemId: string, left: readonly string[], temperature: number): number {
  const weight = (id: string) => Math.exp(SCORES.get(id)! / temperature);
  return weight(itemId) / left.reduce((sum, id) => sum + weight(id), 0);
}

test('the pool is the unpromoted page, then the eligible items below it, up to its size', () => {
  const page = [
    { item_id: 'a', score: 3, reason: 'retrieved' as const, propensity: 1 },
    { item_id: 'promo', score: 3, reason: 'promoted' as const, propensity: 1 },
    { item_id: 'b', score: 2.5, reason: 'retrieved' as const, propensity: 1 },
  ];
  const pool = explorationPool(page, INPUT.items, {
    poolSize: 5,
    eligible: (item) => item.item_id !== 'gone' && item.item_id !== 'f',
  });
  assert.deepEqual(
    pool.map((item) => item.item_id),
    ['a', 'b', 'c', 'd', 'e'],
  );
  const small = explorationPool(page, INPUT.items, { poolSize: 1, eligible: () => true });
  assert.deepEqual(
    small.map((item) => item.item_id),
    ['a', 'b'],
    'never fewer than the slots to fill',
  );
});

test('at each slot the probabilities over the items left sum to 1', () => {
  const logits = [3, 2.5, 2, 1, -4];
  const taken = new Uint8Array(logits.length);
  for (let step = 0; step < logits.length; step++) {
    const p = softmax(logits, taken);
    const sum = p.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - 1) < 1e-12, `step ${step}: ${sum}`);
    for (let i = 0; i < logits.length; i++) if (taken[i]) assert.equal(p[i], 0);
    taken[step] = 1;
  }
});

test('each placed item logs its probability at its slot given the items above it; promoted slots keep 1', () => {
  for (let r = 0; r < 50; r++) {
    const page = finalOrder({ ...INPUT, seed: `req-${r}` }).items;
    assert.equal(page.length, 3);
    assert.deepEqual([page[1]!.item_id, page[1]!.reason, page[1]!.propensity], ['promo', 'promoted', 1]);
    const left = ['a', 'b', 'c', 'd', 'e'];
    for (const j of [0, 2]) {
      const item = page[j]!;
      assert.ok(Math.abs(item.propensity - chance(item.item_id, left, 1)) < 1e-12, `${item.item_id} at ${j}`);
      const deterministic = j === 0 ? 'a' : 'b';
      assert.equal(item.reason, item.item_id === deterministic ? 'retrieved' : 'explored');
      left.splice(left.indexOf(item.item_id), 1);
    }
    assert.notEqual(page[0]!.item_id, page[2]!.item_id, 'drawn without replacement');
  }
});

test("the pages' empirical frequencies match the logged propensities", () => {
  const runs = 20_000;
  const counts = new Map<string, { n: number; p: number }>();
  for (let r = 0; r < runs; r++) {
    const page = finalOrder({ ...INPUT, seed: `freq-${r}` }).items;
    const key = `${page[0]!.item_id}/${page[2]!.item_id}`;
    const p = page[0]!.propensity * page[2]!.propensity;
    const seen = counts.get(key);
    if (seen === undefined) counts.set(key, { n: 1, p });
    else {
      seen.n++;
      assert.ok(Math.abs(seen.p - p) < 1e-12, 'one page, one probability');
    }
  }
  assert.equal(counts.size, 20, 'every ordered pair of the five pool items comes out');
  let total = 0;
  for (const [key, { n, p }] of counts) {
    total += p;
    const sd = Math.sqrt((p * (1 - p)) / runs);
    assert.ok(Math.abs(n / runs - p) < 4 * sd + 1e-9, `${key}: ${n / runs} against ${p}`);
  }
  assert.ok(Math.abs(total - 1) < 1e-12, 'the logged probabilities of all pages sum to 1');
});

test('temperature 0 serves the ranked page with propensity 1 and says it explored nothing', () => {
  const settings = { ...PLACKETT_LUCE, explorationTemperature: 0 };
  assert.equal(explorationOf(settings), null);
  const page = finalOrder({ ...INPUT, settings, seed: 'req-0' }).items;
  assert.deepEqual(
    page.map((item) => [item.item_id, item.propensity]),
    [
      ['a', 1],
      ['promo', 1],
      ['b', 1],
    ],
  );
  assert.equal(explorationOf(PLACKETT_LUCE), 'plackett_luce');
});

test('a pool no larger than the slots reorders the page only, and one item left is placed with propensity 1', () => {
  const page = plackettLuce(
    [
      { item_id: 'a', score: 3, reason: 'retrieved', propensity: 1 },
      { item_id: 'b', score: 2.5, reason: 'retrieved', propensity: 1 },
    ],
    INPUT.items,
    { temperature: 1, poolSize: 2, eligible: () => true, random: requestRandom('two') },
  ).items;
  assert.deepEqual(new Set(page.map((item) => item.item_id)), new Set(['a', 'b']));
  assert.equal(page[1]!.propensity, 1);
  assert.ok(Math.abs(page[0]!.propensity - chance(page[0]!.item_id, ['a', 'b'], 1)) < 1e-12);
});

test('the same request id draws the same page', () => {
  const one = finalOrder({ ...INPUT, seed: 'same' }).items;
  assert.deepEqual(finalOrder({ ...INPUT, seed: 'same' }).items, one);
});

test('the page gives the policy that explored it and the pool it was drawn from, each item with its logit; none when nothing is drawn', () => {
  const settings = { ...PLACKETT_LUCE, explorationTemperature: 0.5 };
  const { items, pool, exploration } = finalOrder({ ...INPUT, settings, seed: 'pool' });
  assert.equal(exploration, 'plackett_luce');
  assert.deepEqual(
    pool,
    ['a', 'b', 'c', 'd', 'e'].map((id) => ({ item_id: id, logit: SCORES.get(id)! / 0.5 })),
  );
  for (const item of items)
    if (item.reason !== 'promoted') assert.ok(pool!.some((p) => p.item_id === item.item_id));
  const off = { ...PLACKETT_LUCE, explorationTemperature: 0 };
  assert.equal(finalOrder({ ...INPUT, settings: off, seed: 'pool' }).pool, null);
  const unseen = finalOrder({ ...INPUT, seen: undefined, seed: 'pool' });
  assert.deepEqual(
    [unseen.pool, unseen.exploration],
    [null, null],
    'what the user has seen is unknown: not explored',
  );
  const greedy = { ...PLACKETT_LUCE, explorationPolicy: 'epsilon_greedy' as const, explorationEpsilon: 0.5 };
  const explored = finalOrder({ ...INPUT, settings: greedy, seed: 'pool' });
  assert.deepEqual([explored.pool, explored.exploration], [null, 'epsilon_greedy']);
});
