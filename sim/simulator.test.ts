import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  INTERACTION_TYPE_SYMBOLS,
  type Interaction,
  type Item,
  type User,
} from '../schemas/generated/types.js';
import { COMPLETE_FRACTION, SKIP_FRACTION } from './behaviour.js';
import type { SimRecord } from './event-stream.js';
import { Simulator } from './simulator.js';

const OPTIONS = { seed: 11, users: 800, items: 300, events: 40_000, days: 14 };

function collect(sim: Simulator): SimRecord[] {
  return [...sim.records()];
}

const records = collect(new Simulator(OPTIONS));
const interactions = records.filter((r) => r.topic === 'rec.interactions').map((r) => r.value as Interaction);
const items = records.filter((r) => r.topic === 'rec.items').map((r) => r.value as Item);
const users = records.filter((r) => r.topic === 'rec.users').map((r) => r.value as User);

test('writes exactly the events asked for, and a record for every user and item', () => {
  assert.equal(interactions.length, OPTIONS.events);
  assert.deepEqual(
    new Set(users.map((u) => u.user_id)),
    new Set(Array.from({ length: OPTIONS.users }, (_, i) => `u${i}`)),
  );
  assert.deepEqual(
    new Set(items.map((i) => i.item_id)),
    new Set(Array.from({ length: OPTIONS.items }, (_, i) => `i${i}`)),
  );
  const ids = new Set(interactions.map((e) => e.event_id));
  assert.equal(ids.size, interactions.length, 'event ids are unique');
});

test('records come out in event-time order, keyed by user or item id', () => {
  for (let i = 1; i < records.length; i++)
    assert.ok(records[i]!.ts >= records[i - 1]!.ts, `record ${i} goes back in time`);
  for (const r of records) {
    if (r.topic === 'rec.interactions') assert.equal(r.key, r.value.user_id);
    else if (r.topic === 'rec.items') assert.equal(r.key, r.value.item_id);
    else assert.equal(r.key, r.value.user_id);
    assert.equal(r.ts, r.topic === 'rec.interactions' ? r.value.ts : r.value.updated_ts);
  }
});

test('new users and items act only after their record; retired items are not shown again', () => {
  const firstSeen = new Map<string, number>();
  const retiredAt = new Map<string, number>();
  let released = 0;
  let signedUp = 0;
  let retired = 0;
  for (const r of records) {
    if (r.topic === 'rec.users') {
      firstSeen.set(r.key, r.ts);
      if (r.ts > records[0]!.ts) signedUp++;
    } else if (r.topic === 'rec.items') {
      if (!r.value.available) {
        retiredAt.set(r.key, r.ts);
        retired++;
      } else {
        if (firstSeen.has(r.key)) assert.fail(`${r.key} released twice`);
        firstSeen.set(r.key, r.ts);
        if (r.ts > records[0]!.ts) released++;
      }
    } else {
      const e = r.value;
      assert.ok(firstSeen.has(e.user_id), `${e.user_id} acts before their user record`);
      assert.ok(firstSeen.has(e.item_id), `${e.item_id} is used before its item record`);
      if (e.type === 'impression') {
        const gone = retiredAt.get(e.item_id);
        assert.ok(gone === undefined || e.ts < gone, `${e.item_id} shown after it went unavailable`);
      }
    }
  }
  assert.ok(released > 0, 'items are released during the span');
  assert.ok(signedUp > 0, 'users sign up during the span');
  assert.ok(retired > 0, 'items go unavailable during the span');
});

test('every interaction type occurs, each with the value and watch time its schema doc promises', () => {
  const seen = new Set(interactions.map((e) => e.type));
  assert.deepEqual([...seen].sort(), [...INTERACTION_TYPE_SYMBOLS].sort());
  for (const e of interactions) {
    switch (e.type) {
      case 'view':
        assert.ok(e.value !== null && e.value >= 0 && e.value <= 1 && e.watch_ms !== null && e.watch_ms > 0);
        break;
      case 'complete':
        assert.ok(e.value !== null && e.value >= COMPLETE_FRACTION && e.watch_ms !== null);
        break;
      case 'skip':
        assert.ok(e.value === null && e.watch_ms !== null);
        break;
      case 'rate':
        assert.ok(e.value !== null && Number.isInteger(e.value) && e.value >= 1 && e.value <= 5);
        break;
      default:
        assert.equal(e.value, null, `${e.type} carries no value`);
        assert.equal(e.watch_ms, null, `${e.type} carries no watch time`);
    }
    assert.ok(e.context.session_id?.startsWith('sim-'));
    assert.ok(['home', 'search', 'detail', 'autoplay'].includes(e.context.surface ?? ''));
  }
});

test('complete and skip follow the view they close, by its watched fraction', () => {
  const views = new Map(
    interactions
      .filter((e) => e.type === 'view')
      .map((e) => [`${e.context.session_id}/${e.item_id}/${e.ts}`, e]),
  );
  for (const e of interactions.filter((x) => x.type === 'complete' || x.type === 'skip')) {
    const view = views.get(`${e.context.session_id}/${e.item_id}/${e.ts - 1}`);
    assert.ok(view, `${e.type} ${e.event_id} has no view just before it`);
    if (e.type === 'complete') assert.ok(view.value! >= COMPLETE_FRACTION);
    else assert.ok(view.value! < SKIP_FRACTION);
    assert.equal(e.watch_ms, view.watch_ms);
  }
});

test('watch time is the watched fraction of the item duration', () => {
  const duration = new Map(items.map((i) => [i.item_id, i.duration_s!]));
  for (const e of interactions.filter((x) => x.type === 'view')) {
    const expected = Math.max(1000, Math.round(e.value! * duration.get(e.item_id)! * 1000));
    assert.equal(e.watch_ms, expected);
  }
});

test('the same options give the same records; another seed gives others', () => {
  const again = collect(new Simulator(OPTIONS));
  assert.deepEqual(again, records);
  const other = collect(new Simulator({ ...OPTIONS, seed: 12 }));
  assert.notDeepEqual(
    other.filter((r) => r.topic === 'rec.interactions').slice(0, 100),
    records.filter((r) => r.topic === 'rec.interactions').slice(0, 100),
  );
});

test('event ids are derived from all the options, so runs with other options never collide', () => {
  const a = new Simulator(OPTIONS).idPrefix;
  assert.equal(new Simulator(OPTIONS).idPrefix, a);
  assert.notEqual(new Simulator({ ...OPTIONS, events: OPTIONS.events + 1 }).idPrefix, a);
  assert.match(interactions[0]!.event_id, /^sim-[0-9a-f]{8}-e0$/);
});

test('events spread over the requested span', () => {
  const first = interactions[0]!.ts;
  const last = interactions[interactions.length - 1]!.ts;
  const days = (last - first) / 86_400_000;
  assert.ok(days > OPTIONS.days * 0.8 && days < OPTIONS.days * 1.25, `events span ${days.toFixed(1)} days`);
});

test('streaming options stop at the event count without draining future changes', () => {
  const start = Date.UTC(2025, 2, 1);
  const sim = new Simulator({ ...OPTIONS, events: 500, rate: 50, start });
  const out = collect(sim);
  assert.equal(out.filter((r) => r.topic === 'rec.interactions').length, 500);
  const last = out[out.length - 1]!;
  assert.equal(last.topic, 'rec.interactions');
  // 500 events at 50/s of event time: about ten seconds (the daily rhythm stretches or squeezes it).
  assert.ok(
    last.ts - start < 5 * 60_000,
    `500 events at 50/s took ${(last.ts - start) / 1000} s of event time`,
  );
});
