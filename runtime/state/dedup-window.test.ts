import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CachedStore } from './cached-store.js';
import {
  DEDUP_DROP_SLACK_SEGMENTS,
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

test('past the horizon of stream time an id is forgotten, a day of segments at a time, and the store stops growing', async () => {
  const { store, seen } = window(DAY_MS);
  await hourly(seen, 'a', T0, 24);
  // 25 segments kept (24 h and the current one), and a day's more before the oldest go.
  await hourly(seen, 'b', T0 + DAY_MS, 1 + DEDUP_DROP_SLACK_SEGMENTS);
  assert.equal(await seen.firstSeen('a0', T0), false, 'within the horizon and its slack');
  await hourly(seen, 'c', T0 + 2 * DAY_MS + HOUR_MS, 1);
  assert.equal(await seen.takenAt('a0'), undefined, 'the 50th segment deletes the 25 oldest at once');
  assert.equal(await seen.takenAt('b0'), undefined);
  assert.equal(await seen.takenAt('b1'), T0 + DAY_MS + HOUR_MS, 'the newest 25 segments are kept');
  const sizes: number[] = [];
  for (let hour = 0; hour < 7 * 24; hour++) {
    await hourly(seen, `d${hour}-`, T0 + 3 * DAY_MS + hour * HOUR_MS, 1);
    sizes.push((await keys(store)).length);
  }
  // meta, an id key per id, a chunk key per segment, one id per segment: from 25 segments after a
  // deletion to 49 before the next, every day alike.
  assert.equal(Math.min(...sizes), 1 + 2 * 25);
  assert.equal(Math.max(...sizes), 1 + 2 * (25 + DEDUP_DROP_SLACK_SEGMENTS));
  assert.equal(Math.max(...sizes.slice(-48)), Math.max(...sizes.slice(0, 48)), 'the store stops growing');
  assert.equal(await seen.firstSeen('a0', T0), true, 'forgotten: taken as new, filed at stream time');
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
  await hourly(seen, 'd', T0 + 366 * DAY_MS, 27);
  assert.equal(await seen.firstSeen('early', T0), false, '49 segments hold ids: 25 kept and a day more');
  await hourly(seen, 'e', T0 + 368 * DAY_MS, 1);
  assert.equal(await seen.firstSeen('early', T0), true, 'past them, the oldest go');
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
  // Two segments kept (an hour and the current one) and a day more: the 27th deletes all but two.
  await hourly(reopened, 'n', T0 + HOUR_MS, 2 + DEDUP_DROP_SLACK_SEGMENTS);
  assert.deepEqual(await keys(store), [
    'id/n24',
    'id/n25',
    'meta',
    `seg/${segment(25)}/0000`,
    `seg/${segment(26)}/0000`,
  ]);
  assert.deepEqual(await store.get(`seg/${segment(25)}/0000`), ['n24']);
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
