/**
 * The `quality` suite's public data sets, imported with `recstream import`
 * from `BENCH_DATA_DIR`:
 *
 * - `lastfm` and `ml-1m`: train.txt + valid.txt → test.txt, all items
 *   ranked (the graph-CF protocol).
 * - `ml-100k`: u1.base → u1.test, every rated test item relevant.
 */
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ItemSets, nextFileStart, readItemSets, servedAfterLastEvent } from '../../evaluation/eval-data.js';
import { openImportSource } from '../../importers/index.js';
import { BENCH_DATA_DIR } from '../datasets.js';
import { recstream } from '../recstream-cli.js';
import { readLines, readRatings } from './item-sets.js';
import { DAY_MS, type Prepared, processAll } from './pipeline.js';

/**
 * A data set in the graph-CF layout (`<name>/train.txt`, `valid.txt`, `test.txt`, one line per user),
 * laid out in time and served as `recstream eval` does: each file starts a day after the one
 * before ends (the importer's clock gives a line's items a second each, so MovieLens-1M's
 * train.txt alone spans nine days), and each user is served a second after their own last
 * training event (docs/evaluation.md).
 */
export async function prepareLinesSplit(name: string, dataDir: string): Promise<Prepared> {
  const dir = join(BENCH_DATA_DIR, name);
  const seen = new ItemSets();
  let start = Date.parse('2020-01-01T00:00:00Z');
  for (const file of ['train.txt', 'valid.txt']) {
    const path = join(dir, file);
    const source = `${name}/${file}`;
    const at = new Date(start).toISOString();
    await recstream(['import', 'lines', path, '--source', source, '--start', at, '--data-dir', dataDir]);
    await readItemSets(await openImportSource('lines', path, { start, source }), seen);
    start = nextFileStart(seen.maxTs);
  }
  await processAll(dataDir);
  return {
    holdout: await readLines(join(dir, 'test.txt')),
    seen,
    now: servedAfterLastEvent(seen),
    config: { split: 'train+valid → test' },
  };
}

/**
 * MovieLens files are sorted by user, not time, and the feature processors place events by
 * event time within a lateness window: the ratings are imported in time order, from a sorted
 * copy in the work dir beside links to the folder's metadata files.
 */
export async function prepareMovielens(dataDir: string): Promise<Prepared> {
  const dir = join(BENCH_DATA_DIR, 'ml-100k');
  const sorted = join(dataDir, '..', 'ml-100k-by-time');
  await mkdir(sorted, { recursive: true });
  const ratings = (await readFile(join(dir, 'u1.base'), 'utf8')).split('\n').filter(Boolean);
  ratings.sort((a, b) => Number(a.split('\t')[3]) - Number(b.split('\t')[3]));
  await writeFile(join(sorted, 'u1.base'), `${ratings.join('\n')}\n`);
  for (const meta of ['u.item', 'u.genre', 'u.user']) await symlink(join(dir, meta), join(sorted, meta));
  await recstream([
    'import',
    'movielens',
    join(sorted, 'u1.base'),
    '--source',
    'ml-100k/u1.base',
    '--data-dir',
    dataDir,
  ]);
  await processAll(dataDir);
  const train = await readRatings(join(dir, 'u1.base'));
  const test = await readRatings(join(dir, 'u1.test'));
  return {
    holdout: test.sets,
    seen: train.sets,
    now: train.maxTs + DAY_MS,
    config: { split: 'u1.base → u1.test', relevant: 'every rated test item' },
  };
}
