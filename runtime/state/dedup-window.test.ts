import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CachedStore } from './cached-store.js';
import {
  DEDUP_SEGMENT_MS,
  DEDUP_STORE_CACHE_ENTRIES,
  type DedupValue,
  DedupWindow,
  dedupCodec,
} from './dedup-window.js';
import { MemoryEngine } from './memory/memory-engine.js';
import type { KeyValueStore } from './store.js';

const HOUR_MS = DEDUP_SEGMENT_MS;
const DAY_MS = 24 * HOUR_MS;
const T0 = Date.UTC(2026, 0, 5);

function window(horizonMs = 7 * DAY_MS) {
  const store = new CachedStore<DedupValue>(
    'event-ids',
    new MemoryEngine(),
    dedupCodec,
    DEDUP_STORE_CACHE_ENTRIES,
    0,
  );
  return { store, seen: new DedupWindow(store, { horizonMs }) };
}

async function keys(store: CachedStore<DedupValue>): Promise<string[]> {
  const out: string[] = [];
  for await (const [key] of store.range()) out.push(key);
  return out;
}

/** One new id an hour from `from` (inclusive) for `hours` hours: stream time moves through every segment. */
async function hourly(seen: DedupWindow, prefix: string, from: number, hours: number): Promise<void> {
  for (let h = 0; h < hours; h++) assert.ok(await seen.firstSeen(`${prefix}${h}`, from + h * HOUR_MS));
}

test('an id is remembered a day of stream time later, and its duplicates counted', async () => {
  const { store, seen } = window();
  assert.equal(await seen.firstSeen('e1', T0), true);
  await hourly(seen, 'x', T0 + HOUR_MS, 24);
  assert.equal(await seen.firstSeen('e1', T0), false);
  assert.equal(await seen.firstSeen('e1', T0 + DAY_MS), false, 'the id decides, not the event time');
  assert.equal(await seen.takenAt('e1'), T0);
  assert.deepEqual(await store.get('meta'), {
    duplicates: 2,
    chunks: 1,
    segments: Array.from({ length: 25 }, (_, h) => T0 / HOUR_MS + h),
  });
});

test('past the horizon of stream time an id is forgotten: its segment is deleted whole, and the store stops growing', async () => {
  const { store, seen } = window(DAY_MS);
  await hourly(seen, 'a', T0, 24);
  assert.equal(await seen.firstSeen('a0', T0), false, 'within the horizon');
  // 25 segments kept (24 h and the current one): the second of the next two hours pushes out a0's.
  await hourly(seen, 'b', T0 + DAY_MS, 2);
  assert.equal(await seen.takenAt('a0'), undefined);
  assert.equal(await seen.firstSeen('a0', T0), true, 'forgotten: taken as new, filed at stream time');
  assert.equal(await seen.firstSeen('a2', T0 + 2 * HOUR_MS), false, 'the next segment is still kept');
  const sizes: number[] = [];
  for (let day = 2; day < 9; day++) {
    await hourly(seen, `d${day}-`, T0 + day * DAY_MS, 24);
    sizes.push((await keys(store)).length);
  }
  // meta, an id key per id, a chunk key per segment. Day 2 still keeps the hour that holds a0 and b1;
  // from then on, 25 segments of one id each.
  assert.deepEqual(sizes, [52, 51, 51, 51, 51, 51, 51]);
});

test('an event far older than stream time is remembered from its arrival (a re-imported file)', async () => {
  const { seen } = window();
  await hourly(seen, 'live', T0 + 60 * DAY_MS, 3);
  assert.equal(await seen.firstSeen('old', T0), true);
  await hourly(seen, 'later', T0 + 61 * DAY_MS, 48);
  assert.equal(await seen.firstSeen('old', T0), false);
});

test('stream time skipping ahead keeps what was taken: the window counts segments that hold ids', async () => {
  const { seen } = window(DAY_MS);
  assert.equal(await seen.firstSeen('early', T0), true);
  assert.equal(await seen.firstSeen('wrong-clock', T0 + 365 * DAY_MS), true);
  await hourly(seen, 'c', T0 + 365 * DAY_MS + HOUR_MS, 20);
  assert.equal(await seen.firstSeen('early', T0), false, '22 segments hold ids: all kept');
  await hourly(seen, 'd', T0 + 366 * DAY_MS, 5);
  assert.equal(await seen.firstSeen('early', T0), true, 'past 25 segments holding ids, the oldest go');
});

test('a segment of many chunks is deleted whole; a new window over the store goes on where it was', async () => {
  const { store, seen } = window(HOUR_MS);
  for (let i = 0; i < 9000; i++) assert.ok(await seen.firstSeen(`bulk${i}`, T0 + i));
  const segment = (hour: number) => (T0 / HOUR_MS + hour).toString(16).padStart(12, '0');
  assert.equal((await keys(store)).filter((k) => k.startsWith(`seg/${segment(0)}/`)).length, 18);
  const reopened = new DedupWindow(store, { horizonMs: HOUR_MS });
  await reopened.load();
  assert.equal(await reopened.firstSeen('bulk8999', T0), false);
  assert.ok(await reopened.firstSeen('bulk9000', T0 + 9000));
  await hourly(reopened, 'n', T0 + HOUR_MS, 2);
  assert.deepEqual(await keys(store), [
    'id/n0',
    'id/n1',
    'meta',
    `seg/${segment(1)}/0000`,
    `seg/${segment(2)}/0000`,
  ]);
  assert.deepEqual(await store.get(`seg/${segment(1)}/0000`), ['n0']);
});

/** A store that counts the reads of `id/` keys, the reads the window's filter spares. */
function countingReads(store: CachedStore<DedupValue>): {
  store: KeyValueStore<DedupValue>;
  reads: () => number;
} {
  let reads = 0;
  const counting: KeyValueStore<DedupValue> = {
    name: store.name,
    get: (key) => {
      if (key.startsWith('id/')) reads++;
      return store.get(key);
    },
    put: (key, value) => store.put(key, value),
    delete: (key) => store.delete(key),
    range: (range) => store.range(range),
    approximateCount: () => store.approximateCount(),
  };
  return { store: counting, reads: () => reads };
}

test('a new id is taken without reading the store; a copy, a forgotten id and a false positive are read and the store decides', async () => {
  const { store } = window();
  const { store: counted, reads } = countingReads(store);
  const seen = new DedupWindow(counted, { horizonMs: HOUR_MS });
  await seen.load();
  for (let i = 0; i < 1000; i++) assert.ok(await seen.firstSeen(`e${i}`, T0));
  assert.equal(reads(), 0, 'new ids: the filter answers');
  assert.equal(await seen.firstSeen('e7', T0), false);
  assert.equal(reads(), 1, 'a copy: the filter says maybe, the store says taken');
  // Filled near the ids it was sized for, the filter says maybe to about 1 in 120 ids never taken.
  for (let i = 1000; i < 16_000; i++) assert.ok(await seen.firstSeen(`e${i}`, T0));
  for (let i = 0; i < 2000; i++) assert.ok(await seen.firstSeen(`other${i}`, T0), `other${i} is new`);
  const falsePositives = reads() - 1;
  assert.ok(falsePositives > 0 && falsePositives < 180, `${falsePositives} false positives, each read`);
  await hourly(seen, 'later', T0 + HOUR_MS, 2);
  const before = reads();
  assert.equal(await seen.firstSeen('e7', T0), true, 'forgotten: still in the filter, gone from the store');
  assert.equal(reads(), before + 1);
});

test('the filter is built again once full, and by a window opened over the store: no id taken is ever taken twice', async () => {
  const { store, seen } = window();
  await seen.load();
  for (let i = 0; i < 40_000; i++) assert.ok(await seen.firstSeen(`id${i}`, T0 + i));
  for (let i = 0; i < 40_000; i += 7) assert.equal(await seen.firstSeen(`id${i}`, T0), false, `id${i}`);
  const reopened = new DedupWindow(store, { horizonMs: 7 * DAY_MS });
  await reopened.load();
  for (let i = 0; i < 40_000; i += 7) assert.equal(await reopened.firstSeen(`id${i}`, T0), false, `id${i}`);
  assert.equal(await reopened.takenAt('id39999'), T0 + 39_999);
  assert.equal(await reopened.takenAt('never'), undefined);
});

test('a failed record whose writes are rolled back leaves its id in the filter only: the next copy is taken', async () => {
  const { store, seen } = window();
  await seen.load();
  assert.ok(await seen.firstSeen('kept', T0));
  store.beginRecord();
  assert.ok(await seen.firstSeen('failed', T0));
  store.rollbackRecord();
  assert.equal(await seen.takenAt('failed'), undefined);
  assert.equal(await seen.firstSeen('failed', T0), true);
  assert.equal(await seen.firstSeen('failed', T0), false);
  assert.equal(await seen.firstSeen('kept', T0), false);
});

test('a window not loaded yet has no filter: it reads every id, so ids already in the store are still copies', async () => {
  const { store, seen } = window();
  await seen.load();
  assert.ok(await seen.firstSeen('before', T0));
  const { store: counted, reads } = countingReads(store);
  const unloaded = new DedupWindow(counted, { horizonMs: 7 * DAY_MS });
  assert.equal(await unloaded.firstSeen('before', T0), false);
  assert.equal(await unloaded.firstSeen('after', T0), true);
  assert.equal(reads(), 2);
});
