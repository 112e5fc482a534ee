/**
 * Test helpers over a real data dir: open the configured platform quietly
 * and always close it (releasing the log's lock for the next process), and
 * write seeded interactions the way a producer would.
 */
import { loadConfig } from '../runtime/config.js';
import type { OutgoingRecord } from '../runtime/log/log.js';
import { silentLogger } from '../runtime/observability/logger.js';
import { openPlatform, type Platform } from '../runtime/platform.js';
import type { Interaction } from '../schemas/generated/types.js';
import { interactionStream, type StreamOptions } from '../sim/interaction-load.js';

export async function withTestPlatform<T>(
  dataDir: string,
  fn: (platform: Platform) => Promise<T>,
): Promise<T> {
  const platform = await openPlatform(loadConfig({}, { dataDir }), { logger: silentLogger() });
  try {
    return await fn(platform);
  } finally {
    await platform.close();
  }
}

/** Appends `interactionStream(stream)` to rec.interactions (created with `partitions`) in batches; returns the events. */
export async function writeInteractions(
  dataDir: string,
  partitions: number,
  stream: StreamOptions,
): Promise<Interaction[]> {
  const events = [...interactionStream(stream)];
  await withTestPlatform(dataDir, async ({ log, serde }) => {
    await log.ensureTopic({ name: 'rec.interactions', partitions });
    const encoder = await serde.encoder('rec.interactions-value');
    for (let i = 0; i < events.length; i += 2000) {
      const batch: OutgoingRecord[] = events
        .slice(i, i + 2000)
        .map((e) => ({ key: e.user_id, value: encoder.encode(e), timestamp: e.ts }));
      await log.append('rec.interactions', batch);
    }
  });
  return events;
}
