/**
 * Offline evaluation through the serving path (`recstream eval`): the training part imported into a data dir (or found there), the
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
 * per-user item sets and the holdout's, never users × items. The steps are
 * `training-part.ts`, `model-step.ts` and `serving-scores.ts`; this file
 * runs them in order and serves the model between.
 *
 * @example
 * ```ts
 * const report = await runServingEvaluation(platform, { format: 'lines', train: ['train.txt'], holdout: ['test.txt'], k: 20 }, hooks);
 * report.recstream.recall; report.popularity.recall; report.fallbacks;
 * ```
 */
import { openServingStore } from '../app/serving-store.js';
import { type ImportFormat, openImportSource, type SourceOptions } from '../importers/index.js';
import { Indexer } from '../indexer/indexer.js';
import type { ArtifactStore } from '../registry/model-store.js';
import { rankerUse } from '../registry/ranker-use.js';
import { RecommendationService } from '../responders/recommend/service.js';
import type { Platform } from '../runtime/platform.js';
import {
  evalSnapshotExamples,
  ItemSets,
  processForTraining,
  readItemSets,
  servedAfterLastEvent,
} from './eval-data.js';
import type { EvalHooks, ProgressLine } from './eval-hooks.js';
import { modelStep } from './model-step.js';
import { type ServingScores, scoreThroughServing } from './serving-scores.js';
import { trainingPart } from './training-part.js';

export type { EvalHooks, ProgressLine } from './eval-hooks.js';
export {
  type EvalMetrics,
  type ScoreOptions,
  type ServingScores,
  scoreThroughServing,
} from './serving-scores.js';

export interface ServingEvalOptions {
  readonly format: ImportFormat;
  /** The training part's files, imported in this order (Last.fm: train.txt, valid.txt). */
  readonly train: readonly string[];
  readonly holdout: readonly string[];
  readonly k: number;
  /** Train a new model even when one is promoted. */
  readonly retrain?: boolean;
  readonly concurrency?: number;
  /**
   * The time requests are served at (features read as of it); default each
   * user's own: a second after their last training event.
   */
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
  /** The co-visitation candidates served (RECSTREAM_SERVE_CO_VISITATION*); null when off. */
  readonly co_visitation: {
    readonly candidates: number;
    readonly mode: string;
    readonly weight: number;
  } | null;
  readonly catalog_items: number;
  readonly training_interactions: number;
  /** The time requests were served at (epoch ms); null: each user a second after their own last training event. */
  readonly now: number | null;
  /** Whether the training part was imported by this run (false: found in the data dir). */
  readonly imported: boolean;
  readonly seconds: number;
}

/**
 * An online-store read waits this long while evaluating: on a busy machine a slow read is not
 * what is measured, and a timeout would score a user with the popularity fallback.
 */
export const EVAL_STORE_TIMEOUT_MS = 10_000;

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
  // The model reads the hour of day and the time since the user's last event from it. By default
  // each user comes back a second after their own last event, which every layout of a data set's
  // files and every importer's clock puts in the range the model trained on (decisions.md §30).
  const now = options.now ?? servedAfterLastEvent(seen);

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
      const rankerUsed = bundle === undefined ? undefined : rankerUse(bundle.model.metrics);
      const ranker = bundle?.rankerTrusted ?? false;
      bundle?.release();
      let catalogItems = 0;
      for (const item of service.catalog.values()) if (item.available) catalogItems++;
      hooks.note(
        `scoring through the serving path: ${status.model ?? 'no model'} with ${status.index ?? 'no index'}, ${platform.config.serveCandidates} candidates, ranker ${ranker ? 'applied' : 'not applied'}${rankerUsed === undefined ? '' : ` (${rankerUsed.reason})`}`,
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
        retrievalAlone: ranker,
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
        co_visitation:
          platform.config.serveCoVisitation === 0
            ? null
            : {
                candidates: platform.config.serveCoVisitation,
                mode: platform.config.serveCoVisitationMode,
                weight: platform.config.serveCoVisitationWeight,
              },
        catalog_items: catalogItems,
        training_interactions: seen.interactions,
        now: typeof now === 'number' ? now : null,
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
