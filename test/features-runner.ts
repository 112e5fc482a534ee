/**
 * The `features` application on the embedded log with RocksDB, as the
 * topology tests run it: a one-minute lateness and watermark, a ten-minute
 * label window, commits every 10 ms; run to its end or asked for its store
 * digests.
 *
 * @example
 * ```ts
 * await catchUp(platform, dataDir);
 * const stores = await digest(platform, dataDir);
 * ```
 */
import { join } from 'node:path';
import { StreamRunner } from '../runtime/engine/runner.js';
import { silentLogger } from '../runtime/observability/logger.js';
import type { Platform } from '../runtime/platform.js';
import { avroSerializer } from '../runtime/processor/avro-serdes.js';
import type { TrainingExample } from '../schemas/generated/types.js';
import { PLATFORM_TOPICS, TRAINING_EXAMPLES_TOPIC } from '../schemas/topics.js';
import { featuresTopology } from '../topologies/features.js';

export const MIN = 60_000;
export const T0 = Date.UTC(2026, 0, 5, 12);
export const PARTITIONS = 2;
export const OPTIONS = { latenessMs: MIN, labelWindowMs: 10 * MIN, watermarkIntervalMs: MIN };

export async function runner(platform: Platform, dataDir: string): Promise<StreamRunner> {
  return StreamRunner.start({
    topology: await featuresTopology(platform.serde, OPTIONS),
    log: platform.log,
    stateDir: join(dataDir, 'state'),
    engine: 'rocksdb',
    commitIntervalMs: 10,
    deadLetters: avroSerializer(await platform.serde.encoder('rec.dlq-value')),
    topics: PLATFORM_TOPICS,
    logger: silentLogger(),
  });
}

export async function catchUp(platform: Platform, dataDir: string): Promise<void> {
  await (await runner(platform, dataDir)).runUntilCaughtUp();
}

export async function digest(platform: Platform, dataDir: string): Promise<Record<string, string>> {
  const inspect = await runner(platform, dataDir);
  try {
    return await inspect.digest();
  } finally {
    await inspect.close();
  }
}

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
