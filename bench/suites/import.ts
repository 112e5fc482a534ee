/**
 * `import` suite: `recstream import` throughput into the embedded log.
 *
 * - `import_interactions_per_s`: a seeded ML-100K-shaped `u.data` (tab-
 *   separated ratings, user/item ids skewed like real data) imported by the
 *   MovieLens importer: streaming read, parse, minimal items and users,
 *   producer, acknowledged appends. Reference, in the same run: the same
 *   interactions, built in memory before timing, sent through the producer
 *   client alone, i.e. the ceiling without reading and parsing.
 * - `ml100k_import_seconds`, `lastfm_import_seconds`: the real data sets from
 *   `RECSTREAM_BENCH_DATA_DIR` when present (`config.interactions` says how many).
 *
 * Every repetition writes to a fresh data dir; figures are medians.
 *
 * @example
 * ```ts
 * const results = await importSuite({ scale: 'small', workDir: '/tmp/bench', progress: console.log });
 * ```
 */
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { ensureImportTopics } from '../../importers/importer.js';
import { type ImportReport, openImportSource, runImport } from '../../importers/index.js';
import { interaction } from '../../importers/records.js';
import { loadConfig } from '../../runtime/config.js';
import { silentLogger } from '../../runtime/observability/logger.js';
import { createProducer } from '../../runtime/producer/producer.js';
import type { Interaction } from '../../schemas/generated/types.js';
import { openPlatform, type Platform } from '../../schemas/platform.js';
import { BENCH_DATA_DIR } from '../datasets.js';
import { seededRandom } from '../interaction-load.js';
import { type BenchResult, median, metric, type Suite } from '../result.js';

const SIZES = {
  small: { lines: 200_000, users: 10_000, items: 3_000, runs: 3 },
  full: { lines: 2_000_000, users: 100_000, items: 20_000, runs: 3 },
};

async function withPlatform<T>(dataDir: string, fn: (platform: Platform) => Promise<T>): Promise<T> {
  const platform = await openPlatform(loadConfig({}, { dataDir }), { logger: silentLogger() });
  try {
    return await fn(platform);
  } finally {
    await platform.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** ML-100K-shaped ratings: `user \t item \t rating \t unix seconds`, ids skewed toward low numbers. */
function ratingLines(size: (typeof SIZES)['small']): { text: string; events: Interaction[] } {
  const random = seededRandom(20);
  const lines: string[] = [];
  const events: Interaction[] = [];
  for (let n = 0; n < size.lines; n++) {
    const user = 1 + Math.floor(random() ** 2 * size.users);
    const item = 1 + Math.floor(random() ** 3 * size.items);
    const rating = 1 + Math.floor(random() * 5);
    const ts = 874_724_710 + n * 7;
    lines.push(`${user}\t${item}\t${rating}\t${ts}`);
    events.push(
      interaction({
        eventId: `bench/u.data:${n + 1}`,
        userId: String(user),
        itemId: String(item),
        type: 'rate',
        value: rating,
        ts: ts * 1000,
      }),
    );
  }
  return { text: `${lines.join('\n')}\n`, events };
}

async function timedImport(dataDir: string, format: string, path: string): Promise<ImportReport> {
  return withPlatform(dataDir, async (platform) =>
    runImport(platform, await openImportSource(format, path, {})),
  );
}

export const importSuite: Suite = async ({ scale, workDir, progress }): Promise<BenchResult[]> => {
  const size = SIZES[scale];
  const folder = join(workDir, 'import', 'bench');
  await mkdir(folder, { recursive: true });
  const { text, events } = ratingLines(size);
  await writeFile(join(folder, 'u.data'), text);

  const importRates: number[] = [];
  const producerRates: number[] = [];
  for (let run = 0; run < size.runs; run++) {
    const report = await timedImport(join(workDir, `import-${run}`), 'movielens', folder);
    if (report.interactions !== size.lines)
      throw new Error(`import bench: imported ${report.interactions} of ${size.lines} interactions`);
    importRates.push(report.interactions / report.seconds);
    const producerSeconds = await withPlatform(join(workDir, `producer-${run}`), async (platform) => {
      await ensureImportTopics(platform.log, platform.config.partitions);
      const producer = createProducer({ log: platform.log, serde: platform.serde });
      const started = performance.now();
      for (let i = 0; i < events.length; i += 500) {
        await producer.send(
          'rec.interactions',
          events.slice(i, i + 500).map((value) => ({ value })),
        );
      }
      await producer.close();
      return (performance.now() - started) / 1000;
    });
    producerRates.push(events.length / producerSeconds);
    progress(
      `import run ${run + 1}/${size.runs}: ${Math.round(importRates[run]!).toLocaleString('en-US')} interactions/s (producer alone ${Math.round(producerRates[run]!).toLocaleString('en-US')}/s)`,
    );
  }
  const config = {
    backend: 'embedded',
    format: 'movielens u.data (tab-separated)',
    interactions: size.lines,
    users: size.users,
    items: size.items,
    runs: size.runs,
    partitions: loadConfig({}).partitions,
  };
  const results = [
    metric('import', 'import_interactions_per_s', median(importRates), 'interactions/s', true, config, {
      name: 'producer_send_interactions_per_s',
      value: median(producerRates),
    }),
  ];

  const real: [string, string, string][] = [
    ['ml100k_import_seconds', 'movielens', join(BENCH_DATA_DIR, 'ml-100k')],
    ['lastfm_import_seconds', 'lines', join(BENCH_DATA_DIR, 'lastfm', 'train.txt')],
  ];
  for (const [name, format, path] of real) {
    if (!existsSync(path)) {
      progress(`import: ${path} not found, ${name} skipped`);
      continue;
    }
    const reports: ImportReport[] = [];
    for (let run = 0; run < size.runs; run++) {
      reports.push(await timedImport(join(workDir, `${name}-${run}`), format, path));
    }
    const last = reports[reports.length - 1]!;
    progress(`import ${path}: ${reports.map((r) => r.seconds.toFixed(2)).join(', ')} s`);
    results.push(
      metric('import', name, median(reports.map((r) => r.seconds)), 's', false, {
        backend: 'embedded',
        format,
        dataset: relative(BENCH_DATA_DIR, path),
        interactions: last.interactions,
        items: last.items.metadata + last.items.minimal,
        users: last.users.metadata + last.users.minimal,
        bad_lines: last.bad_lines,
        runs: size.runs,
      }),
    );
  }
  return results;
};
