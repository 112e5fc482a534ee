import assert from 'node:assert/strict';
import { test } from 'node:test';
import { asOf, latest, MAX_VERSIONS, withVersion } from './versioned.js';

test('asOf is the newest version at or before the time; equal times replace; the input is not changed', () => {
  const a = withVersion(undefined, 100, 'a');
  const b = withVersion(a, 200, 'b');
  const c = withVersion(b, 150, 'c');
  assert.deepEqual(a.versions, [{ ts: 100, value: 'a' }]);
  assert.equal(asOf(c, 99), undefined);
  assert.equal(asOf(c, 100), 'a');
  assert.equal(asOf(c, 199), 'c');
  assert.equal(asOf(c, 10_000), 'b');
  assert.equal(latest(c), 'b');
  assert.equal(latest(withVersion(c, 200, 'B')), 'B');
  let many = c;
  for (let i = 0; i < 20; i++) many = withVersion(many, 1000 + i, String(i));
  assert.equal(many.versions.length, MAX_VERSIONS);
  assert.equal(asOf(many, 500), undefined, 'older than every kept version');
});
