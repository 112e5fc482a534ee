/**
 * `quality` suite (DESIGN.md §10): recommendation quality through the whole
 * pipeline, one row per data set and model, with the popularity baseline
 * scored on the same users in the same run.
 *
 * For each data set: a fresh data dir, the data imported (or simulated)
 * with `recstream`, `process --once` for `features` then `snapshots`,
 * `recstream train --once` (default engine settings), then every holdout
 * user scored through the serving path (evaluation/evaluate-model.ts): the
 * user's features from the online store, the exported user tower in
 * onnxruntime, exact retrieval over the model's item embeddings, items
 * seen in training left out.
 *
 * - `lastfm` (`../shared/data/lastfm`): train.txt + valid.txt → test.txt,
 *   all items ranked (the graph-CF protocol).
 * - `ml-100k` (`../shared/data/ml-100k`): u1.base → u1.test, every rated
 *   test item relevant.
 * - `synthetic`: a simulated world; relevant = each user's 20 most
 *   preferred items by the simulator's ground truth, nothing left out.
 *
 * The pipeline runs with snapshots of 500 examples per partition, so that
 * the tail a finite import leaves in open snapshots is small (see
 * `processAll`); what is trained on is reported in `config`.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type EvaluationResult, evaluateModel } from '../../evaluation/evaluate-model.js';
import { loadConfig } from '../../runtime/config.js';
import { silentLogger } from '../../runtime/observability/logger.js';
import { openPlatform } from '../../runtime/platform.js';
import type { ModelVersion } from '../../schemas/generated/types.js';
import { FileArtifactStore } from '../../trainer/model-store.js';
import { readTopic } from '../../trainer/topic-reader.js';
import { recstream } from '../recstream-cli.js';
import { type BenchResult, metric, type Scale, type Suite } from '../result.js';
import { timedTrainRound } from '../train-round.js';

const SHARED_DATA = resolve(process.cwd(), '..', 'shared', 'data');
const KS = [10, 20, 50];
const DAY_MS = 86_400_000;

type ItemSets = Map<string, Set<string>>;

interface Prepared {
  readonly holdout: ItemSets;
  readonly seen: ItemSets;
  readonly excludeSeen?: boolean;
  readonly now: number;
  readonly config: Record<string, unknown>;
}

function addTo(sets: ItemSets, user: string, item: string): void {
  let set = sets.get(user);
  if (!set) {
    set = new Set();
    sets.set(user, set);
  }
  set.add(item);
}

/** `user item item …` lines into per-user item sets. */
async function readLines(path: string, into: ItemSets = new Map()): Promise<ItemSets> {
  for (const line of (await readFile(path, 'utf8')).split('\n')) {
    const [user, ...items] = line.trim().split(/\s+/);
    if (!user) continue;
    for (const item of items) addTo(into, user, item);
  }
  return into;
}

/**
 * A finite import ends inside snapshots that nothing closes (a snapshot closes on a count or on
 * a day of event time, and no event comes after the last one); small snapshots leave at most
 * 500 examples per partition of the tail out of training.
 */
async function processAll(dataDir: string): Promise<void> {
  for (const app of ['features', 'snapshots'])
    await recstream(['process', '--app', app, '--once', '--data-dir', dataDir], {
      RECSTREAM_SNAPSHOT_EVERY_EXAMPLES: '500',
    });
}

async function prepareLastfm(dataDir: string): Promise<Prepared> {
  const dir = join(SHARED_DATA, 'lastfm');
  const start = Date.parse('2020-01-01T00:00:00Z');
  for (const [file, day] of [
    ['train.txt', 0],
    ['valid.txt', 2],
  ] as const)
    await recstream([
      'import',
      'lines',
      join(dir, file),
      '--source',
      `lastfm/${file}`,
      '--start',
      new Date(start + day * DAY_MS).toISOString(),
      '--data-dir',
      dataDir,
    ]);
  await processAll(dataDir);
  const seen = await readLines(join(dir, 'valid.txt'), await readLines(join(dir, 'train.txt')));
  return {
    holdout: await readLines(join(dir, 'test.txt')),
    seen,
    now: start + 3 * DAY_MS,
    config: { split: 'train+valid → test' },
  };
}

async function readRatings(path: string): Promise<{ sets: ItemSets; maxTs: number }> {
  const sets: ItemSets = new Map();
  let maxTs = 0;
  for (const line of (await readFile(path, 'utf8')).split('\n')) {
    const [user, item, , ts] = line.trim().split('\t');
    if (!user || !item) continue;
    addTo(sets, user, item);
    maxTs = Math.max(maxTs, Number(ts) * 1000);
  }
  return { sets, maxTs };
}

/**
 * MovieLens files are sorted by user, not time, and the feature processors place events by
 * event time within a lateness window: the ratings are imported in time order, from a sorted
 * copy in the work dir beside links to the folder's metadata files.
 */
async function prepareMovielens(dataDir: string): Promise<Prepared> {
  const dir = join(SHARED_DATA, 'ml-100k');
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

/** Per user, the items of their non-impression interactions on the log (what popularity counts). */
async function interactedItems(dataDir: string): Promise<ItemSets> {
  const platform = await openPlatform(loadConfig({}, { dataDir }), { logger: silentLogger() });
  try {
    const decoder = await platform.serde.decoder('rec.interactions-value');
    const out: ItemSets = new Map();
    for await (const record of readTopic(platform.log, 'rec.interactions')) {
      const event = await decoder.decode(record.value!);
      if (event.type !== 'impression' && event.type !== 'skip' && event.type !== 'dislike')
        addTo(out, event.user_id, event.item_id);
    }
    return out;
  } finally {
    await platform.close();
  }
}

async function prepareSynthetic(dataDir: string, scale: Scale): Promise<Prepared> {
  const size =
    scale === 'full'
      ? { users: 5000, items: 1500, events: 400_000 }
      : { users: 1500, items: 500, events: 100_000 };
  const truthPath = join(dataDir, '..', 'synthetic-truth.jsonl');
  await recstream([
    'simulate',
    '--users',
    String(size.users),
    '--items',
    String(size.items),
    '--events',
    String(size.events),
    '--days',
    '14',
    '--seed',
    '7',
    '--truth',
    truthPath,
    '--truth-top',
    '20',
    '--data-dir',
    dataDir,
  ]);
  await processAll(dataDir);
  const holdout: ItemSets = new Map();
  let at = 0;
  for (const line of (await readFile(truthPath, 'utf8')).split('\n')) {
    if (!line) continue;
    const record = JSON.parse(line) as {
      kind?: string;
      at?: number;
      user_id?: string;
      top?: [string, number][];
    };
    if (record.at !== undefined && record.kind === undefined) at = record.at;
    if (record.kind === 'user' && record.top)
      holdout.set(record.user_id!, new Set(record.top.map(([item]) => item)));
  }
  return {
    holdout,
    seen: await interactedItems(dataDir),
    excludeSeen: false,
    now: at,
    config: { ...size, relevant: 'ground truth top 20', seen_left_out: false },
  };
}

async function evaluate(dataDir: string, model: ModelVersion, prepared: Prepared): Promise<EvaluationResult> {
  const platform = await openPlatform(loadConfig({}, { dataDir }), { logger: silentLogger() });
  try {
    return await evaluateModel({
      platform,
      store: new FileArtifactStore(join(dataDir, 'artifacts')),
      model,
      holdout: prepared.holdout,
      seen: prepared.seen,
      excludeSeen: prepared.excludeSeen,
      ks: KS,
      now: prepared.now,
    });
  } finally {
    await platform.close();
  }
}

function rows(
  dataset: string,
  result: EvaluationResult,
  model: ModelVersion,
  seconds: number,
  config: Record<string, unknown>,
): BenchResult[] {
  const out: BenchResult[] = [];
  const common = { dataset, users: result.users, ...config };
  for (const [name, byK] of [
    ['recstream', result.recstream],
    ['popularity', result.popularity],
  ] as const) {
    const cfg = {
      ...common,
      model: name,
      ...(name === 'recstream'
        ? {
            model_version: model.version,
            status: model.status,
            train_seconds: seconds,
            loss: model.params['engine.loss'],
          }
        : {}),
    };
    for (const k of KS) {
      const ref =
        name === 'recstream' ? { name: 'popularity', value: result.popularity[k]!.recall } : undefined;
      out.push(metric('quality', `recall_at_${k}`, byK[k]!.recall, 'ratio', true, cfg, ref));
      out.push(metric('quality', `ndcg_at_${k}`, byK[k]!.ndcg, 'ratio', true, cfg));
    }
    out.push(metric('quality', 'hr_at_20', byK[20]!.hr, 'ratio', true, cfg));
    out.push(metric('quality', 'coverage_at_20', byK[20]!.coverage, 'ratio', true, cfg));
  }
  const auc = model.metrics.ranker_auc;
  const ctr = model.metrics.ctr_baseline_auc;
  if (auc !== undefined && ctr !== undefined)
    out.push(
      metric(
        'quality',
        'ranker_auc',
        auc,
        'ratio',
        true,
        { ...common, model: 'recstream', holdout: 'temporal' },
        { name: 'ctr_baseline_auc', value: ctr },
      ),
    );
  return out;
}

export const qualitySuite: Suite = async ({ scale, workDir, progress }) => {
  const datasets: [string, (dir: string) => Promise<Prepared>][] = [
    ['synthetic', (dir) => prepareSynthetic(dir, scale)],
  ];
  if (existsSync(join(SHARED_DATA, 'lastfm', 'test.txt'))) datasets.push(['lastfm', prepareLastfm]);
  else progress(`lastfm skipped: ${join(SHARED_DATA, 'lastfm')} not found`);
  if (existsSync(join(SHARED_DATA, 'ml-100k', 'u1.base'))) datasets.push(['ml-100k', prepareMovielens]);
  else progress(`ml-100k skipped: ${join(SHARED_DATA, 'ml-100k')} not found`);
  const results: BenchResult[] = [];
  for (const [name, prepare] of datasets) {
    const dataDir = join(workDir, name, 'data');
    progress(`${name}: building the pipeline`);
    const prepared = await prepare(dataDir);
    progress(`${name}: training`);
    const { model, seconds } = await timedTrainRound(dataDir);
    progress(`${name}: scoring ${prepared.holdout.size} users through the serving path`);
    results.push(...rows(name, await evaluate(dataDir, model, prepared), model, seconds, prepared.config));
  }
  return results;
};
