import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HOUR_MS } from '../../features/math/decay.js';
import { USER_VIEW_STORE, type UserView, userViewCodec } from '../../features/views/user-view.js';
import { describeUser } from '../../runtime/observability/user-hash.js';
import type { EnrichedInteraction, Interaction } from '../../schemas/generated/types.js';
import { catalogItem, event, FeaturesHarness, profile, servedList } from '../../test/features.js';

const MIN = 60_000;
const T0 = 1_000 * HOUR_MS;
const DAY_MS = 24 * HOUR_MS;

/** Data records only (watermarks left out). */
function dataOf(records: readonly EnrichedInteraction[]): EnrichedInteraction[] {
  return records.filter((r) => r.interaction !== null);
}

test('each interaction is forwarded with the user features of strictly earlier event times, keyed by item, in event-time order', async () => {
  const h = await FeaturesHarness.create({ latenessMs: MIN });
  try {
    await h.item(catalogItem('i1', { categories: ['drama', 'comedy'] }));
    await h.user(profile('u1', { country: 'BR' }));
    await h.interaction(event('e1', 'u1', 'i1', 'click', T0));
    assert.deepEqual(dataOf(h.takeEnriched()), [], 'held until the watermark passes it');
    await h.interaction(event('e2', 'u1', 'i2', 'view', T0 + 10 * MIN, { value: 0.5 }));
    const [first] = dataOf(h.takeEnriched());
    assert.equal(first!.interaction!.event_id, 'e1');
    assert.equal(first!.late, false);
    assert.equal(first!.user!.event_count, 0, 'nothing before the first interaction');
    assert.equal(first!.user!.country, 'BR');
    await h.interaction(event('e3', 'u1', 'i1', 'like', T0 + 10 * MIN + HOUR_MS));
    const [second] = dataOf(h.takeEnriched());
    assert.equal(second!.interaction!.event_id, 'e2');
    const user = second!.user!;
    assert.equal(user.event_count, 1);
    assert.deepEqual(user.recent_items, [{ item_id: 'i1', type: 'click', ts: T0, watch_fraction: null }]);
    assert.deepEqual(user.category_affinity, { comedy: 0.5, drama: 0.5 });
    assert.equal(user.last_active_ts, T0);
    assert.equal(user.session_count, 1);
    assert.equal(user.session_events, 1);
    assert.equal(user.session_start_ts, T0);
    const click = user.decayed_counts.click!;
    assert.equal(click.total, 1);
    assert.ok(Math.abs(click.hl_1h - 2 ** (-10 / 60)) < 1e-12);
  } finally {
    await h.close();
  }
});

async function runArrivals(arrivals: readonly Interaction[]) {
  const h = await FeaturesHarness.create({ latenessMs: 10 * MIN });
  try {
    await h.item(catalogItem('i1', { categories: ['drama'] }));
    for (const a of arrivals) await h.interaction(a);
    await h.interaction(event('flush', 'u9', 'i9', 'click', T0 + 5 * HOUR_MS));
    const view = await h.driver.store<UserView>(USER_VIEW_STORE).get('u1');
    return { enriched: dataOf(h.takeEnriched()), view: userViewCodec.encode(view!) };
  } finally {
    await h.close();
  }
}

test('out-of-order arrivals within the lateness give the same features and the same view bytes as in-order ones', async () => {
  const events = [
    event('a', 'u1', 'i1', 'impression', T0),
    event('b', 'u1', 'i1', 'click', T0 + 1_000),
    event('c', 'u1', 'i1', 'view', T0 + 1_000, { value: 0.9 }),
    event('d', 'u1', 'i2', 'skip', T0 + 3 * MIN, { watch_ms: 30_000 }),
    event('e', 'u1', 'i1', 'complete', T0 + 8 * MIN),
  ];
  const inOrder = await runArrivals(events);
  const shuffled = await runArrivals([events[3]!, events[1]!, events[4]!, events[0]!, events[2]!]);
  assert.deepEqual(shuffled.enriched, inOrder.enriched);
  assert.deepEqual(shuffled.view, inOrder.view);
  const [, b, c] = inOrder.enriched;
  assert.deepEqual(b!.user, c!.user, 'events of the same millisecond do not see each other');
  assert.equal(b!.user!.event_count, 1);
});

test('an interaction older than the watermark is folded out of order, flagged late, without features', async () => {
  const h = await FeaturesHarness.create({ latenessMs: MIN });
  try {
    await h.interaction(event('e1', 'u1', 'i1', 'click', T0 + HOUR_MS));
    await h.interaction(event('old', 'u1', 'i1', 'like', T0));
    const late = dataOf(h.takeEnriched()).find((r) => r.interaction!.event_id === 'old')!;
    assert.equal(late.late, true);
    assert.equal(late.user, null);
    assert.equal(late.frontier, T0 + HOUR_MS - MIN);
    const view = (await h.driver.store<UserView>(USER_VIEW_STORE).get('u1'))!;
    assert.equal(view.event_count, 1, 'the late like is folded; the click still waits');
    assert.equal(view.ref_ts, T0);
  } finally {
    await h.close();
  }
});

test('a resent event id still waiting is dropped; the view shows waiting interactions for serving', async () => {
  const h = await FeaturesHarness.create({ latenessMs: HOUR_MS });
  try {
    await h.interaction(event('e1', 'u1', 'i1', 'click', T0));
    await h.interaction(event('e1', 'u1', 'i1', 'click', T0));
    await h.interaction(event('e2', 'u1', 'i2', 'view', T0 + MIN, { value: 0.25 }));
    const view = (await h.driver.store<UserView>(USER_VIEW_STORE).get('u1'))!;
    assert.deepEqual(
      view.pending.map((p) => p.event_id),
      ['e1', 'e2'],
    );
    assert.equal(view.event_count, 0);
    await h.interaction(event('e3', 'u1', 'i1', 'click', T0 + 2 * HOUR_MS));
    const released = dataOf(h.takeEnriched()).map((r) => r.interaction!.event_id);
    assert.deepEqual(released, ['e1', 'e2']);
    const after = (await h.driver.store<UserView>(USER_VIEW_STORE).get('u1'))!;
    assert.deepEqual(
      after.pending.map((p) => p.event_id),
      ['e3'],
    );
    assert.equal(after.event_count, 2);
  } finally {
    await h.close();
  }
});

test('watermarks go to every partition and sequence numbers count the interactions sent', async () => {
  const h = await FeaturesHarness.create({
    latenessMs: MIN,
    watermarkIntervalMs: 10 * MIN,
    partitionCount: 3,
    loopBack: false,
  });
  try {
    await h.interaction(event('e1', 'u1', 'i1', 'click', T0));
    await h.interaction(event('e2', 'u1', 'i1', 'click', T0 + 5 * MIN));
    await h.interaction(event('e3', 'u1', 'i1', 'click', T0 + 20 * MIN));
    const sent = h.takeEnrichedWithPartitions();
    const watermarks = sent.filter((s) => s.record.interaction === null);
    assert.deepEqual(
      watermarks.map((w) => [w.partition, w.record.frontier]),
      [
        [0, T0 - MIN],
        [1, T0 - MIN],
        [2, T0 - MIN],
        [0, T0 + 19 * MIN],
        [1, T0 + 19 * MIN],
        [2, T0 + 19 * MIN],
      ],
      'to each partition at the first watermark, then after 10 minutes of progress',
    );
    assert.ok(sent.every((s) => s.record.interaction === null || s.partition === undefined));
    const all = sent.map((s) => s.record);
    assert.deepEqual(
      dataOf(all).map((r) => [r.interaction!.event_id, r.sequence]),
      [
        ['e1', 0],
        ['e2', 1],
      ],
    );
  } finally {
    await h.close();
  }
});

test('opted-out users get no view and no features; their interactions still reach item-features', async () => {
  const h = await FeaturesHarness.create({ latenessMs: MIN });
  try {
    await h.user(profile('u1'));
    await h.interaction(event('e1', 'u1', 'i1', 'click', T0));
    await h.interaction(event('e2', 'u1', 'i1', 'click', T0 + 10 * MIN));
    assert.ok(await h.driver.store<UserView>(USER_VIEW_STORE).get('u1'));
    assert.deepEqual(
      dataOf(h.takeEnriched()).map((r) => [r.interaction!.event_id, r.user === null]),
      [['e1', false]],
    );
    await h.user(profile('u1', { opt_out: true, updated_ts: T0 + 11 * MIN }));
    assert.equal(await h.driver.store<UserView>(USER_VIEW_STORE).get('u1'), undefined, 'purged');
    assert.deepEqual(
      h.takeEnrichedWithPartitions().map((s) => [s.partition, s.record.purged_user_id]),
      [[0, 'u1']],
      'item-features is told to forget the user',
    );
    await h.interaction(event('e3', 'u1', 'i1', 'click', T0 + 20 * MIN));
    await h.interaction(event('e4', 'u2', 'i1', 'click', T0 + 40 * MIN));
    const released = dataOf(h.takeEnriched());
    assert.deepEqual(
      released.map((r) => [r.interaction!.event_id, r.user === null]),
      [
        ['e2', true],
        ['e3', true],
      ],
      'e2 was still waiting when the user opted out',
    );
    assert.equal(await h.driver.store<UserView>(USER_VIEW_STORE).get('u1'), undefined);
    const u2 = await h.driver.store<UserView>(USER_VIEW_STORE).get('u2');
    assert.deepEqual(
      u2?.pending.map((p) => p.event_id),
      ['e4'],
      'only u2 waits',
    );
  } finally {
    await h.close();
  }
});

test('bad interactions are dead-lettered with the reason and processing goes on', async () => {
  const h = await FeaturesHarness.create();
  try {
    await h.interaction(event('e1', 'u1', 'i1', 'click', T0), 'u2');
    await h.interaction(event('e2', 'u1', 'i1', 'rate', T0, { value: null }));
    await h.driver.pipe('rec.interactions', 'u1', null, T0);
    await h.interaction(event('e3', 'u1', 'i1', 'click', T0));
    assert.deepEqual(
      h.driver.deadLetters.map((d) => d.error_message),
      [
        `interaction e1: record key ${describeUser('u2')} is not its user_id ${describeUser('u1')} (rec.interactions is keyed by user)`,
        'interaction e2: a rate event needs a finite value (the rating)',
        'rec.interactions record has no value: an event stream has no tombstones',
      ],
    );
    const view = (await h.driver.store<UserView>(USER_VIEW_STORE).get('u1'))!;
    assert.deepEqual(
      view.pending.map((p) => p.event_id),
      ['e3'],
    );
  } finally {
    await h.close();
  }
});

test('a resent event id a day later in event time is dropped: nothing folded or forwarded twice', async () => {
  const h = await FeaturesHarness.create({ latenessMs: MIN });
  try {
    await h.item(catalogItem('i1', { categories: ['drama'] }));
    await h.interaction(event('e1', 'u1', 'i1', 'click', T0));
    for (let hour = 1; hour <= 24; hour++)
      await h.interaction(event(`other${hour}`, 'u2', 'i2', 'click', T0 + hour * HOUR_MS));
    const before = userViewCodec.encode((await h.driver.store<UserView>(USER_VIEW_STORE).get('u1'))!);
    h.takeEnriched();
    h.examples();
    await h.interaction(event('e1', 'u1', 'i1', 'click', T0));
    await h.interaction(event('e1', 'u1', 'i1', 'click', T0 + DAY_MS, { value: null }));
    await h.interaction(event('u2-next', 'u2', 'i2', 'click', T0 + DAY_MS + HOUR_MS));
    assert.deepEqual(
      dataOf(h.takeEnriched()).map((r) => r.interaction!.event_id),
      ['other24'],
      'only the next interaction of u2 is released',
    );
    assert.deepEqual(
      userViewCodec.encode((await h.driver.store<UserView>(USER_VIEW_STORE).get('u1'))!),
      before,
    );
    assert.deepEqual(
      h.examples().map((e) => e.example_id),
      ['other24'],
    );
  } finally {
    await h.close();
  }
});

test('a copy whose first one was forgotten past the horizon is taken as new: folded, as a late interaction', async () => {
  const h = await FeaturesHarness.create({ latenessMs: MIN, dedupHorizonMs: DAY_MS });
  try {
    await h.interaction(event('e1', 'u1', 'i1', 'click', T0));
    for (let hour = 1; hour <= 24; hour++)
      await h.interaction(event(`other${hour}`, 'u2', 'i2', 'click', T0 + hour * HOUR_MS));
    h.takeEnriched();
    await h.interaction(event('e1', 'u1', 'i1', 'click', T0));
    assert.deepEqual(dataOf(h.takeEnriched()), [], 'a day of stream time later: dropped');
    // Stream time moves into a 50th hour (25 hours kept and a day more): the oldest 25 go, e1's with them.
    for (let hour = 25; hour <= 49; hour++)
      await h.interaction(event(`other${hour}`, 'u2', 'i2', 'click', T0 + hour * HOUR_MS));
    h.takeEnriched();
    await h.interaction(event('e1', 'u1', 'i1', 'click', T0));
    const [again] = dataOf(h.takeEnriched());
    assert.equal(again?.interaction?.event_id, 'e1');
    assert.equal(again?.late, true);
    assert.equal((await h.driver.store<UserView>(USER_VIEW_STORE).get('u1'))?.event_count, 2);
  } finally {
    await h.close();
  }
});

test('a served list sent again after its exposures were released exposes nothing more', async () => {
  const h = await FeaturesHarness.create({ latenessMs: MIN });
  try {
    await h.interaction(event('e1', 'u1', 'i1', 'click', T0));
    await h.served(servedList('r1', 'u1', ['i1', 'i2'], T0 + MIN));
    await h.interaction(event('e2', 'u1', 'i1', 'click', T0 + HOUR_MS));
    const exposures = () => dataOf(h.takeEnriched()).filter((r) => r.served !== null).length;
    assert.equal(exposures(), 2);
    await h.served(servedList('r1', 'u1', ['i1', 'i2'], T0 + HOUR_MS));
    await h.interaction(event('e3', 'u1', 'i1', 'click', T0 + 2 * HOUR_MS));
    assert.equal(exposures(), 0);
  } finally {
    await h.close();
  }
});
