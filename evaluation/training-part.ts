/**
 * The training part of an evaluation as per-user item sets: imported into
 * the data dir on the way when it holds no interactions yet (MovieLens
 * ratings sorted into time order first; each file of the part starting a
 * day after the previous one ends), or read from the files when the data
 * dir already holds exactly this import. A data dir holding other
 * interactions is refused.
 *
 * @example
 * ```ts
 * const { sets, imported } = await trainingPart(platform, { format: 'lines', train: ['train.txt'] }, hooks);
 * ```
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ImportError } from '../importers/errors.js';
import {
  type ImportFormat,
  type ImportSource,
  openImportSource,
  runImport,
  type SourceOptions,
} from '../importers/index.js';
import { sourceName } from '../importers/source.js';
import { readTopic } from '../registry/topic-reader.js';
import type { Platform } from '../runtime/platform.js';
import {
  collectingInto,
  ItemSets,
  movieLensInTimeOrder,
  movieLensRatingsFile,
  nextFileStart,
  readItemSets,
} from './eval-data.js';
import type { EvalHooks } from './eval-hooks.js';

/** Which files make the training part, and how they are read. */
export interface TrainingPartOptions {
  readonly format: ImportFormat;
  /** The training part's files, imported in this order (Last.fm: train.txt, valid.txt). */
  readonly train: readonly string[];
  /** Options of the format (csv: map, delimiter). */
  readonly sourceOptions?: SourceOptions;
}

/** Records on rec.interactions, and the event id of the first one (undefined when empty). */
async function interactionsOnLog(platform: Platform): Promise<{ count: number; first?: string }> {
  const { log, serde } = platform;
  if (!(await log.describeTopic('rec.interactions'))) return { count: 0 };
  let count = 0;
  for (const p of await log.offsets('rec.interactions')) count += p.end - p.start;
  if (count === 0) return { count };
  const decoder = await serde.decoder('rec.interactions-value');
  for await (const record of readTopic(log, 'rec.interactions'))
    if (record.value !== null) return { count, first: (await decoder.decode(record.value)).event_id };
  return { count };
}

/**
 * The training part as per-user item sets: imported on the way when the data dir holds no
 * interactions yet, or read from the files when it already holds exactly this import.
 */
export async function trainingPart(
  platform: Platform,
  options: TrainingPartOptions,
  hooks: EvalHooks,
): Promise<{ sets: ItemSets; imported: boolean }> {
  const { format } = options;
  const onLog = await interactionsOnLog(platform);
  const importing = onLog.count === 0;
  const sets = new ItemSets();
  const names: string[] = [];
  const work = importing && format === 'movielens' ? await mkdtemp(join(tmpdir(), 'recstream-eval-')) : '';
  try {
    let start: number | undefined;
    for (const [i, path] of options.train.entries()) {
      // Event ids name the original file, whatever copy is imported.
      const original = format === 'movielens' ? await movieLensRatingsFile(path) : resolve(path);
      const source = sourceName(original);
      names.push(source);
      let input: ImportSource;
      if (format === 'movielens' && importing) {
        const sorted = await movieLensInTimeOrder(original, join(work, String(i)));
        input = await openImportSource('movielens', sorted, { ...options.sourceOptions, source });
      } else {
        input = await openImportSource(format, original, { ...options.sourceOptions, start, source });
      }
      if (importing) {
        const bar = hooks.progress(
          `import ${source} (bytes)`,
          input.files.reduce((n, f) => n + f.bytes, 0),
        );
        const report = await runImport(platform, collectingInto(input, sets), {
          onProgress: (p) => bar.update(p.bytes, { interactions: p.interactions, bad_lines: p.badLines }),
        });
        bar.done({ interactions: report.interactions, bad_lines: report.bad_lines });
      } else {
        await readItemSets(input, sets);
      }
      start = nextFileStart(sets.maxTs);
    }
  } finally {
    if (work) await rm(work, { recursive: true, force: true });
  }
  const n = (x: number) => x.toLocaleString('en-US');
  if (importing) {
    hooks.note(`imported ${names.join(', ')}: ${n(sets.interactions)} interactions, ${n(sets.size)} users`);
  } else {
    const ours = onLog.first !== undefined && names.some((name) => onLog.first!.startsWith(`${name}:`));
    if (!ours || onLog.count !== sets.interactions)
      throw new ImportError(
        `${platform.config.dataDir} already holds ${n(onLog.count)} interactions (the first ${onLog.first ?? 'none'}), not the ${n(sets.interactions)} of ${names.join(', ')}; pass an empty --data-dir to import them`,
      );
    hooks.note(
      `${platform.config.dataDir} already holds this training part (${n(onLog.count)} interactions of ${names.join(', ')}): not importing it again`,
    );
  }
  return { sets, imported: importing };
}
