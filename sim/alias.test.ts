import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../lib/random.js';
import { AliasTable } from './alias.js';

test('draws each index in proportion to its weight', () => {
  const weights = [5, 0, 1, 3, 1];
  const table = new AliasTable(weights);
  const rng = Rng.derive(1, 0);
  const counts = new Array<number>(weights.length).fill(0);
  const n = 200_000;
  for (let i = 0; i < n; i++) counts[table.sample(rng)]!++;
  const total = weights.reduce((s, w) => s + w, 0);
  weights.forEach((w, i) => {
    const expected = (n * w) / total;
    // Five standard deviations of a binomial count: fails by chance about once in a million runs.
    const sd = Math.sqrt(n * (w / total) * (1 - w / total));
    assert.ok(Math.abs(counts[i]! - expected) <= 5 * sd + 1e-9, `index ${i}: ${counts[i]} vs ${expected}`);
  });
  assert.equal(counts[1], 0, 'a zero weight is never drawn');
});

test('returns members instead of indexes when given them', () => {
  const table = new AliasTable([1, 1], Int32Array.from([40, 70]));
  const rng = Rng.derive(2, 0);
  const seen = new Set<number>();
  for (let i = 0; i < 100; i++) seen.add(table.sample(rng));
  assert.deepEqual([...seen].sort(), [40, 70]);
});

test('refuses weights it cannot sample from, saying which', () => {
  assert.throws(() => new AliasTable([]), /at least one weight/);
  assert.throws(() => new AliasTable([1, -1]), /weight 1 is -1/);
  assert.throws(() => new AliasTable([1, Number.NaN]), /weight 1 is NaN/);
  assert.throws(() => new AliasTable([0, 0]), /all weights are zero/);
  assert.throws(() => new AliasTable([1, 2], Int32Array.from([1])), /1 members for 2 weights/);
});
