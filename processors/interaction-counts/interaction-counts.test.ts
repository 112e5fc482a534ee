import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EVENT_IDS_STORE } from '../../features/math/interactions.js';
import { TopologyTestDriver } from '../../runtime/processor/test-driver.js';
import { TopologyBuilder } from '../../runtime/processor/topology.js';
import { DEDUP_STORE_CACHE_ENTRIES, dedupCodec } from '../../runtime/state/dedup-window.js';
import {
  type CountedInteraction,
  INTERACTION_COUNTS_STORE,
  InteractionCounts,
  type InteractionCountsValue,
  interactionCountsCodec,
} from './interaction-counts.js';

const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;
const json = { deserialize: (b: Buffer) => JSON.parse(b.toString()) as CountedInteraction };
const topology = new TopologyBuilder('counts-test')
  .addSource('in', ['rec.interactions'], json)
  .addProcessor('interaction-counts', () => new InteractionCounts({ dedupHorizonMs: WEEK_MS }), ['in'])
  .addStore({ name: INTERACTION_COUNTS_STORE, codec: interactionCountsCodec }, ['interaction-counts'])
  .addStore({ name: EVENT_IDS_STORE, codec: dedupCodec, cacheEntries: DEDUP_STORE_CACHE_ENTRIES }, [
    'interaction-counts',
  ])
  .build();

let lastId = 0;
const event = (user_id: string, type: string, ts: number, event_id = `e${++lastId}`) =>
  Buffer.from(JSON.stringify({ event_id, user_id, type, ts }));

test('counts interactions per user and type, keeping the latest event time', async () => {
  const driver = await TopologyTestDriver.create(topology);
  await driver.pipe('rec.interactions', 'u1', event('u1', 'click', 20), 20);
  await driver.pipe('rec.interactions', 'u1', event('u1', 'view', 10), 10);
  await driver.pipe('rec.interactions', 'u1', event('u1', 'click', 30), 30);
  await driver.pipe('rec.interactions', 'u2', event('u2', 'skip', 5), 5);
  await driver.pipe('rec.interactions', 'u2', null, 6);
  const store = driver.store<InteractionCountsValue>(INTERACTION_COUNTS_STORE);
  assert.deepEqual(await store.get('u1'), { total: 3, by_type: { click: 2, view: 1 }, last_ts: 30 });
  assert.deepEqual(await store.get('u2'), { total: 1, by_type: { skip: 1 }, last_ts: 5 });
});

test('the codec is byte-stable whatever order types were first seen in, and round-trips', () => {
  const a = interactionCountsCodec.encode({ total: 3, by_type: { view: 1, click: 2 }, last_ts: 99 });
  const b = interactionCountsCodec.encode({ total: 3, by_type: { click: 2, view: 1 }, last_ts: 99 });
  assert.deepEqual(a, b);
  assert.deepEqual(interactionCountsCodec.decode(a), {
    total: 3,
    by_type: { view: 1, click: 2 },
    last_ts: 99,
  });
  assert.throws(
    () => interactionCountsCodec.encode({ total: 1, by_type: { poke: 1 }, last_ts: 0 }),
    /interaction type "poke"/,
  );
  assert.throws(() => interactionCountsCodec.decode(Buffer.alloc(3)), /3 bytes, expected 56/);
});

test('an event id seen a day earlier in event time counts nothing; one forgotten past the horizon counts again', async () => {
  const driver = await TopologyTestDriver.create(topology);
  const T0 = Date.UTC(2026, 0, 5);
  const HOUR_MS = DAY_MS / 24;
  await driver.pipe('rec.interactions', 'u1', event('u1', 'click', T0, 'dup'), T0);
  for (let hour = 1; hour <= 24; hour++) {
    const ts = T0 + hour * HOUR_MS;
    await driver.pipe('rec.interactions', 'u2', event('u2', 'view', ts), ts);
  }
  await driver.pipe('rec.interactions', 'u1', event('u1', 'click', T0, 'dup'), T0 + DAY_MS);
  const store = driver.store<InteractionCountsValue>(INTERACTION_COUNTS_STORE);
  assert.deepEqual(await store.get('u1'), { total: 1, by_type: { click: 1 }, last_ts: T0 });
  // Eight days of hourly events: the hour `dup` was filed in falls out of the 7-day horizon and the
  // day of segments the window keeps past it.
  for (let hour = 25; hour <= 8 * 24 + 1; hour++) {
    const ts = T0 + hour * HOUR_MS;
    await driver.pipe('rec.interactions', 'u2', event('u2', 'view', ts), ts);
  }
  await driver.pipe('rec.interactions', 'u1', event('u1', 'click', T0, 'dup'), T0 + 9 * DAY_MS);
  assert.deepEqual(await store.get('u1'), { total: 2, by_type: { click: 2 }, last_ts: T0 });
  assert.equal((await store.get('u2'))?.total, 8 * 24 + 1);
});
