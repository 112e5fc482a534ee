import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { shareCatalogStrings } from './shared-strings.js';

/** A fresh string equal to `value` (a decoder makes one per record). */
const copy = (value: string) => Buffer.from(value).toString();

/** Live heap bytes after a full collection. */
function liveHeap(): number {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  return process.memoryUsage().heapUsed;
}

test('items decoded apart keep their values and share one copy of each language, category and tag', () => {
  const long = 'x'.repeat(1000);
  const decoded = () => ({
    language: copy(`pt-BR${long}`),
    categories: [copy(`drama${long}`), copy(`crime${long}`)],
    tags: [copy(`film${long}`)],
  });
  const before = liveHeap();
  // 4 strings of ~1 KB in each of 10,000 items: ~40 MB held if each item kept its own copies.
  const items = Array.from({ length: 10_000 }, () => shareCatalogStrings(decoded()));
  const grown = liveHeap() - before;
  assert.ok(grown < 10_000_000, `10,000 items grew the live heap by ${grown} bytes`);
  assert.deepEqual(items[9_999], {
    language: `pt-BR${long}`,
    categories: [`drama${long}`, `crime${long}`],
    tags: [`film${long}`],
  });
  assert.equal(shareCatalogStrings({ language: null, categories: [], tags: [] }).language, null);
});
