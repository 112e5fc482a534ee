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

/** The first `count` interactions of a stream, each copied. */
function interactionsOf(stream: ReturnType<Simulator['stream']>, count: number): Interaction[] {
  const out: Interaction[] = [];
  for (let r = stream.next(); r !== undefined && out.length < count; r = stream.next())
    if (r.topic === 'rec.interactions') out.push({ ...r.value });
  return out;
}

test('a live phase goes on after the span in the same world, at about the live rate', () => {
  const liveRate = 20;
  const sim = new Simulator({ ...OPTIONS, events: 2_000, liveRate });
  const all = interactionsOf(sim.stream(), 2_000 + 2_400);
  assert.equal(all.length, 4_400, 'the stream does not end after the span');
  const history = interactionsOf(new Simulator({ ...OPTIONS, events: 2_000 }).stream(), 2_000);
  assert.deepEqual(
    all.slice(0, 2_000).map((e) => [e.user_id, e.item_id, e.type, e.ts]),
    history.map((e) => [e.user_id, e.item_id, e.type, e.ts]),
    'the span is the same with or without a live phase',
  );
  const live = all.slice(2_000);
  assert.equal(live[0]!.event_id, `${sim.idPrefix}e2000`, 'ids go on');
  for (const e of live) {
    assert.ok(Number(e.user_id.slice(1)) < OPTIONS.users, e.user_id);
    assert.ok(Number(e.item_id.slice(1)) < OPTIONS.items, e.item_id);
  }
  for (let k = 1; k < live.length; k++) assert.ok(live[k]!.ts >= live[k - 1]!.ts, 'in event-time order');
  const seconds = (live.at(-1)!.ts - live[0]!.ts) / 1000;
  const rate = live.length / seconds;
  // The day's rhythm moves the rate around its mean; a stream that never got going would be far below.
  assert.ok(rate > liveRate / 3 && rate < liveRate * 3, `${rate.toFixed(1)} live events/s`);
});

test('a live anchor moves the stream onto the clock: by its shift from the start, by more from its interaction on', () => {
  const options = { ...OPTIONS, events: 1_000, liveRate: 50 };
  const plain = interactionsOf(new Simulator(options).stream(), 1_500);
  const shift = 3_600_000;
  const later = plain[999]!.ts + shift + 86_400_000;
  const anchored = interactionsOf(
    new Simulator(options).stream({ from: 1_200, clock: () => later, shift }),
    1_500,
  );
  assert.deepEqual(
    anchored.map((e) => e.event_id),
    plain.map((e) => e.event_id),
    'the same events',
  );
  for (let k = 0; k < 1_200; k++) assert.equal(anchored[k]!.ts, plain[k]!.ts + shift);
  assert.ok(anchored[1_200]!.ts >= later, 'from the anchor on, at the clock');
  const moved = anchored[1_200]!.ts - plain[1_200]!.ts;
  for (let k = 1_200; k < 1_500; k++) assert.equal(anchored[k]!.ts - plain[k]!.ts, moved);
  // A clock behind the stream never moves it back.
  const early = interactionsOf(new Simulator(options).stream({ from: 1_200, clock: () => 0, shift }), 1_500);
  for (let k = 0; k < 1_500; k++) assert.equal(early[k]!.ts, plain[k]!.ts + shift);
  assert.throws(() => new Simulator(options).stream({ from: 10, clock: Date.now }), /at least 1000/);
});

test("historyEnd is the event time of the span's last interaction", () => {
  const options = { ...OPTIONS, events: 1_000, liveRate: 50 };
  const plain = interactionsOf(new Simulator(options).stream(), 1_000);
  assert.equal(new Simulator(options).historyEnd(), plain.at(-1)!.ts);
});

test('a shifted stream moves every time a record carries: event, update, sign-up and release times', () => {
  const options = { ...OPTIONS, events: 500, liveRate: 50 };
  const shift = 7_200_000;
  const plain = new Simulator(options).stream();
  const moved = new Simulator(options).stream({ from: 500, clock: () => 0, shift });
  for (let n = 0; n < 2_000; n++) {
    const a = structuredClone(plain.next()!);
    const b = moved.next()!;
    assert.equal(b.ts, a.ts + shift);
    if (a.topic === 'rec.interactions') assert.equal((b.value as Interaction).ts, a.value.ts + shift);
    else if (a.topic === 'rec.users') {
      assert.equal((b.value as User).updated_ts, a.value.updated_ts + shift);
      assert.equal((b.value as User).signup_ts, a.value.signup_ts + shift);
    } else {
      assert.equal((b.value as Item).updated_ts, a.value.updated_ts + shift);
      const release = a.value.release_ts;
      assert.equal((b.value as Item).release_ts, release === null ? null : release + shift);
    }
  }
});
