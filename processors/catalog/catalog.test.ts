import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Item } from '../../schemas/generated/types.js';
import { catalogItem, FeaturesHarness } from '../../test/features.js';
import { ITEMS_STORE } from './catalog.js';
import { reduceCatalog } from './catalog-versions.js';

test('the items table keeps the newest version by updated_ts; a tombstone deletes; bad records are dead-lettered', async () => {
  const h = await FeaturesHarness.create();
  try {
    const items = h.driver.store<Item>(ITEMS_STORE);
    await h.item(catalogItem('i1', { title: 'First', updated_ts: 10 }));
    await h.item(catalogItem('i1', { title: 'Second', updated_ts: 20 }));
    await h.item(catalogItem('i1', { title: 'Stale', updated_ts: 15 }));
    await h.item(catalogItem('i2', { updated_ts: 5 }));
    assert.equal((await items.get('i1'))?.title, 'Second');
    await h.deleteItem('i2', 30);
    assert.equal(await items.get('i2'), undefined);
    await h.driver.pipe('rec.items', null, null, 40);
    await h.driver.pipe('rec.items', 'i3', null, 41);
    assert.equal(h.driver.deadLetters.length, 1);
    assert.match(h.driver.deadLetters[0]!.error_message, /rec.items record has no key/);
  } finally {
    await h.close();
  }
});

test('catalog versions answer as of a time, keep the newest eight, and a tombstone removes the item', () => {
  let v = reduceCatalog(undefined, catalogItem('i1', { categories: ['a'], updated_ts: 100 }), { key: 'i1' });
  v = reduceCatalog(v, catalogItem('i1', { categories: ['c'], updated_ts: 300 }), { key: 'i1' });
  v = reduceCatalog(v, catalogItem('i1', { categories: ['b'], updated_ts: 200 }), { key: 'i1' });
  assert.deepEqual(
    v!.versions.map((x) => [x.ts, x.value.categories]),
    [
      [100, ['a']],
      [200, ['b']],
      [300, ['c']],
    ],
  );
  const before = v;
  assert.equal(
    reduceCatalog(v, catalogItem('i2'), { key: 'i1' }),
    before,
    'a record keyed by another item is ignored',
  );
  for (let ts = 400; ts < 1200; ts += 100)
    v = reduceCatalog(v, catalogItem('i1', { updated_ts: ts }), { key: 'i1' });
  assert.equal(v!.versions.length, 8);
  assert.equal(v!.versions[0]!.ts, 400);
  assert.equal(reduceCatalog(v, null, { key: 'i1' }), undefined);
});
