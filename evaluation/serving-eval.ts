/**
 * Offline evaluation through the serving path (`recstream eval`, DESIGN.md
 * §7): the training part imported into a data dir (or found there), the
 * `features` and `snapshots` applications run to its end, a model trained
 * (or the promoted one used) and indexed, then every holdout user asked
 * for K items through `RecommendationService` — the code
 * `GET /v1/recommendations` runs: online-store view, user tower, ANN
 * retrieval with its filters, the ranker when trusted, diversification,
 * fallbacks — with the user's training items excluded. The popularity
 * baseline (most interacted items of the training part, the user's own
 * left out) is scored on the same users in the same run.
 *
 * Users are scored `concurrency` at a time; memory is the training part's
 * per-user item sets and the holdout's, never users × items.
 *
 * @example
 * ```ts
 * const report = await runServingEvaluation(platform, { format: 'lines', train: ['train.txt'], holdout: ['test.txt'], k: 20 }, hooks);
 * report.recstream.recall; report.popularity.recall; report.fallbacks;
 * ```
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openServingStore } from '../app/serving-store.js';
import {
  type ImportFormat,
  type ImportSource,
  openImportSource,
  runImport,
  type SourceOptions,
} from '../importers/index.js';
import { sourceName } from '../importers/source.js';
import { Indexer } from '../indexer/indexer.js';
import { ModelRegistry } from '../registry/model-registry.js';
import type { ArtifactStore } from '../registry/model-store.js';
import { readTopic } from '../registry/topic-reader.js';
import type { Recommender, RecommendResult } from '../responders/recommend/recommender.js';
import { RecommendationService } from '../responders/recommend/service.js';
import { ImportError } from '../runtime/errors.js';
import type { Platform } from '../runtime/platform.js';
import type { EngineEvent } from '../trainer/engine.js';
import { Trainer } from '../trainer/trainer.js';
import {
  collectingInto,
  DAY_MS,
  evalSnapshotExamples,
  ItemSets,
  movieLensInTimeOrder,
  movieLensRatingsFile,
  processForTraining,
  readItemSets,
} from './eval-data.js';
import { PopularityBaseline } from './popularity-baseline.js';
import { RankingMetrics } from './ranking-metrics.js';

/** Recall@K, NDCG@K, HR@K and catalog coverage of one recommender (DESIGN.md §7). */
export interface EvalMetrics {
  readonly recall: number;
  readonly ndcg: number;
  readonly hr: number;
  readonly coverage: number;
}

export interface ServingScores {
  readonly users: number;
  readonly recstream: EvalMetrics;
  readonly popularity: EvalMetrics;
  /** Users served a fallback, by reason. */
  readonly fallbacks: Record<string, number>;
  /** Users served by the model (no fallback). */
  readonly personalised: number;
}

export interface ScoreOptions {
  readonly recommender: Pick<Recommender, 'recommend'>;
  /** Per user, the items to find (users with none are not scored). */
  readonly holdout: ReadonlyMap<string, ReadonlySet<string>>;
  /** Per user, the training part's items: excluded from both lists; popularity counts them. */
  readonly seen: ReadonlyMap<string, ReadonlySet<string>>;
  readonly k: number;
  /** Items that could be recommended (the coverage denominator). */
  readonly catalogSize: number;
  /** The time features are read as of. */
  readonly now: number;
  /** Requests in flight; default 16. */
  readonly concurrency?: number;
  readonly onProgress?: (done: number, total: number) => void;
}

const EMPTY: ReadonlySet<string> = new Set();

const metricsOf = (m: RankingMetrics): EvalMetrics => {
  const { recall, ndcg, hr, coverage } = m.result();
  return { recall, ndcg, hr, coverage };
};

/** Every holdout user through `recommender` and through the popularity baseline. */
export async function scoreThroughServing(options: ScoreOptions): Promise<ServingScores> {
  const { recommender, holdout, seen, k, now } = options;
  const ours = new RankingMetrics(k, options.catalogSize);
  const popular = new RankingMetrics(k, options.catalogSize);
  const baseline = PopularityBaseline.fromSeen(seen.values());
  const users = [...holdout.keys()].filter((u) => holdout.get(u)!.size > 0).sort();
  const fallbacks: Record<string, number> = {};
  let personalised = 0;
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < users.length) {
      const userId = users[next++]!;
      const own = seen.get(userId) ?? EMPTY;
      const relevant = holdout.get(userId)!;
      const result: RecommendResult = await recommender.recommend({ userId, k, exclude: own, now });
      ours.add(
        result.items.map((r) => r.item_id),
        relevant,
      );
      popular.add(baseline.top(k, own), relevant);
      if (result.fallback === null) personalised++;
      else fallbacks[result.fallback] = (fallbacks[result.fallback] ?? 0) + 1;
      options.onProgress?.(++done, users.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 16) }, worker));
  return {
    users: users.length,
    recstream: metricsOf(ours),
    popularity: metricsOf(popular),
    fallbacks,
    personalised,
  };
}

/** A progress line of one step (cli/progress.ts's Progress has this shape). */
export interface ProgressLine {
  update(done: number, extra?: Record<string, string | number>): void;
  done(extra?: Record<string, string | number>): void;
}

export interface EvalHooks {
  /** One line of what happens (found an import, trained, indexed…). */
  note(line: string): void;
  progress(label: string, total: number | undefined): ProgressLine;
  onEngineEvent?: (event: EngineEvent) => void;
}

export interface ServingEvalOptions {
  readonly format: ImportFormat;
  /** The training part's files, imported in this order (Last.fm: train.txt, valid.txt). */
  readonly train: readonly string[];
  readonly holdout: readonly string[];
  readonly k: number;
  /** Train a new model even when one is promoted. */
  readonly retrain?: boolean;
  readonly concurrency?: number;
  /** The time requests are served at (features read as of it); default a day after the training part's last event. */
  readonly now?: number;
  /** Options of the format (csv: map, delimiter). */
  readonly sourceOptions?: SourceOptions;
}

export interface ServingEvalReport extends ServingScores {
  readonly k: number;
  readonly model_version: string | null;
  readonly index_version: string | null;
  /** Whether the ranker reordered retrieval (its holdout AUC beat the CTR baseline's). */
  readonly ranker: boolean;
  /** Retrieval depth (RECSTREAM_SERVE_CANDIDATES). */
  readonly candidates: number;
  readonly catalog_items: number;
  readonly training_interactions: number;
  /** The time requests were served at (epoch ms). */
  readonly now: number;
  /** Whether the training part was imported by this run (false: found in the data dir). */
  readonly imported: boolean;
  readonly seconds: number;
}

/**
 * An online-store read waits this long while evaluating: on a busy machine a slow read is not
 * what is measured, and a timeout would score a user with the popularity fallback.
 */
export const EVAL_STORE_TIMEOUT_MS = 10_000;

/** The next file of a training part starts a day after the previous one ends (time follows file order). */
const nextStart = (maxTs: number) => Math.ceil(maxTs / DAY_MS) * DAY_MS + DAY_MS;

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
async function trainingPart(
  platform: Platform,
  options: ServingEvalOptions,
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
      start = nextStart(sets.maxTs);
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

/** The promoted model, trained first when there is none or `retrain` asks for a new one. */
async function modelStep(
  platform: Platform,
  store: ArtifactStore,
  retrain: boolean,
  hooks: EvalHooks,
): Promise<void> {
  const { log, serde, config } = platform;
  const promoted = (await ModelRegistry.load(log, serde)).promoted(config.modelName);
  if (promoted && !retrain) {
    hooks.note(
      `using the promoted model ${promoted.model} v${promoted.version} (--retrain trains a new one)`,
    );
    return;
  }
  let gather: ProgressLine | undefined;
  const outcome = await new Trainer({
    platform,
    store,
    onEngineEvent: hooks.onEngineEvent,
    onGather: (read, total) => {
      gather ??= hooks.progress('gather training set', total);
      gather.update(read);
    },
  }).trainOnce({ force: retrain });
  gather?.done();
  if (outcome.kind !== 'published') {
    hooks.note(`no new model version: ${outcome.detail}`);
  } else {
    const v = outcome.version;
    const recall = v.metrics.recall_at_20;
    const popularity = v.metrics.popularity_recall_at_20;
    hooks.note(
      `trained ${v.model} v${v.version}: ${v.status}${v.reason ? ` (${v.reason})` : ''}; holdout recall@20 ${recall?.toFixed(4) ?? '-'} vs popularity ${popularity?.toFixed(4) ?? '-'}`,
    );
  }
  const now = (await ModelRegistry.load(log, serde)).promoted(config.modelName);
  if (!now)
    hooks.note(
      `warning: ${config.modelName} has no promoted version, so the serving path serves popularity (fallback no_model); \`recstream models promote <version>\` serves a rejected one`,
    );
}

/** See the module comment. `platform` is opened read-write on the data dir (the embedded log's one writer). */
export async function runServingEvaluation(
  platform: Platform,
  store: ArtifactStore,
  options: ServingEvalOptions,
  hooks: EvalHooks,
): Promise<ServingEvalReport> {
  const started = performance.now();
  const { sets: seen, imported } = await trainingPart(platform, options, hooks);
  const holdout = new ItemSets();
  for (const path of options.holdout)
    await readItemSets(await openImportSource(options.format, path, options.sourceOptions ?? {}), holdout);
  // The model reads the hour of day and the time since the user's last event from it.
  const now = options.now ?? seen.maxTs + DAY_MS;

  let bar: ProgressLine | undefined;
  let application = '';
  await processForTraining(
    platform,
    (p) => {
      if (p.application !== application) {
        bar?.done();
        application = p.application;
        bar = hooks.progress(`process ${p.application}`, p.total);
      }
      bar!.update(p.read, { processed: p.processed });
    },
    evalSnapshotExamples(seen.interactions, platform.config.partitions),
  );
  bar?.done();

  await modelStep(platform, store, options.retrain === true, hooks);
  const indexed = await new Indexer({ platform, store }).indexOnce();
  if (indexed.kind === 'full' || indexed.kind === 'delta')
    hooks.note(
      `indexed ${indexed.version.index} v${indexed.version.version} (${indexed.version.kind}) for ${indexed.version.model} v${indexed.version.model_version}: ${indexed.version.item_count} items`,
    );

  // The serving path as `recstream serve` builds it, with a store timeout for a busy machine.
  const serving: Platform = {
    ...platform,
    config: {
      ...platform.config,
      serveStoreTimeoutMs: Math.max(platform.config.serveStoreTimeoutMs, EVAL_STORE_TIMEOUT_MS),
    },
  };
  const online = await openServingStore(serving);
  try {
    const service = await RecommendationService.start({
      platform: serving,
      online: online.online,
      store,
      // Nothing changes while evaluating: the lists are built once.
      popularityRefreshMs: 3_600_000,
    });
    try {
      const status = service.bundles.status();
      if (status.problem !== null) hooks.note(`serving: ${status.problem}`);
      const bundle = service.bundles.acquire();
      const ranker = bundle?.rankerTrusted ?? false;
      bundle?.release();
      let catalogItems = 0;
      for (const item of service.catalog.values()) if (item.available) catalogItems++;
      hooks.note(
        `scoring through the serving path: ${status.model ?? 'no model'} with ${status.index ?? 'no index'}, ${platform.config.serveCandidates} candidates, ranker ${ranker ? 'applied' : 'not applied (no holdout AUC above the CTR baseline)'}`,
      );
      const scoring = hooks.progress('eval users', holdout.size);
      const scores = await scoreThroughServing({
        recommender: service.recommender,
        holdout,
        seen,
        k: options.k,
        catalogSize: catalogItems,
        now,
        concurrency: options.concurrency,
        onProgress: (done) => scoring.update(done),
      });
      scoring.done({ users: scores.users });
      return {
        k: options.k,
        ...scores,
        model_version: status.model,
        index_version: status.index,
        ranker,
        candidates: platform.config.serveCandidates,
        catalog_items: catalogItems,
        training_interactions: seen.interactions,
        now,
        imported,
        seconds: (performance.now() - started) / 1000,
      };
    } finally {
      await service.close();
    }
  } finally {
    await online.close();
  }
}
