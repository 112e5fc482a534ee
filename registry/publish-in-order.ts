/**
 * Publishing registry events by hand (a promotion, a rollback, an
 * experiment started or stopped from the CLI or the admin API): through a
 * producer of its own, one after another, each acknowledged before the
 * next, so a reader folding the topic sees them in the order given.
 *
 * @example
 * ```ts
 * await publishInOrder(platform, MODEL_VERSIONS_TOPIC, [rolledBack, promoted]);
 * ```
 */
import type { Platform } from '../runtime/platform.js';
import { createProducer } from '../runtime/producer/producer.js';

/** Publishes `values` to `topic` in order and waits until the log acknowledged each one. */
export async function publishInOrder(
  platform: Platform,
  topic: string,
  values: readonly unknown[],
): Promise<void> {
  const producer = createProducer({
    log: platform.log,
    serde: platform.serde,
    createTopics: { partitions: platform.config.partitions },
  });
  try {
    for (const value of values) await producer.deliver(topic, [{ value }]);
  } finally {
    await producer.close();
  }
}
