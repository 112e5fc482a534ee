/**
 * Test helpers over a real data dir: open the configured platform quietly
 * and always close it (releasing the log's lock for the next process), a
 * scratch embedded log with its schema registry, and write seeded
 * interactions the way a producer would.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { interactionStream, type StreamOptions } from '../bench/interaction-load.js';
import { loadConfig } from '../runtime/config.js';
import { EmbeddedLog } from '../runtime/log/embedded/embedded-log.js';
import type { OutgoingRecord } from '../runtime/log/log.js';
import { silentLogger } from '../runtime/observability/logger.js';
import { openEmbeddedRegistry } from '../runtime/registry/embedded/embedded-registry.js';
import type { Serde } from '../runtime/serde/serde.js';
import type { Interaction } from '../schemas/generated/types.js';
import { openPlatform, type Platform, platformSerde } from '../schemas/platform.js';
import { APPLICATIONS } from '../topologies/index.js';

/**
 * Opens the platform of `dataDir` quietly, runs `fn`, and closes it. `env`
 * holds the `RECSTREAM_*` variables that choose the back-ends (none: the
 * embedded ones).
 */
export async function withTestPlatform<T>(
  dataDir: string,
  fn: (platform: Platform) => Promise<T>,
  env: Readonly<Record<string, string>> = {},
): Promise<T> {
  const platform = await openPlatform(loadConfig(env, { dataDir }), { logger: silentLogger() });
  try {
    return await fn(platform);
  } finally {
    await platform.close();
  }
}

/**
 * Every `event_id` in `rec.interactions` of the data dir, with how often it
 * is there: what an acknowledged-means-stored-once check counts.
 *
 * @example
 * ```ts
 * const counts = await loggedEvents(dataDir);
 * assert.equal(counts.get('e1'), 1);
 * ```
 */
export async function loggedEvents(dataDir: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  await withTestPlatform(dataDir, async (platform) => {
    const decoder = await platform.serde.decoder('rec.interactions-value');
    for (const { partition, start, end } of await platform.log.offsets('rec.interactions'))
      for (let offset = start; offset < end; ) {
        const records = await platform.log.read('rec.interactions', partition, offset, 5000);
        for (const r of records) {
          const id = (await decoder.decode(r.value!)).event_id;
          counts.set(id, (counts.get(id) ?? 0) + 1);
        }
        offset = records.at(-1)!.offset + 1;
      }
  });
  return counts;
}

/** What `withScratchLog` hands a test: a temporary dir, its embedded log (fsync off) and a serde over its registry. */
export interface ScratchLog {
  readonly dir: string;
  readonly log: EmbeddedLog;
  readonly serde: Serde;
}

/**
 * Runs `fn` over a fresh embedded log and schema registry in a temporary
 * dir named from `prefix`; closes both and removes the dir afterwards,
 * also when `fn` fails.
 */
export async function withScratchLog<T>(prefix: string, fn: (scratch: ScratchLog) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const log = await EmbeddedLog.open(join(dir, 'log'), { fsync: 'never', maintenanceIntervalMs: 0 });
  const registry = await openEmbeddedRegistry({ dataDir: dir });
  try {
    return await fn({ dir, log, serde: platformSerde(registry) });
  } finally {
    await registry.close();
    await log.close();
    await rm(dir, { recursive: true, force: true });
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

/**
 * Per application (`APPLICATIONS`) that reads `topic`, the sum over its
 * partitions of the offsets its consumer group has committed on it: how far
 * each application had got when a child running it was killed.
 */
export async function committedPositions(dataDir: string, topic: string): Promise<Map<string, number>> {
  return withTestPlatform(dataDir, async (platform) => {
    const out = new Map<string, number>();
    for (const [app, build] of Object.entries(APPLICATIONS)) {
      const topology = await build(platform.serde, loadConfig({}, { dataDir }));
      if (!topology.sourceTopics().includes(topic)) continue;
      let sum = 0;
      for (const offset of (await platform.log.committedOffsets(topology.applicationId, topic)).values())
        sum += offset;
      out.set(app, sum);
    }
    return out;
  });
}
