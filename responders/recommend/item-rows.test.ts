import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DatasetManifest } from '../../features/dataset-manifest.js';
import { CATALOG_DENSE, CROSS_DENSE, ITEM_DENSE, USER_DENSE } from '../../features/dense-lanes.js';
import { VOCABULARY_KINDS } from '../../features/feature-service.js';
import {
  encodedRankerInputs,
  encodeRankerItem,
  type ModelVocabularies,
  modelVocabularies,
  rankerInputs,
  type UserQuery,
  userTowerInputs,
} from '../../features/model-inputs.js';
import { itemPartition } from '../../features/views/item-frontier.js';
import {
  emptyItemView,
  foldItemInteraction,
  type ItemView,
  itemFeaturesAt,
} from '../../features/views/item-view.js';
import { emptyUserView, featuresAt, foldInteraction } from '../../features/views/user-view.js';
import type { Item } from '../../schemas/generated/types.js';
import { catalogItem, event } from '../../test/features.js';
import { ItemRows } from './item-rows.js';

const T0 = Date.UTC(2026, 10, 1);
const HOUR = 3_600_000;
const ITEMS = ['i1', 'i2', 'i3', 'i4'];

const catalog = new Map<string, Item>([
  ['i1', catalogItem('i1', { categories: ['drama', 'crime'], language: 'en', release_ts: T0 - 400 * HOUR })],
  ['i2', catalogItem('i2', { categories: ['comedy'], language: 'pt', duration_s: null })],
  ['i3', catalogItem('i3', { categories: ['drama', 'comedy', 'kids', 'music'], language: 'fr' })],
]);

/** Views of i1–i3 from interactions in two countries over two days; i4 has none. */
function itemViews(): Map<string, ItemView> {
  const views = new Map<string, ItemView>();
  const scratch = new Float64Array(3);
  ITEMS.slice(0, 3).forEach((itemId, n) => {
    const view = emptyItemView();
    for (let i = 0; i < 6 + 3 * n; i++) {
      const country = i % 3 === 0 ? 'US' : 'PT';
      const type = (['click', 'view', 'impression', 'complete', 'rate'] as const)[i % 5]!;
      foldItemInteraction(
        view,
        event(`e${n}-${i}`, `u${i % 4}`, itemId, type, T0 - (48 - 7 * i) * HOUR, {
          context: { device: 'tv', country, session_id: null, surface: 'home', request_id: null },
        }),
        scratch,
      );
    }
    views.set(itemId, view);
  });
  return views;
}

async function vocabularies(items: readonly string[]): Promise<ModelVocabularies> {
  const values: Record<string, string[]> = Object.fromEntries(VOCABULARY_KINDS.map((k) => [k, ['<unk>']]));
  values.item!.push(...items);
  values.category!.push('comedy', 'crime', 'drama', 'kids');
  values.language!.push('en', 'fr', 'pt');
  values.country!.push('PT', 'US');
  const manifest = {
    vocabularies: values,
    dense: {
      user_dense: USER_DENSE,
      item_dense: ITEM_DENSE,
      cross_dense: CROSS_DENSE,
      catalog_dense: CATALOG_DENSE,
    },
  } as unknown as DatasetManifest;
  return modelVocabularies(manifest, 'dataset.json');
}

function query(ts: number, country: string | null): UserQuery {
  const view = emptyUserView();
  const scratch = new Float64Array(3);
  for (const [i, itemId] of ['i1', 'i3', 'i2'].entries())
    foldInteraction(
      view,
      event(`q${i}`, 'u9', itemId, 'click', ts - (5 - i) * HOUR),
      null,
      catalog.get(itemId)!.categories,
      scratch,
    );
  return {
    userId: 'u9',
    features: featuresAt(view, ts, undefined, scratch),
    context: { device: 'tv', country, session_id: null, surface: 'home', request_id: null },
    ts,
  };
}

test('rows encoded when read give the ranker the batch rankerInputs gives at the request time, in any country', async () => {
  const views = itemViews();
  const vocab = await vocabularies(ITEMS);
  const rows = new ItemRows(async (ids) => ids.map((id) => views.get(id)), catalog);
  for (const country of ['PT', 'US', 'JP', null]) {
    const q = query(T0, country);
    const user = userTowerInputs([q], vocab);
    const read = await rows.getMany(ITEMS, T0);
    const encoded = encodedRankerInputs(
      q,
      read.map((row, i) => ({
        itemId: ITEMS[i]!,
        features: row.features,
        dense: row.dense,
        encoded: row.encodedFor(vocab, ITEMS[i]!),
      })),
      user,
    );
    const scratch = new Float64Array(3);
    const direct = rankerInputs(
      q,
      ITEMS.map((itemId) => ({
        itemId,
        features: itemFeaturesAt(views.get(itemId), T0, catalog.get(itemId), scratch, country),
      })),
      vocab,
      user,
    );
    assert.deepEqual(encoded, direct, `country ${country}`);
  }
});

/** Rows kept for `ttlMs` over the test's item views, with every read they make recorded. */
function recordingRows(ttlMs: number): { rows: ItemRows; reads: string[][] } {
  const views = itemViews();
  const reads: string[][] = [];
  const rows = new ItemRows(
    async (ids) => {
      reads.push([...ids]);
      return ids.map((id) => views.get(id));
    },
    catalog,
    ttlMs,
  );
  return { rows, reads };
}

test('a row is read once per ttl of request time, again for an earlier request, and encoded once per model', async () => {
  const { rows, reads } = recordingRows(1000);
  const first = await rows.getMany(['i1', 'i2'], T0);
  assert.deepEqual(await rows.getMany(['i2', 'i1'], T0 + 999), [first[1], first[0]]);
  await rows.getMany(['i1', 'i3'], T0 + 500);
  assert.deepEqual(reads, [['i1', 'i2'], ['i3']]);
  const later = await rows.getMany(['i1', 'i2'], T0 + 1000);
  assert.notEqual(later[0], first[0]);
  assert.equal(later[0]!.ts, T0 + 1000);
  await rows.getMany(['i2'], T0 + 400);
  assert.deepEqual(reads.slice(2), [['i1', 'i2'], ['i2']]);

  const [v1, v2] = [await vocabularies(ITEMS), await vocabularies(['i4', 'i1'])];
  const row = later[0]!;
  assert.equal(row.encodedFor(v1, 'i1'), row.encodedFor(v1, 'i1'));
  assert.equal(row.encodedFor(v1, 'i1').item, 1);
  assert.equal(row.encodedFor(v2, 'i1').item, 2);
});

test("models that take turns on a row, as an experiment's variants do, each keep their encoded ids", async () => {
  const { rows } = recordingRows(1000);
  const [row] = await rows.getMany(['i1'], T0);
  const vocabs = await Promise.all(
    [ITEMS, ['i4', 'i1'], ['i1'], ['i9', 'i8', 'i1'], ['i7', 'i1']].map(vocabularies),
  );
  const [a, b] = [row!.encodedFor(vocabs[0]!, 'i1'), row!.encodedFor(vocabs[1]!, 'i1')];
  assert.equal(row!.encodedFor(vocabs[0]!, 'i1'), a, 'the first model encodes once');
  assert.equal(row!.encodedFor(vocabs[1]!, 'i1'), b, 'the second model encodes once');
  for (const vocab of vocabs.slice(2)) row!.encodedFor(vocab, 'i1');
  assert.notEqual(row!.encodedFor(vocabs[0]!, 'i1'), a, 'past four models the oldest is encoded again');
  assert.equal(row!.encodedFor(vocabs[0]!, 'i1').item, a.item);
});

test('a ttl of 0 reads every row on every request', async () => {
  const { rows, reads } = recordingRows(0);
  const first = await rows.getMany(['i1', 'i2'], T0);
  const again = await rows.getMany(['i1', 'i2'], T0);
  assert.deepEqual(reads, [
    ['i1', 'i2'],
    ['i1', 'i2'],
  ]);
  assert.notEqual(again[0], first[0]);
});

test('a row read again keeps its encoded ids while its catalog entry is the same, and encodes again once it changed', async () => {
  const views = itemViews();
  const changing = new Map(catalog);
  const rows = new ItemRows(async (ids) => ids.map((id) => views.get(id)), changing, 1000);
  const vocab = await vocabularies(ITEMS);
  const first = (await rows.getMany(['i2'], T0))[0]!.encodedFor(vocab, 'i2');
  const reread = (await rows.getMany(['i2'], T0 + 1000))[0]!;
  assert.equal(reread.ts, T0 + 1000);
  assert.equal(reread.encodedFor(vocab, 'i2'), first);

  changing.set('i2', catalogItem('i2', { categories: ['kids'], language: 'fr', duration_s: null }));
  const changed = (await rows.getMany(['i2'], T0 + 2000))[0]!.encodedFor(vocab, 'i2');
  assert.notEqual(changed, first);
  assert.deepEqual(changed, encodeRankerItem('i2', { categories: ['kids'], language: 'fr' }, vocab));
});

test("a row is read again once its partition's frontier moved, and kept while it has not", async () => {
  const { rows, reads } = recordingRows(1000);
  const partitions = 2;
  const [p1, p2] = ['i1', 'i2'].map((id) => itemPartition(id, partitions));
  const frontiers = [T0 - HOUR, T0 - HOUR];
  const first = await rows.getMany(['i1', 'i2'], T0, frontiers);
  assert.equal(first[0]!.frontier, frontiers[p1!]);
  assert.deepEqual(await rows.getMany(['i1', 'i2'], T0 + 10, frontiers), first, 'same frontiers: kept');
  const moved = [...frontiers];
  moved[p1!] = T0;
  await rows.getMany(['i1', 'i2'], T0 + 20, moved);
  // i1's partition moved; i2 was read again only if it shares that partition.
  assert.deepEqual(reads[1], p1 === p2 ? ['i1', 'i2'] : ['i1']);
  assert.equal(reads.length, 2);
  await rows.getMany(['i1'], T0 + 30, null);
  assert.equal(reads.length, 2, 'frontiers not known: kept by time alone');
});
