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

test('a failed record whose writes are rolled back leaves no id behind: the next copy is taken', async () => {
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
