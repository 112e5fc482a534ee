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
 * - `lastfm` (`lastfm/` in BENCH_DATA_DIR): train.txt + valid.txt → test.txt,
 *   all items ranked (the graph-CF protocol).
 * - `ml-100k` (`ml-100k/` in BENCH_DATA_DIR): u1.base → u1.test, every rated
 *   test item relevant.
 * - `synthetic`: a simulated world; relevant = each user's 20 most
 *   preferred items by the simulator's ground truth, nothing left out.
 *   Beside popularity, a `ceiling` row for scale (see `ceiling`): what the
 *   world's interactions allow a ranker that is handed the simulator's own
 *   item vectors.
 *
 * The pipeline runs with snapshots of 500 examples per partition, so that
 * the tail a finite import leaves in open snapshots is small (see
 * `processAll`); what is trained on is reported in `config`.
 *
 * `RECSTREAM_QUALITY_DATASETS=synthetic` (a comma-separated list) runs only
 * those data sets; the rows of the others are kept as they were in
 * `bench/results/quality.json`, so the file still holds every data set.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type EvaluationResult, evaluateModel } from '../../evaluation/evaluate-model.js';
import { RankingMetrics, type RankingResult } from '../../evaluation/ranking-metrics.js';
import { FileArtifactStore } from '../../registry/model-store.js';
import { readTopic } from '../../registry/topic-reader.js';
import { loadConfig } from '../../runtime/config.js';
import { silentLogger } from '../../runtime/observability/logger.js';
import type { ModelVersion } from '../../schemas/generated/types.js';
import { openPlatform } from '../../schemas/platform.js';
import { BENCH_DATA_DIR } from '../datasets.js';
import { recstream } from '../recstream-cli.js';
import { type BenchResult, metric, type Scale, type Suite } from '../result.js';
import { timedTrainRound } from '../train-round.js';

/** The suite's results file (what `recstream bench` writes), whether run from dist/ or a checkout. */
const RESULTS_FILE = resolve(dirname(fileURLToPath(import.meta.url)), '../../../bench/results/quality.json');
const DATASETS = ['synthetic', 'lastfm', 'ml-100k'];
const KS = [10, 20, 50];
const DAY_MS = 86_400_000;

type ItemSets = Map<string, Set<string>>;

interface Prepared {
  readonly holdout: ItemSets;
  readonly seen: ItemSets;
  readonly excludeSeen?: boolean;
  readonly now: number;
  readonly config: Record<string, unknown>;
  /** A reference ranking's metrics on the same users (synthetic: the ceiling). */
  readonly ceiling?: Readonly<Record<number, RankingResult>>;
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
  const dir = join(BENCH_DATA_DIR, 'lastfm');
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

interface InteractionLog {
  /** Per user, the items of their non-impression interactions (what popularity counts). */
  readonly seen: ItemSets;
  /** Per user, the items they clicked. */
  readonly clicked: ItemSets;
  /** Per item, impressions and clicks. */
  readonly shown: Map<string, number>;
  readonly clicks: Map<string, number>;
}

async function readInteractions(dataDir: string): Promise<InteractionLog> {
  const platform = await openPlatform(loadConfig({}, { dataDir }), { logger: silentLogger() });
  const log: InteractionLog = { seen: new Map(), clicked: new Map(), shown: new Map(), clicks: new Map() };
  const count = (map: Map<string, number>, item: string) => map.set(item, (map.get(item) ?? 0) + 1);
  try {
    const decoder = await platform.serde.decoder('rec.interactions-value');
    for await (const record of readTopic(platform.log, 'rec.interactions')) {
      const event = await decoder.decode(record.value!);
      if (event.type === 'impression') count(log.shown, event.item_id);
      else if (event.type !== 'skip' && event.type !== 'dislike')
        addTo(log.seen, event.user_id, event.item_id);
      if (event.type === 'click') {
        count(log.clicks, event.item_id);
        addTo(log.clicked, event.user_id, event.item_id);
      }
    }
    return log;
  } finally {
    await platform.close();
  }
}

interface TruthFile {
  readonly at: number;
  readonly weights: { taste: number; quality: number; language: number; english: number };
  readonly items: { id: string; vector: number[]; language: string; available: boolean }[];
  readonly users: { id: string; language: string; top: Set<string> }[];
}

async function readTruth(path: string): Promise<TruthFile> {
  const truth: TruthFile = {
    at: 0,
    weights: { taste: 0, quality: 0, language: 0, english: 0 },
    items: [],
    users: [],
  };
  for (const line of (await readFile(path, 'utf8')).split('\n')) {
    if (!line) continue;
    const r = JSON.parse(line);
    if (r.kind === undefined) Object.assign(truth, { at: r.at, weights: r.weights });
    else if (r.kind === 'item')
      truth.items.push({ id: r.item_id, vector: r.vector, language: r.language, available: r.available });
    else if (r.kind === 'user' && r.top)
      truth.users.push({
        id: r.user_id,
        language: r.language,
        top: new Set(r.top.map(([item]: [string]) => item)),
      });
  }
  return truth;
}

/**
 * What the interactions allow, for scale: the truth's preference formula with the simulator's own
 * item vectors (which a model has to learn from the events) and its weights and language bonus, but
 * each user's taste taken from the events (the mean vector of the items they clicked; none for a
 * user who clicked nothing) and each item's quality from them too (its smoothed click-through rate
 * per impression, standardised): the hidden quality and taste are what no ranker sees. Available
 * items only.
 */
function ceiling(truth: TruthFile, log: InteractionLog): Record<number, RankingResult> {
  const { weights, items } = truth;
  const dims = items[0]?.vector.length ?? 0;
  const index = new Map(items.map((item, i) => [item.id, i]));
  const ctr = items.map((item) =>
    Math.log(((log.clicks.get(item.id) ?? 0) + 1) / ((log.shown.get(item.id) ?? 0) + 10)),
  );
  const mean = ctr.reduce((a, b) => a + b, 0) / Math.max(1, ctr.length);
  const sd = Math.sqrt(ctr.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, ctr.length)) || 1;
  const metrics = new Map(KS.map((k) => [k, new RankingMetrics(k, items.length)]));
  for (const user of truth.users) {
    const taste = new Array<number>(dims).fill(0);
    for (const item of log.clicked.get(user.id) ?? []) {
      const at = index.get(item);
      if (at === undefined) continue;
      for (let d = 0; d < dims; d++) taste[d]! += items[at]!.vector[d]!;
    }
    const norm = Math.hypot(...taste) || 1;
    const scored = items.flatMap((item, i) => {
      if (!item.available) return [];
      const dot = item.vector.reduce((a, x, d) => a + x * taste[d]!, 0) / norm;
      const language =
        item.language === user.language ? weights.language : item.language === 'en' ? weights.english : 0;
      return [
        { id: item.id, score: weights.taste * dot + (weights.quality * (ctr[i]! - mean)) / sd + language },
      ];
    });
    scored.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
    const ranked = scored.map((item) => item.id);
    for (const m of metrics.values()) m.add(ranked, user.top);
  }
  return Object.fromEntries([...metrics].map(([k, m]) => [k, m.result()]));
}

async function prepareSynthetic(dataDir: string, scale: Scale): Promise<Prepared> {
  // About 270 events per user at both scales, so that a median user has clicked eight items: with
  // two (the 100,000 events this world once had) even the ceiling stays under 3× popularity, since
  // nothing can learn a taste from so little (docs/decisions.md §14).
  const size =
    scale === 'full'
      ? { users: 5000, items: 1500, events: 1_350_000 }
      : { users: 1500, items: 500, events: 400_000 };
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
  const truth = await readTruth(truthPath);
  const log = await readInteractions(dataDir);
  return {
    holdout: new Map(truth.users.map((user) => [user.id, user.top])),
    seen: log.seen,
    excludeSeen: false,
    now: truth.at,
    config: { ...size, relevant: 'ground truth top 20', seen_left_out: false },
    ceiling: ceiling(truth, log),
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
  ceiling?: Readonly<Record<number, RankingResult>>,
): BenchResult[] {
  const out: BenchResult[] = [];
  const common = { dataset, users: result.users, ...config };
  const models: [string, Readonly<Record<number, RankingResult>>][] = [
    ['recstream', result.recstream],
    ['popularity', result.popularity],
  ];
  if (ceiling) models.push(['ceiling', ceiling]);
  for (const [name, byK] of models) {
    const cfg = {
      ...common,
      model: name,
      ...(name === 'recstream'
        ? {
            model_version: model.version,
            status: model.status,
            train_seconds: seconds,
            loss: model.params['engine.loss'],
            retrieval_epochs: Number(model.params['engine.retrieval_epochs']),
          }
        : {}),
    };
    for (const k of KS) {
      const ref =
        name !== 'popularity' ? { name: 'popularity', value: result.popularity[k]!.recall } : undefined;
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

/** The data sets `RECSTREAM_QUALITY_DATASETS` names (all when unset). */
function selectedDatasets(): Set<string> {
  const named = (process.env.RECSTREAM_QUALITY_DATASETS ?? '')
    .split(',')
    .map((d) => d.trim())
    .filter(Boolean);
  const unknown = named.filter((d) => !DATASETS.includes(d));
  if (unknown.length)
    throw new RangeError(
      `RECSTREAM_QUALITY_DATASETS: unknown data set(s) ${unknown.join(', ')}; known: ${DATASETS.join(', ')}`,
    );
  return new Set(named.length ? named : DATASETS);
}

/** The rows of the data sets not run this time, from the results file as it was. */
async function keptRows(run: Set<string>): Promise<BenchResult[]> {
  if (!existsSync(RESULTS_FILE)) return [];
  const previous = JSON.parse(await readFile(RESULTS_FILE, 'utf8')) as BenchResult[];
  return previous.filter((row) => !run.has(String(row.config.dataset)));
}

export const qualitySuite: Suite = async ({ scale, workDir, progress }) => {
  const selected = selectedDatasets();
  const datasets: [string, (dir: string) => Promise<Prepared>][] = [];
  if (selected.has('synthetic')) datasets.push(['synthetic', (dir) => prepareSynthetic(dir, scale)]);
  for (const [name, file, prepare] of [
    ['lastfm', 'test.txt', prepareLastfm],
    ['ml-100k', 'u1.base', prepareMovielens],
  ] as const) {
    if (!selected.has(name)) continue;
    if (existsSync(join(BENCH_DATA_DIR, name, file))) datasets.push([name, prepare]);
    else progress(`${name} skipped: ${join(BENCH_DATA_DIR, name)} not found`);
  }
  const results: BenchResult[] = [];
  for (const [name, prepare] of datasets) {
    const dataDir = join(workDir, name, 'data');
    progress(`${name}: building the pipeline`);
    const prepared = await prepare(dataDir);
    progress(`${name}: training`);
    const { model, seconds } = await timedTrainRound(dataDir);
    progress(`${name}: scoring ${prepared.holdout.size} users through the serving path`);
    results.push(
      ...rows(
        name,
        await evaluate(dataDir, model, prepared),
        model,
        seconds,
        prepared.config,
        prepared.ceiling,
      ),
    );
  }
  if (selected.size < DATASETS.length)
    results.push(...(await keptRows(new Set(datasets.map(([name]) => name)))));
  return results;
};
