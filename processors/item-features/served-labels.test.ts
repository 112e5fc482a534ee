import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HOUR_MS } from '../../features/math/decay.js';
import { describeUser } from '../../runtime/observability/user-hash.js';
import type { TrainingExample } from '../../schemas/generated/types.js';
import { event, FeaturesHarness, profile, servedList } from '../../test/features.js';
import { SERVED_WAITING_STORE } from '../user-features/served-waiting.js';
import { USER_CLOCK_STORE, type UserClock } from '../user-features/user-features.js';
import { ATTRIBUTION_STORE, type AttributionCounts } from './item-features.js';
import { LABEL_JOIN_STORE } from './label-join.js';

const MIN = 60_000;
const T0 = 1_000 * HOUR_MS;
const OPTIONS = { latenessMs: MIN, labelWindowMs: 10 * MIN };

function summary(examples: readonly TrainingExample[]) {
  return examples.map((e) => [
    e.example_id,
    e.item_id,
    e.labels.label,
    e.labels.clicked,
    e.labels.click_delay_ms,
    e.served?.position ?? null,
  ]);
}

function withRequest(requestId: string) {
  return {
    context: { device: 'tv', country: 'PT', session_id: null, surface: 'home', request_id: requestId },
  };
}

async function counts(h: FeaturesHarness): Promise<AttributionCounts | undefined> {
  return h.driver.store<AttributionCounts>(ATTRIBUTION_STORE).get('counts');
}

async function keys(h: FeaturesHarness, store: string): Promise<string[]> {
  const out: string[] = [];
  for await (const [key] of h.driver.store(store).range()) out.push(key);
  return out;
}

test('a click carrying a request_id labels its served item positive at its position; the others are negatives once the window closes', async () => {
  const h = await FeaturesHarness.create(OPTIONS);
  try {
    await h.interaction(event('before', 'u1', 'i9', 'view', T0 - 5 * MIN));
    await h.served(servedList('r1', 'u1', ['i1', 'i2', 'i3'], T0));
    await h.interaction(event('clk', 'u1', 'i2', 'click', T0 + 2 * MIN, withRequest('r1')));
    await h.interaction(
      event('watch', 'u1', 'i2', 'view', T0 + 3 * MIN, { ...withRequest('r1'), value: 0.4 }),
    );
    await h.interaction(event('mid', 'u3', 'i8', 'click', T0 + 8 * MIN));
    const early = h.examples();
    assert.deepEqual(
      early.map((e) => e.example_id),
      ['before', 'clk', 'watch'],
      'exposures wait for their whole label window',
    );
    const click = early[1]!;
    assert.deepEqual(click.served, {
      position: 1,
      score: 0.9,
      model_version: 'two-tower@3',
      index_version: 'items@5',
      fallback: null,
    });
    assert.equal(click.user.event_count, 1, 'the served list folds into no user view');
    assert.equal(click.item.impressions, 0, 'nor into the item view');
    await h.interaction(event('flush', 'u3', 'i9', 'click', T0 + HOUR_MS));
    const exposures = h.examples().filter((e) => e.type === 'impression');
    assert.deepEqual(summary(exposures), [
      ['served/r1/0', 'i1', 0, false, null, 0],
      ['served/r1/1', 'i2', 1, true, 2 * MIN, 1],
      ['served/r1/2', 'i3', 0, false, null, 2],
    ]);
    assert.deepEqual(await keys(h, SERVED_WAITING_STORE), [], 'no list outlives its release');
    assert.deepEqual(await keys(h, LABEL_JOIN_STORE), [], 'no exposure outlives its window');
    const clicked = exposures[1]!;
    assert.equal(clicked.ts, T0, 'event time is served_ts');
    assert.equal(clicked.context.request_id, 'r1');
    assert.equal(clicked.labels.watch_fraction, 0.4, 'engagement linked by request_id');
    assert.equal(clicked.user.event_count, 1, "the user's features as of served_ts");
    assert.equal(clicked.served?.model_version, 'two-tower@3');
    assert.deepEqual(await counts(h), {
      attributed: 2,
      unknown_request: 0,
      other_user: 0,
      merged_exposures: 0,
    });
  } finally {
    await h.close();
  }
});

test('an impression event for a served request and item gives one example, whichever comes first', async () => {
  const h = await FeaturesHarness.create(OPTIONS);
  try {
    await h.served(servedList('r2', 'u1', ['i1', 'i2'], T0));
    await h.interaction(event('imp-i1', 'u1', 'i1', 'impression', T0 + 1_000, withRequest('r2')));
    await h.interaction(event('imp-i2', 'u1', 'i2', 'impression', T0 - 1_000, withRequest('r2')));
    await h.interaction(event('clk', 'u1', 'i2', 'click', T0 + MIN));
    await h.interaction(event('flush', 'u3', 'i9', 'click', T0 + HOUR_MS));
    const exposures = h.examples().filter((e) => e.type === 'impression');
    assert.deepEqual(
      summary(exposures),
      [
        ['imp-i2', 'i2', 1, true, MIN + 1_000, 1],
        ['served/r2/0', 'i1', 0, false, null, 0],
      ],
      'the earlier of the two is kept, with the served position; a click without request_id labels it too',
    );
    assert.equal((await counts(h))?.merged_exposures, 2);
  } finally {
    await h.close();
  }
});

test('a click whose request_id names no list of its user is counted and labels as an ordinary click', async () => {
  const h = await FeaturesHarness.create(OPTIONS);
  try {
    await h.served(servedList('r3', 'u2', ['i5'], T0));
    await h.interaction(event('imp', 'u1', 'i1', 'impression', T0));
    await h.interaction(event('clk', 'u1', 'i1', 'click', T0 + MIN, withRequest('nope')));
    await h.interaction(event('imp5', 'u1', 'i5', 'impression', T0 + MIN));
    await h.interaction(event('clk5', 'u1', 'i5', 'click', T0 + 2 * MIN, withRequest('r3')));
    await h.interaction(event('flush', 'u3', 'i9', 'click', T0 + HOUR_MS));
    assert.deepEqual(
      summary(h.examples()).filter(([id]) => id !== 'flush'),
      [
        ['imp', 'i1', 1, true, MIN, null],
        ['clk', 'i1', 1, null, null, null],
        ['imp5', 'i5', 1, true, MIN, null],
        ['clk5', 'i5', 1, null, null, null],
        ['served/r3/0', 'i5', 0, false, null, 0],
      ],
      "the clicks join the user's impressions by pair; u2's exposure is not u1's click",
    );
    assert.deepEqual(await counts(h), {
      attributed: 0,
      unknown_request: 1,
      other_user: 1,
      merged_exposures: 0,
    });
  } finally {
    await h.close();
  }
});

test('a served list behind the watermark is counted late and exposes nothing; a bad one is dead-lettered', async () => {
  const h = await FeaturesHarness.create(OPTIONS);
  try {
    await h.interaction(event('now', 'u1', 'i1', 'view', T0 + 10 * MIN));
    await h.served(servedList('old', 'u1', ['i1'], T0));
    await h.served(servedList('bad', 'u1', ['i1'], T0 + 10 * MIN), 'u2');
    const nan = servedList('nan', 'u1', ['i1'], T0 + 10 * MIN);
    await h.served({ ...nan, items: [{ ...nan.items[0]!, score: Number.NaN }] });
    await h.interaction(event('flush', 'u3', 'i9', 'click', T0 + HOUR_MS));
    assert.deepEqual(
      h.examples().map((e) => e.example_id),
      ['now'],
      'no exposure of the late list, none of the bad one',
    );
    const clock = await h.driver.store<UserClock>(USER_CLOCK_STORE).get('clock');
    assert.equal(clock?.late_served_lists, 1);
    assert.deepEqual(
      h.driver.deadLetters.map((d) => d.error_message),
      [
        `served list "bad": record key ${describeUser('u2')} is not its user_id ${describeUser('u1')} (rec.recommendations is keyed by user)`,
        'served list "nan": score NaN of item i1 is not finite',
      ],
    );
  } finally {
    await h.close();
  }
});

test('a user who opts out while their served list waits gets no exposure, and the list is dropped', async () => {
  const h = await FeaturesHarness.create(OPTIONS);
  try {
    await h.user(profile('u1'));
    await h.served(servedList('r4', 'u1', ['i1', 'i2'], T0));
    assert.equal((await keys(h, SERVED_WAITING_STORE)).length, 1);
    await h.user(profile('u1', { opt_out: true, updated_ts: T0 + MIN }));
    assert.deepEqual(await keys(h, SERVED_WAITING_STORE), []);
    await h.interaction(event('flush', 'u3', 'i9', 'click', T0 + HOUR_MS));
    await h.interaction(event('flush-2', 'u3', 'i9', 'click', T0 + 2 * HOUR_MS));
    assert.deepEqual(
      h.examples().map((e) => e.example_id),
      ['flush'],
    );
  } finally {
    await h.close();
  }
});

test('with RECSTREAM_ATTRIBUTE_ANONYMOUS=false an anonymous served list exposes nothing; an authenticated one does', async () => {
  const run = async (attributeAnonymous: boolean) => {
    const h = await FeaturesHarness.create({ ...OPTIONS, attributeAnonymous });
    try {
      await h.served(servedList('anon', 'u1', ['i1', 'i2'], T0));
      await h.served(servedList('app', 'u1', ['i3'], T0 + 1_000, { caller: 'key:app' }));
      await h.interaction(event('clk', 'u1', 'i2', 'click', T0 + MIN, withRequest('anon')));
      await h.interaction(event('flush', 'u3', 'i9', 'click', T0 + HOUR_MS));
      return {
        exposures: summary(h.examples().filter((e) => e.type === 'impression')),
        counts: await counts(h),
        waiting: await keys(h, SERVED_WAITING_STORE),
      };
    } finally {
      await h.close();
    }
  };
  const counted = await run(true);
  assert.deepEqual(counted.exposures, [
    ['served/anon/0', 'i1', 0, false, null, 0],
    ['served/anon/1', 'i2', 1, true, MIN, 1],
    ['served/app/0', 'i3', 0, false, null, 0],
  ]);
  const ignored = await run(false);
  assert.deepEqual(
    ignored.exposures,
    [['served/app/0', 'i3', 0, false, null, 0]],
    'no exposure, so no negative label, from the anonymous list',
  );
  assert.equal(ignored.counts?.attributed, 0);
  assert.equal(ignored.counts?.unknown_request, 1, 'the click on the ignored list names no list held');
  assert.deepEqual(ignored.waiting, []);
});
