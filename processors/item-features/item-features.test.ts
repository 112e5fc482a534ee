import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HOUR_MS } from '../../features/math/decay.js';
import { ITEM_FRONTIER_STORE, itemFrontierKeys } from '../../features/views/item-frontier.js';
import { ITEM_VIEW_STORE, type ItemView, itemViewCodec } from '../../features/views/item-view.js';
import { featuresAt } from '../../features/views/user-view.js';
import type { EnrichedInteraction, Interaction, TrainingExample } from '../../schemas/generated/types.js';
import { catalogItem, event, FeaturesHarness, profile } from '../../test/features.js';

const MIN = 60_000;
const T0 = 1_000 * HOUR_MS;

function summary(examples: readonly TrainingExample[]) {
  return examples.map((e) => [e.example_id, e.labels.label, e.labels.clicked, e.labels.click_delay_ms]);
}

test('every released interaction gives an example with the item features of strictly earlier times', async () => {
  const h = await FeaturesHarness.create({ latenessMs: MIN, labelWindowMs: 10 * MIN });
  try {
    await h.item(catalogItem('i1', { categories: ['drama'], duration_s: 200, updated_ts: T0 - HOUR_MS }));
    await h.item(catalogItem('i1', { categories: ['comedy'], duration_s: 200, updated_ts: T0 + 30 * MIN }));
    await h.user(profile('u1'));
    await h.user(profile('u2', { country: 'DE' }));
    await h.interaction(event('e1', 'u1', 'i1', 'view', T0, { watch_ms: 100_000 }));
    await h.interaction(event('e2', 'u2', 'i1', 'rate', T0 + 40 * MIN, { value: 3 }));
    await h.interaction(event('e3', 'u1', 'i1', 'complete', T0 + 2 * HOUR_MS));
    await h.interaction(event('flush', 'u3', 'i9', 'click', T0 + 5 * HOUR_MS));
    const [first, second, third] = h.examples();
    assert.equal(first!.example_id, 'e1');
    assert.deepEqual(first!.item.categories, ['drama'], 'catalog as of the event, not the later change');
    assert.equal(first!.labels.watch_fraction, 0.5, 'watch_ms over the catalog duration');
    assert.equal(first!.labels.label, 0.5);
    assert.equal(first!.item.popularity.total, 0);
    assert.equal(first!.item.last_interaction_ts, null);
    assert.equal(second!.example_id, 'e2');
    assert.deepEqual(second!.item.categories, ['comedy']);
    assert.equal(second!.user.country, 'DE');
    assert.equal(second!.labels.rating, 3);
    assert.equal(second!.labels.label, 0.6);
    assert.equal(second!.item.popularity.total, 1);
    assert.ok(Math.abs(second!.item.popularity.hl_1h - 2 ** (-40 / 60)) < 1e-12);
    assert.deepEqual(Object.keys(second!.item.popularity_by_country), ['PT']);
    assert.equal(second!.item.unique_users_estimate, 1);
    assert.equal(third!.item.mean_rating, 3);
    assert.equal(third!.item.unique_users_estimate, 2);
    assert.equal(third!.item.completion_rate, (0 + 1) / (1 + 2));
    assert.equal(third!.user.event_count, 1, "u1's own earlier view");
  } finally {
    await h.close();
  }
});

test('an impression is labelled clicked by the same user’s next click-through within the window, else negative when the window passes', async () => {
  const h = await FeaturesHarness.create({ latenessMs: MIN, labelWindowMs: 10 * MIN });
  try {
    await h.interaction(event('imp1', 'u1', 'i1', 'impression', T0));
    await h.interaction(event('imp2', 'u1', 'i1', 'impression', T0 + MIN));
    await h.interaction(event('other', 'u2', 'i1', 'click', T0 + 2 * MIN));
    await h.interaction(event('clk', 'u1', 'i1', 'click', T0 + 3 * MIN));
    await h.interaction(event('imp3', 'u1', 'i2', 'impression', T0 + 4 * MIN));
    await h.interaction(event('late-click', 'u1', 'i2', 'click', T0 + 15 * MIN));
    await h.interaction(event('flush', 'u3', 'i9', 'click', T0 + HOUR_MS));
    assert.deepEqual(
      summary(h.examples()).filter(([id]) => id !== 'flush'),
      [
        ['other', 1, null, null],
        ['imp2', 1, true, 2 * MIN],
        ['clk', 1, null, null],
        ['imp1', 0, false, null],
        ['imp3', 0, false, null],
        ['late-click', 1, null, null],
      ],
      "u2's click is not u1's; the click joins the latest impression before it; imp3's click came after the window",
    );
  } finally {
    await h.close();
  }
});

const noUser = featuresAt(undefined, 0, undefined);

function enriched(
  partition: number,
  sequence: number,
  interaction: Interaction | null,
  frontier: number,
  late = false,
): EnrichedInteraction {
  return {
    interaction,
    user: interaction ? noUser : null,
    source_partition: partition,
    sequence,
    frontier,
    late,
    purged_user_id: null,
    served: null,
  };
}

async function merge(records: readonly EnrichedInteraction[]) {
  const h = await FeaturesHarness.create({ partitionCount: 2, labelWindowMs: 10 * MIN });
  try {
    for (const r of records) await h.enriched(r);
    const view = await h.driver.store<ItemView>(ITEM_VIEW_STORE).get('i1');
    return {
      examples: h.examples(),
      view: view && itemViewCodec.encode(view),
      letters: h.driver.deadLetters,
    };
  } finally {
    await h.close();
  }
}

test('the upstream streams are merged in event-time order, so any interleaving gives the same views and examples', async () => {
  const p0 = [
    enriched(0, 0, event('a', 'u0', 'i1', 'click', T0), T0 + 1),
    enriched(0, 1, event('c', 'u0', 'i1', 'view', T0 + 2 * MIN, { value: 0.3 }), T0 + 3 * MIN),
    enriched(0, 1, null, T0 + 10 * MIN),
  ];
  const p1 = [
    enriched(1, 0, event('b', 'u1', 'i1', 'like', T0 + MIN), T0 + 2 * MIN),
    enriched(1, 1, event('d', 'u1', 'i1', 'share', T0 + 3 * MIN), T0 + 4 * MIN),
    enriched(1, 2, event('x', 'u1', 'i1', 'dislike', T0 - 5 * MIN), T0 + 5 * MIN, true),
    enriched(1, 2, null, T0 + 10 * MIN),
  ];
  const one = await merge([...p0, ...p1]);
  const other = await merge([p1[0]!, p0[0]!, p1[1]!, p1[2]!, p0[1]!, p1[3]!, p0[2]!]);
  assert.deepEqual(
    one.examples.map((e) => e.example_id),
    ['a', 'b', 'c', 'd'],
  );
  assert.deepEqual(other.examples, one.examples);
  assert.deepEqual(other.view, one.view);
  assert.deepEqual(
    one.examples.map((e) => e.item.popularity.total),
    [0, 1, 2, 3],
  );

  // A task that restarted sends part of its stream again: the repeats are dropped.
  const again = await merge([...p0, p1[0]!, p1[1]!, p1[0]!, p1[1]!, p1[2]!, p1[3]!]);
  assert.deepEqual(again.view, one.view);
  assert.deepEqual(again.examples, one.examples);
});

test('nothing is released until every upstream task has a watermark; a record from an unknown partition is dead-lettered', async () => {
  const waiting = await merge([enriched(0, 0, event('a', 'u0', 'i1', 'click', T0), T0 + HOUR_MS)]);
  assert.deepEqual(waiting.examples, []);
  assert.equal(waiting.view, undefined);
  const bad = await merge([enriched(7, 0, event('a', 'u0', 'i1', 'click', T0), T0 + 1)]);
  assert.match(
    bad.letters[0]!.error_message,
    /enriched record from partition 7, but the topic has 2 partitions/,
  );
});

test('an opt-out drops the user’s waiting impressions at once: no example of theirs comes out afterwards', async () => {
  const h = await FeaturesHarness.create({ latenessMs: MIN, labelWindowMs: 10 * MIN });
  try {
    await h.user(profile('u1'));
    await h.interaction(event('imp', 'u1', 'i1', 'impression', T0));
    await h.interaction(event('other', 'u2', 'i9', 'click', T0 + 5 * MIN));
    assert.deepEqual(h.examples(), [], 'the impression waits for its label');
    await h.user(profile('u1', { opt_out: true, updated_ts: T0 + 6 * MIN }));
    await h.interaction(event('flush', 'u2', 'i9', 'click', T0 + HOUR_MS));
    assert.deepEqual(
      h.examples().map((x) => x.example_id),
      ['other'],
    );
    const view = (await h.driver.store<ItemView>(ITEM_VIEW_STORE).get('i1'))!;
    assert.equal(view.impressions, 1, 'the item still counts it');
  } finally {
    await h.close();
  }
});

test('a purge notice takes the features off the user’s records still waiting for the merge', async () => {
  const result = await merge([
    enriched(0, 0, event('a', 'u0', 'i1', 'click', T0), T0),
    enriched(0, 1, event('b', 'u5', 'i1', 'click', T0 + 1), T0 + 1),
    { ...enriched(0, 1, null, 0), purged_user_id: 'u0' },
    enriched(0, 1, null, T0 + HOUR_MS),
    enriched(1, -1, null, T0 + HOUR_MS),
  ]);
  assert.deepEqual(
    result.examples.map((x) => x.example_id),
    ['b'],
  );
  assert.equal(itemViewCodec.decode(result.view!).popularity_total, 2);
});

test("the task's frontier is stored with its views: they hold every interaction before it and none after", async () => {
  const h = await FeaturesHarness.create({ latenessMs: MIN, watermarkIntervalMs: MIN });
  try {
    const times = [0, 3, 6, 9, 30].map((m) => T0 + m * MIN);
    for (const [n, ts] of times.entries()) await h.interaction(event(`e${n}`, 'u1', 'i1', 'view', ts));
    const key = itemFrontierKeys(1)[0]!;
    const frontier = await h.driver.store<number>(ITEM_FRONTIER_STORE).get(key);
    assert.ok(frontier !== undefined && frontier > T0 && frontier <= times[4]!, `frontier ${frontier}`);
    const view = await h.driver.store<ItemView>(ITEM_VIEW_STORE).get('i1');
    assert.equal(view?.popularity_total ?? 0, times.filter((ts) => ts < frontier).length);
  } finally {
    await h.close();
  }
});
