import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Item, Promotion } from '../../schemas/generated/types.js';
import {
  type FinalOrderingInput,
  finalOrder,
  type OrderingSettings,
  type RankedItem,
} from './final-ordering.js';
import { catalogItem, DAY, NOW } from './items.fixture.js';
import { requestRandom } from './request-random.js';

const CATALOG = new Map<string, Item>(
  [
    ...['a', 'b', 'c', 'd', 'e', 'f', 'promo'].map((id) => catalogItem(id)),
    catalogItem('fresh', { release_ts: NOW - DAY }),
    catalogItem('future', { release_ts: NOW + DAY }),
    catalogItem('gone', { available: false }),
    catalogItem('adult', { maturity: 'mature' }),
  ].map((i) => [i.item_id, i]),
);

const EXPLORING: OrderingSettings = {
  freshnessBoost: 0,
  freshnessWindowMs: 7 * DAY,
  promotions: true,
  maxCategoryShare: 1,
  explorationEpsilon: 0.3,
  explorationFreshWeight: 3,
  explorationPolicy: 'epsilon_greedy',
  explorationTemperature: 0,
  explorationPoolSize: 20,
};

function ranked(...ids: string[]): RankedItem[] {
  return ids.map((id, i) => ({ item_id: id, score: 10 - i, reason: 'retrieved', propensity: 1 }));
}

const PROMO: Promotion = {
  item_id: 'promo',
  position: 1,
  start_ts: null,
  end_ts: null,
  campaign: null,
  updated_ts: 1,
};

/** A page of 3 (a, promo, b) over a pool of c, d, fresh (weight 3) and future, and four items no draw may take. */
const INPUT: FinalOrderingInput = {
  items: ranked('a', 'b', 'c', 'gone', 'd', 'adult', 'e', 'fresh', 'f', 'future'),
  k: 3,
  now: NOW,
  settings: EXPLORING,
  catalog: CATALOG,
  promotions: [PROMO],
  seen: new Set(['e']),
  exclude: new Set(['f']),
  minor: true,
};

test('with ε = 0 the page is the deterministic one, every propensity 1, and no seed is needed', () => {
  const settings = { ...EXPLORING, explorationEpsilon: 0 };
  const page = finalOrder({ ...INPUT, settings }).items;
  assert.deepEqual(
    page.map((i) => `${i.item_id}:${i.reason}:${i.propensity}`),
    ['a:retrieved:1', 'promo:promoted:1', 'b:retrieved:1'],
  );
  assert.throws(() => finalOrder({ ...INPUT }).items, /seed/, 'exploring without a seed is refused');
});

test('a seed gives the same list every time, and different seeds explore differently', () => {
  const once = finalOrder({ ...INPUT, seed: 'req-1' }).items;
  assert.deepEqual(finalOrder({ ...INPUT, seed: 'req-1' }).items, once);
  const lists = new Set<string>();
  for (let i = 0; i < 50; i++)
    lists.add(
      finalOrder({ ...INPUT, seed: `req-${i}` })
        .items.map((x) => x.item_id)
        .join(),
    );
  assert.ok(lists.size > 1, 'fifty requests are not all served the same list');
  const random = requestRandom('req-1');
  assert.notEqual(random(), random());
});

test('each placement logs its exact probability: over many requests an item is at a slot as often as its propensity says', () => {
  const n = 20_000;
  const counts = new Map<string, number>();
  const logged = new Map<string, number>();
  for (let r = 0; r < n; r++) {
    const page = finalOrder({ ...INPUT, seed: `request-${r}` }).items;
    assert.equal(page.length, 3);
    assert.equal(page[1]!.item_id, 'promo', 'the promoted slot is never displaced');
    assert.equal(page[1]!.propensity, 1);
    page.forEach((placed, position) => {
      const key = `${placed.item_id}@${position}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      const before = logged.get(key);
      if (before !== undefined) assert.equal(placed.propensity, before, `${key} logs one propensity`);
      logged.set(key, placed.propensity);
      if (placed.reason === 'explored')
        assert.ok(
          ['c', 'd', 'fresh', 'future'].includes(placed.item_id),
          `${placed.item_id} passes the filters`,
        );
    });
  }
  for (const [key, propensity] of logged) {
    const frequency = counts.get(key)! / n;
    const tolerance = 4 * Math.sqrt((propensity * (1 - propensity)) / n) + 1e-3;
    assert.ok(
      Math.abs(frequency - propensity) <= tolerance,
      `${key}: seen ${frequency}, logged ${propensity}`,
    );
  }
  // Every item that can be at a slot was seen there, so the logged probabilities of a slot sum to 1.
  for (const position of [0, 2]) {
    const total = [...logged].filter(([key]) => key.endsWith(`@${position}`)).reduce((s, [, p]) => s + p, 0);
    assert.ok(Math.abs(total - 1) < 1e-12, `slot ${position} sums to ${total}`);
  }
  // Pool weights 1 + 1 + 3 + 1: fresh is drawn three times as often; at the third slot it must also not have
  // been drawn at the first (the promoted slot between them draws nothing).
  const q = (0.3 * 3) / 6;
  assert.ok(Math.abs(logged.get('fresh@0')! - q) < 1e-12);
  assert.ok(Math.abs(logged.get('fresh@2')! - q * (1 - q)) < 1e-12);
  assert.ok(Math.abs(logged.get('a@0')! - 0.7) < 1e-12, 'the first item stays unless its slot explores');
});

test('nothing is drawn in when what the user has seen is unknown, and the page says it was not explored', () => {
  const { items: page, exploration } = finalOrder({
    ...INPUT,
    seen: undefined,
    promotions: [],
    seed: 'req-1',
  });
  assert.equal(exploration, null);
  assert.deepEqual(
    page.map((i) => `${i.item_id}:${i.propensity}`),
    ['a:1', 'b:1', 'c:1'],
  );
});
