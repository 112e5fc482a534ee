/**
 * Helpers for the importer tests: a platform on a fresh data dir (embedded
 * log on disk, file registry), fixture files the tests write themselves,
 * and reading a topic back decoded.
 *
 * @example
 * ```ts
 * await withTempPlatform(async (platform, dir) => {
 *   const file = await fixture(dir, 'u.data', '1\t2\t5\t881250949\n');
 *   await runImport(platform, await movieLensSource(file));
 *   const ratings = await readTopic(platform, 'rec.interactions');
 * });
 * ```
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadConfig } from '../runtime/config.js';
import { silentLogger } from '../runtime/observability/logger.js';
import type { SubjectValueTypes } from '../schemas/generated/types.js';
import { openPlatform, type Platform } from '../schemas/platform.js';

export async function withTempPlatform(
  fn: (platform: Platform, dir: string) => Promise<void>,
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-import-'));
  try {
    const platform = await openPlatform(loadConfig({}, { dataDir: join(dir, 'data') }), {
      logger: silentLogger(),
    });
    try {
      await fn(platform, dir);
    } finally {
      await platform.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function fixture(dir: string, name: string, content: string | Buffer): Promise<string> {
  const path = join(dir, name);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, content);
  return path;
}

export interface ReadBack<T> {
  readonly key: string | null;
  readonly value: T;
  readonly partition: number;
  readonly timestamp: number;
}

type Topic = 'rec.interactions' | 'rec.items' | 'rec.users' | 'rec.dlq';

/** Every record of a topic, decoded, partition by partition in offset order. */
export async function readTopic<T extends Topic>(
  platform: Pick<Platform, 'log' | 'serde'>,
  topic: T,
): Promise<ReadBack<SubjectValueTypes[`${T}-value`]>[]> {
  const decoder = await platform.serde.decoder(`${topic}-value`);
  const out: ReadBack<SubjectValueTypes[`${T}-value`]>[] = [];
  if (!(await platform.log.describeTopic(topic))) return out;
  for (const p of await platform.log.offsets(topic)) {
    for (let offset = p.start; offset < p.end; ) {
      const batch = await platform.log.read(topic, p.partition, offset, 1000);
      if (batch.length === 0) break;
      for (const r of batch) {
        out.push({
          key: r.key,
          value: (await decoder.decode(r.value!)) as SubjectValueTypes[`${T}-value`],
          partition: r.partition,
          timestamp: r.timestamp,
        });
      }
      offset = batch[batch.length - 1]!.offset + 1;
    }
  }
  return out;
}
