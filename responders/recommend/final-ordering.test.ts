import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Item, Promotion } from '../../schemas/generated/types.js';
import { diversify, popularItems } from './candidate-lists.js';
import { finalOrder, type OrderingSettings, orderingFor, type RankedItem } from './final-ordering.js';
import { catalogItem, DAY, NOW } from './items.fixture.js';

const CATALOG = new Map<string, Item>(
  [
    catalogItem('a'),
    catalogItem('b'),
    catalogItem('c'),
    catalogItem('d'),
    catalogItem('e'),
    catalogItem('fresh', { release_ts: NOW - DAY }),
    catalogItem('future', { release_ts: NOW + DAY }),
    catalogItem('promo'),
    catalogItem('promo2'),
    catalogItem('gone', { available: false }),
    catalogItem('adult', { maturity: 'mature' }),
  ].map((i) => [i.item_id, i]),
);

const OFF: OrderingSettings = {
  freshnessBoost: 0,
  freshnessWindowMs: 7 * DAY,
  promotions: true,
  maxCategoryShare: 1,
  explorationEpsilon: 0,
  explorationFreshWeight: 2,
  explorationPolicy: 'epsilon_greedy',
  explorationTemperature: 0,
  explorationPoolSize: 20,
};

function ranked(...ids: string[]): RankedItem[] {
  return ids.map((id, i) => ({ item_id: id, score: 10 - i, reason: 'retrieved', propensity: 1 }));
}

function promotion(itemId: string, position: number, overrides: Partial<Promotion> = {}): Promotion {
  return {
    item_id: itemId,
    position,
    start_ts: null,
    end_ts: null,
    campaign: null,
    updated_ts: 1,
    ...overrides,
  };
}

const order = (items: readonly RankedItem[]) => items.map((i) => `${i.item_id}:${i.reason}`);

test('a variant override replaces only the settings it sets', () => {
  const merged = orderingFor(OFF, {
    freshness_boost: 3,
    freshness_window_ms: null,
    promotions: false,
    max_category_share: null,
    exploration_epsilon: 0.1,
    exploration_fresh_weight: null,
    exploration_policy: null,
    exploration_temperature: null,
    exploration_pool_size: null,
  });
  assert.deepEqual(merged, { ...OFF, freshnessBoost: 3, promotions: false, explorationEpsilon: 0.1 });
  assert.equal(orderingFor(OFF, null), OFF);
});

test('with nothing to do the list is cut to k, each item retrieved with propensity 1', () => {
  const page = finalOrder({
    items: ranked('a', 'b', 'c', 'd'),
    k: 3,
    now: NOW,
    settings: OFF,
    catalog: CATALOG,
    seen: new Set(),
    minor: false,
  }).items;
  assert.deepEqual(order(page), ['a:retrieved', 'b:retrieved', 'c:retrieved']);
  assert.ok(page.every((i) => i.propensity === 1));
});

test('the freshness boost moves an item released within the window up, even from below the page', () => {
  const settings = { ...OFF, freshnessBoost: 3.5 };
  // fresh scores 5 at rank 6: boosted to 8.5 it passes c (8), d (7) and e (6), not a (10) or b (9).
  const items = ranked('a', 'b', 'c', 'd', 'e', 'fresh');
  const page = finalOrder({
    items,
    k: 4,
    now: NOW,
    settings,
    catalog: CATALOG,
    seen: new Set(),
    minor: false,
  }).items;
  assert.deepEqual(order(page), ['a:retrieved', 'b:retrieved', 'fresh:boosted', 'c:retrieved']);
  assert.equal(page[2]!.score, 8.5);
  // Released outside the window (a year ago) or in the future: not boosted.
  const old = finalOrder({
    items: ranked('a', 'b', 'future'),
    k: 3,
    now: NOW,
    settings,
    catalog: CATALOG,
    seen: new Set(),
    minor: false,
  }).items;
  assert.deepEqual(order(old), ['a:retrieved', 'b:retrieved', 'future:retrieved']);
  // A boost that does not move the item up does not say boosted.
  const first = finalOrder({
    items: ranked('fresh', 'a'),
    k: 2,
    now: NOW,
    settings,
    catalog: CATALOG,
    seen: new Set(),
    minor: false,
  }).items;
  assert.deepEqual(order(first), ['fresh:retrieved', 'a:retrieved']);
});

test('the boost keeps the order diversity gave the other items', () => {
  // c was deferred below d by diversity although it scores higher: the merge keeps it there.
  const items: RankedItem[] = [
    { item_id: 'a', score: 10, reason: 'retrieved', propensity: 1 },
    { item_id: 'd', score: 5, reason: 'retrieved', propensity: 1 },
    { item_id: 'c', score: 9, reason: 'retrieved', propensity: 1 },
    { item_id: 'fresh', score: 4, reason: 'retrieved', propensity: 1 },
  ];
  const page = finalOrder({
    items,
    k: 4,
    now: NOW,
    settings: { ...OFF, freshnessBoost: 2 },
    catalog: CATALOG,
    seen: new Set(),
    minor: false,
  }).items;
  assert.deepEqual(order(page), ['a:retrieved', 'fresh:boosted', 'd:retrieved', 'c:retrieved']);
});

test('a promoted slot is placed at its position; a shorter list gets it last; collisions stack', () => {
  const input = { k: 4, now: NOW, settings: OFF, catalog: CATALOG, seen: new Set<string>(), minor: false };
  const page = finalOrder({
    ...input,
    items: ranked('a', 'b', 'c', 'd', 'e'),
    promotions: [promotion('promo', 1)],
  }).items;
  assert.deepEqual(order(page), ['a:retrieved', 'promo:promoted', 'b:retrieved', 'c:retrieved']);
  const short = finalOrder({ ...input, items: ranked('a'), promotions: [promotion('promo', 5)] }).items;
  assert.deepEqual(order(short), ['a:retrieved', 'promo:promoted']);
  const both = finalOrder({
    ...input,
    items: ranked('a', 'b', 'c'),
    promotions: [promotion('promo', 0), promotion('promo2', 0)],
  }).items;
  assert.deepEqual(order(both), ['promo:promoted', 'promo2:promoted', 'a:retrieved', 'b:retrieved']);
  // An item already in the list moves to its slot instead of appearing twice.
  const moved = finalOrder({
    ...input,
    items: ranked('a', 'b', 'promo'),
    promotions: [promotion('promo', 0)],
  }).items;
  assert.deepEqual(order(moved), ['promo:promoted', 'a:retrieved', 'b:retrieved']);
});

test('the filters hold for promoted slots: unavailable, seen, excluded, mature for a minor, or seen unknown', () => {
  const items = ranked('a', 'b');
  const input = { items, k: 3, now: NOW, settings: OFF, catalog: CATALOG, minor: false };
  const placed = (promotions: Promotion[], extra: Partial<Parameters<typeof finalOrder>[0]> = {}) =>
    finalOrder({ ...input, seen: new Set<string>(), promotions, ...extra }).items.map((i) => i.item_id);
  assert.deepEqual(placed([promotion('gone', 0)]), ['a', 'b']);
  assert.deepEqual(placed([promotion('unknown-item', 0)]), ['a', 'b']);
  assert.deepEqual(placed([promotion('promo', 0)], { seen: new Set(['promo']) }), ['a', 'b']);
  assert.deepEqual(placed([promotion('promo', 0)], { exclude: new Set(['promo']) }), ['a', 'b']);
  assert.deepEqual(placed([promotion('adult', 0)], { minor: true }), ['a', 'b']);
  assert.deepEqual(placed([promotion('adult', 0)]), ['adult', 'a', 'b'], 'an adult gets it');
  assert.deepEqual(placed([promotion('promo', 0)], { seen: undefined }), ['a', 'b']);
  assert.deepEqual(placed([promotion('promo', 0)], { settings: { ...OFF, promotions: false } }), ['a', 'b']);
});

test('diversify fills the page under the category cap and keeps every other candidate after it', () => {
  const catalog = new Map<string, Item>([
    ['x1', catalogItem('x1', { categories: ['x'] })],
    ['x2', catalogItem('x2', { categories: ['x'] })],
    ['x3', catalogItem('x3', { categories: ['x'] })],
    ['y1', catalogItem('y1', { categories: ['y'] })],
  ]);
  const ids = ['x1', 'x2', 'x3', 'y1'];
  const out = diversify([0, 1, 2, 3], ids, [4, 3, 2, 1], { k: 2, share: 0.5, catalog });
  assert.deepEqual(
    out.map((i) => i.item_id),
    ['x1', 'y1', 'x2', 'x3'],
  );
});

test('a popularity list leaves out the seen, the excluded, the unavailable and, for a minor, the mature', () => {
  const list = ['a', 'gone', 'b', 'adult', 'c', 'd'];
  const out = popularItems(list, {
    count: 3,
    catalog: CATALOG,
    minor: true,
    seen: new Set(['b']),
    exclude: new Set(['c']),
  });
  assert.deepEqual(
    out.map((i) => `${i.item_id}:${i.reason}`),
    ['a:fallback', 'd:fallback'],
  );
});
