/**
 * Served lists end to end: a list published to rec.recommendations the way
 * the responder publishes it (`ServedLog` over the producer) and a click
 * carrying its request_id become training examples through the features
 * application on the embedded log with RocksDB: each served item an
 * exposure at served_ts with its position and model, the clicked one
 * positive. The lists are published before the interactions that follow
 * them, as a live responder does, and each batch is processed to its end,
 * so the application restarts with the lists waiting (in store
 * `served-waiting`); lists read before or after the interactions of their
 * time give the same stores. A shadow variant's list is no exposure.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { serveMetrics } from '../responders/recommend/serve-metrics.js';
import { ServedLog } from '../responders/recommend/served-log.js';
import { partitionForKey } from '../runtime/log/partitioner.js';
import { silentLogger } from '../runtime/observability/logger.js';
import { Registry } from '../runtime/observability/metrics.js';
import type { Platform } from '../runtime/platform.js';
import { createProducer } from '../runtime/producer/producer.js';
import type { Interaction, ServedRecommendations, TrainingExample } from '../schemas/generated/types.js';
import { event, servedList } from '../test/features.js';
import { catchUp, digest, examples, MIN, PARTITIONS, T0 } from '../test/features-runner.js';
import { withTestPlatform } from '../test/platform.js';

/** Two users on different partitions, so both user tasks promise event time to the merge. */
const U1 = 'u1';
const U2 = ['u2', 'u3', 'u4', 'u5'].find(
  (user) => partitionForKey(user, PARTITIONS) !== partitionForKey(U1, PARTITIONS),
)!;

const withRequest = (requestId: string) => ({
  context: { device: 'web', country: 'PT', session_id: null, surface: 'home', request_id: requestId },
});

const LISTS: ServedRecommendations[] = [
  // A shadow variant's list for the same request, logged first: never shown, so no exposure, and
  // it must not take the served list's place.
  servedList('req-1', U1, ['i7', 'i2'], T0, { shadow: true, experiment_id: 'ab', variant: 'shadow' }),
  servedList('req-1', U1, ['i1', 'i2', 'i3'], T0),
  servedList('req-2', U2, ['i2'], T0 + MIN, { model_version: null, fallback: 'cold_start' }),
];
const WARM: Interaction[] = [
  event('warm-1', U1, 'i9', 'view', T0 - MIN),
  event('warm-2', U2, 'i9', 'view', T0 - MIN),
];
const LATER: Interaction[] = [
  event('click', U1, 'i2', 'click', T0 + 2 * MIN, withRequest('req-1')),
  event('flush-1', U1, 'i8', 'click', T0 + 60 * MIN),
  event('flush-2', U2, 'i8', 'click', T0 + 60 * MIN),
];

async function publish(
  platform: Platform,
  lists: readonly ServedRecommendations[],
  events: readonly Interaction[],
) {
  const producer = createProducer({
    log: platform.log,
    serde: platform.serde,
    createTopics: { partitions: PARTITIONS },
  });
  const served = new ServedLog({ producer, metrics: serveMetrics(new Registry()), logger: silentLogger() });
  for (const list of lists) served.publish(list);
  await served.close();
  await producer.send(
    'rec.interactions',
    events.map((value) => ({ value })),
  );
  await producer.close();
}

function summary(list: readonly TrainingExample[]) {
  return list.map((e) => ({
    id: e.example_id,
    user: e.user_id,
    item: e.item_id,
    ts: e.ts,
    label: e.labels.label,
    clicked: e.labels.clicked,
    delay: e.labels.click_delay_ms,
    position: e.served?.position ?? null,
    model: e.served?.model_version ?? null,
    fallback: e.served?.fallback ?? null,
    events_before: e.user.event_count,
  }));
}

const EXPECTED = [
  { id: 'click', user: U1, item: 'i2', ts: T0 + 2 * MIN, label: 1, clicked: null, delay: null },
  { id: 'served/req-1/0', user: U1, item: 'i1', ts: T0, label: 0, clicked: false, delay: null },
  { id: 'served/req-1/1', user: U1, item: 'i2', ts: T0, label: 1, clicked: true, delay: 2 * MIN },
  { id: 'served/req-1/2', user: U1, item: 'i3', ts: T0, label: 0, clicked: false, delay: null },
  { id: 'served/req-2/0', user: U2, item: 'i2', ts: T0 + MIN, label: 0, clicked: false, delay: null },
  { id: 'warm-1', user: U1, item: 'i9', ts: T0 - MIN, label: 1, clicked: null, delay: null },
  { id: 'warm-2', user: U2, item: 'i9', ts: T0 - MIN, label: 1, clicked: null, delay: null },
];
const SERVED = {
  click: { position: 1, model: 'two-tower@3', fallback: null, events_before: 1 },
  'served/req-1/0': { position: 0, model: 'two-tower@3', fallback: null, events_before: 1 },
  'served/req-1/1': { position: 1, model: 'two-tower@3', fallback: null, events_before: 1 },
  'served/req-1/2': { position: 2, model: 'two-tower@3', fallback: null, events_before: 1 },
  'served/req-2/0': { position: 0, model: null, fallback: 'cold_start', events_before: 1 },
  'warm-1': { position: null, model: null, fallback: null, events_before: 0 },
  'warm-2': { position: null, model: null, fallback: null, events_before: 0 },
} as const;

test('a served list published by the responder and a click carrying its request_id give exposure examples in rec.training-examples', async () => {
  const root = await mkdtemp(join(tmpdir(), 'recstream-served-'));
  try {
    const liveDir = join(root, 'live');
    const live = await withTestPlatform(liveDir, async (platform) => {
      await publish(platform, LISTS, WARM);
      await catchUp(platform, liveDir);
      assert.deepEqual(
        (await examples(platform)).map((e) => e.example_id),
        [],
        'the lists and interactions wait for the watermark when the application stops',
      );
      await publish(platform, [], LATER);
      await catchUp(platform, liveDir);
      return { examples: await examples(platform), digest: await digest(platform, liveDir) };
    });
    assert.deepEqual(
      summary(live.examples).filter((e) => !e.id.startsWith('flush')),
      EXPECTED.map((e) => ({ ...e, ...SERVED[e.id as keyof typeof SERVED] })),
    );

    // The lists alone first, then the interactions: the same stores and examples.
    const listsFirstDir = join(root, 'lists-first');
    const listsFirst = await withTestPlatform(listsFirstDir, async (platform) => {
      await publish(platform, LISTS, []);
      await catchUp(platform, listsFirstDir);
      await publish(platform, [], WARM);
      await catchUp(platform, listsFirstDir);
      await publish(platform, [], LATER);
      await catchUp(platform, listsFirstDir);
      return { examples: await examples(platform), digest: await digest(platform, listsFirstDir) };
    });
    assert.deepEqual(listsFirst.digest, live.digest);
    assert.deepEqual(summary(listsFirst.examples), summary(live.examples));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
