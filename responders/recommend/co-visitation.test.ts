import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CoVisitation } from '../../features/views/co-visitation.js';
import { fuseByRank, scoreNeighbours } from './co-visitation.js';

const HOUR_MS = 3_600_000;
const T = 1_000 * HOUR_MS;
const SETTINGS = { count: 3, halfLifeMs: HOUR_MS };
const list = (ref_ts: number, pairs: Record<string, number>): CoVisitation => ({
  ref_ts,
  items: Object.keys(pairs),
  weights: Object.values(pairs),
});
const none = () => false;

test('a neighbour scores its weight as of the request over the rank of the history item, summed over the history', () => {
  const lists = [list(T, { a: 2, b: 1 }), undefined, list(T - HOUR_MS, { b: 4, c: 1 })];
  const { ids, scores } = scoreNeighbours(lists, T + HOUR_MS, none, SETTINGS);
  // a: 2 · ½ / 1; b: 1 · ½ / 1 + 4 · ¼ / 3; c: 1 · ¼ / 3.
  assert.deepEqual(ids, ['a', 'b', 'c']);
  assert.deepEqual(scores, [1, 0.5 + 1 / 3, 0.25 / 3]);
});

test('filtered neighbours are left out before the best count are kept', () => {
  const lists = [list(T, { a: 5, b: 4, c: 3, d: 2, e: 1 })];
  const { ids } = scoreNeighbours(lists, T, (id) => id === 'a' || id === 'c', { ...SETTINGS, count: 2 });
  assert.deepEqual(ids, ['b', 'd']);
});

test('merge fuses the ANN order and the co-visitation order by reciprocal rank (ties: ANN first); alone keeps co-visitation only', () => {
  const ann = { ids: ['x', 'y', 'z'], scores: [0.1, 0.9, 0.5], order: [1, 2, 0] };
  const covisited = { ids: ['x', 'w'], scores: [3, 2] };
  const merged = fuseByRank(ann, covisited, { mode: 'merge', weight: 1 });
  const ranked = merged.order.map((i) => [merged.ids[i], merged.scores[i]]);
  assert.deepEqual(ranked, [
    ['x', 1 / 63 + 1 / 61],
    ['y', 1 / 61],
    ['z', 1 / 62],
    ['w', 1 / 62],
  ]);
  const alone = fuseByRank(ann, covisited, { mode: 'alone', weight: 1 });
  assert.deepEqual(
    alone.order.map((i) => alone.ids[i]),
    ['x', 'w'],
  );
});
