/**
 * The pieces of the served-lists tests of `features` on the embedded log
 * with RocksDB: lists published the way the responder publishes them
 * (`ServedLog` over the producer), interactions through the producer, the
 * application run to its end, and its training examples read back.
 *
 * @example
 * ```ts
 * await publish(platform, [servedList('req-1', U1, ['i1'], T0)], [event('e1', U1, 'i1', 'click', T0 + MIN)]);
 * await catchUp(platform, dataDir);
 * const exposures = summary(await examples(platform)).filter((e) => e.id.startsWith('served/'));
 * ```
 */
import { serveMetrics } from '../responders/recommend/serve-metrics.js';
import { ServedLog } from '../responders/recommend/served-log.js';
import { partitionForKey } from '../runtime/log/partitioner.js';
import { silentLogger } from '../runtime/observability/logger.js';
import { Registry } from '../runtime/observability/metrics.js';
import type { Platform } from '../runtime/platform.js';
import { createProducer } from '../runtime/producer/producer.js';
import { TRAINING_EXAMPLES_TOPIC } from '../runtime/topics/catalogue.js';
import type { Interaction, ServedRecommendations, TrainingExample } from '../schemas/generated/types.js';
import { catchUp, digest, MIN, OPTIONS, PARTITIONS, runner, T0 } from './features-runner.js';

export { catchUp, digest, MIN, OPTIONS, PARTITIONS, runner, T0 };

/** Two users on different partitions, so both user tasks promise event time to the merge. */
export const U1 = 'u1';
export const U2 = ['u2', 'u3', 'u4', 'u5'].find(
  (user) => partitionForKey(user, PARTITIONS) !== partitionForKey(U1, PARTITIONS),
)!;

export const withRequest = (requestId: string) => ({
  context: { device: 'web', country: 'PT', session_id: null, surface: 'home', request_id: requestId },
});

/** Publishes the lists as the responder does, then the interactions. */
export async function publish(
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

/** The features application over `dataDir`'s state; `tuning` sets the runner's poll size and task idle time. */
/** Every training example written, by example id. */
export async function examples(platform: Platform): Promise<TrainingExample[]> {
  const decoder = await platform.serde.decoder('rec.training-examples-value');
  const out: TrainingExample[] = [];
  for (const { partition, start, end } of await platform.log.offsets(TRAINING_EXAMPLES_TOPIC))
    for (let offset = start; offset < end; ) {
      const batch = await platform.log.read(TRAINING_EXAMPLES_TOPIC, partition, offset, 500);
      for (const r of batch) out.push(await decoder.decode(r.value!));
      offset += batch.length;
    }
  return out.sort((a, b) => a.example_id.localeCompare(b.example_id));
}

/** The fields of examples the served-lists tests compare. */
export function summary(list: readonly TrainingExample[]) {
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
