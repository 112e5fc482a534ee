import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ID_FILTER_BITS_PER_ID, IdFilter } from './id-filter.js';

test('every id added is found; of ids never added, about 1 in 120 is a false positive at capacity', () => {
  const filter = new IdFilter(50_000);
  for (let i = 0; i < 50_000; i++) filter.add(`0d3c-${i}-event`);
  for (let i = 0; i < 50_000; i++) assert.ok(filter.mightHave(`0d3c-${i}-event`), `0d3c-${i}-event`);
  let falsePositives = 0;
  for (let i = 0; i < 100_000; i++) if (filter.mightHave(`0d3c-${i}-other`)) falsePositives++;
  assert.ok(falsePositives > 0 && falsePositives < 1500, `${falsePositives} in 100,000`);
  assert.equal(filter.bytes, (50_000 * ID_FILTER_BITS_PER_ID) / 8);
  assert.equal(filter.added, 50_000);
});

test('an empty filter has nothing; ids of one character, empty and non-ASCII are hashed apart', () => {
  const filter = new IdFilter(16);
  assert.equal(filter.mightHave(''), false);
  filter.add('');
  filter.add('é');
  assert.ok(filter.mightHave(''));
  assert.ok(filter.mightHave('é'));
  assert.equal(filter.mightHave('e'), false);
});
