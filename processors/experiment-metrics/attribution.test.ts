/**
 * `experiment-attribution` and RECSTREAM_ATTRIBUTE_ANONYMOUS: with it
 * false, a list asked for without credentials (caller null), shown or
 * shadow, yields no outcome, so anonymous requests move no variant's
 * figures; an authenticated caller's list counts as before.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TopologyTestDriver } from '../../runtime/processor/test-driver.js';
import { TopologyBuilder } from '../../runtime/processor/topology.js';
import type { ExperimentOutcome, ServedRecommendations } from '../../schemas/generated/types.js';
import { event, servedList } from '../../test/features.js';
import {
  attributionClockCodec,
  EXPERIMENT_CLOCK_STORE,
  EXPERIMENT_PENDING_STORE,
  EXPERIMENT_REQUESTS_STORE,
  ExperimentAttribution,
  heldRequestCodec,
  pendingCodec,
} from './attribution.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 5, 12);
const WINDOW_MS = 2 * MIN;
const json = { deserialize: (b: Buffer) => JSON.parse(b.toString()) as unknown };
const serialize = { serialize: (v: unknown) => Buffer.from(JSON.stringify(v)) };

function topology(attributeAnonymous: boolean) {
  return new TopologyBuilder('attribution-test')
    .addSource('served-lists', ['rec.recommendations'], json)
    .addSource('interactions', ['rec.interactions'], json)
    .addProcessor(
      'experiment-attribution',
      () => new ExperimentAttribution({ windowMs: WINDOW_MS, attributeAnonymous }),
      ['served-lists', 'interactions'],
    )
    .addStore({ name: EXPERIMENT_REQUESTS_STORE, codec: heldRequestCodec }, ['experiment-attribution'])
    .addStore({ name: EXPERIMENT_PENDING_STORE, codec: pendingCodec }, ['experiment-attribution'])
    .addStore({ name: EXPERIMENT_CLOCK_STORE, codec: attributionClockCodec }, ['experiment-attribution'])
    .addSink('outcomes', 'rec.experiment-outcomes', serialize, ['experiment-attribution'])
    .build();
}

function list(requestId: string, user: string, caller: string | null, ts: number, shadow = false) {
  return servedList(requestId, user, ['i1', 'i2', 'i3'], ts, {
    caller,
    experiment_id: 'ranker-ab',
    variant: shadow ? 'shadow' : 'candidate',
    shadow,
    took_ms: 12,
  });
}

/** The outcomes of an anonymous list and an authenticated one, each clicked once, once their window passed. */
async function outcomes(attributeAnonymous: boolean): Promise<ExperimentOutcome[]> {
  const driver = await TopologyTestDriver.create(topology(attributeAnonymous));
  const served = (value: ServedRecommendations) =>
    driver.pipe('rec.recommendations', value.user_id, Buffer.from(JSON.stringify(value)), value.served_ts);
  const click = (id: string, user: string, requestId: string, ts: number) => {
    const value = event(id, user, 'i2', 'click', ts, {
      context: { device: null, country: null, session_id: null, surface: 'home', request_id: requestId },
    });
    return driver.pipe('rec.interactions', user, Buffer.from(JSON.stringify(value)), ts);
  };
  try {
    await served(list('anon', 'u1', null, T0));
    await served(list('anon', 'u1', null, T0 + 10, true));
    await served(list('app', 'u1', 'key:app', T0 + 20));
    await click('c-anon', 'u1', 'anon', T0 + MIN);
    await click('c-app', 'u1', 'app', T0 + MIN);
    // Both topics move past the window: the lists held are released.
    await served(list('later', 'u9', 'key:app', T0 + 10 * MIN));
    await click('c-later', 'u9', 'later', T0 + 10 * MIN);
    return driver.readOutput('rec.experiment-outcomes').map((o) => JSON.parse(o.value!.toString()));
  } finally {
    await driver.close();
  }
}

const summary = (all: ExperimentOutcome[]) =>
  all.map((o) => [o.outcome_id, o.requests, o.impressions, o.clicks]).sort();

test('by default an anonymous list counts like any other: requests, impressions, clicks, its shadow', async () => {
  assert.deepEqual(summary(await outcomes(true)), [
    ['list/anon', 1, 3, 1],
    ['list/app', 1, 3, 1],
    ['shadow/shadow/anon', 1, 0, 0],
  ]);
});

test('with RECSTREAM_ATTRIBUTE_ANONYMOUS=false an anonymous list and its shadow count nothing', async () => {
  assert.deepEqual(summary(await outcomes(false)), [['list/app', 1, 3, 1]]);
});
