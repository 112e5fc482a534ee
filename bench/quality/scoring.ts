/**
 * Scoring a trained model of the `quality` suite through the serving path
 * (evaluation/evaluate-model.ts) and the item-kNN baseline on the same
 * users (evaluation/item-knn-eval.ts), and the result rows: per model
 * (`recstream`, `popularity`, `item-knn`, and `ceiling` where there is
 * one) recall and NDCG at every cut-off, hit rate and coverage at 20, and
 * the ranker's AUC beside the click-through-rate baseline's.
 *
 * @example
 * ```ts
 * const results = qualityRows('lastfm', await evaluate(dataDir, model, prepared), model, seconds, prepared.config, {
 *   itemKnn: itemKnn(prepared),
 * });
 * ```
 */
import { join } from 'node:path';
import { type EvaluationResult, evaluateModel } from '../../evaluation/evaluate-model.js';
import { evaluateItemKnn, type ItemKnnEvalResult } from '../../evaluation/item-knn-eval.js';
import type { RankingResult } from '../../evaluation/ranking-metrics.js';
import { FileArtifactStore } from '../../registry/model-store.js';
import { loadConfig } from '../../runtime/config.js';
import { silentLogger } from '../../runtime/observability/logger.js';
import type { ModelVersion } from '../../schemas/generated/types.js';
import { openPlatform } from '../../schemas/platform.js';
import { type BenchResult, metric } from '../result.js';
import { KS, type Prepared } from './pipeline.js';

export async function evaluate(
  dataDir: string,
  model: ModelVersion,
  prepared: Prepared,
): Promise<EvaluationResult> {
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

/** The item-kNN baseline (cosine, 200 neighbours) on the prepared data set's users, with the same exclusions. */
export function itemKnn(prepared: Prepared): ItemKnnEvalResult {
  return evaluateItemKnn({
    seen: prepared.seen,
    holdout: prepared.holdout,
    excludeSeen: prepared.excludeSeen,
    ks: KS,
  });
}

/** Rows beside recstream's and popularity's: the reference ranking and the item-kNN baseline, where measured. */
export interface OtherRows {
  readonly ceiling?: Readonly<Record<number, RankingResult>>;
  readonly itemKnn?: ItemKnnEvalResult;
}

export function qualityRows(
  dataset: string,
  result: EvaluationResult,
  model: ModelVersion,
  seconds: number,
  config: Record<string, unknown>,
  others: OtherRows = {},
): BenchResult[] {
  const out: BenchResult[] = [];
  const common = { dataset, users: result.users, ...config };
  const models: [string, Readonly<Record<number, RankingResult>>, Record<string, unknown>][] = [
    [
      'recstream',
      result.recstream,
      {
        model_version: model.version,
        status: model.status,
        train_seconds: seconds,
        loss: model.params['engine.loss'],
        retrieval_epochs: Number(model.params['engine.retrieval_epochs']),
      },
    ],
    ['popularity', result.popularity, {}],
  ];
  const knn = others.itemKnn;
  if (knn)
    models.push([
      'item-knn',
      knn.byK,
      { similarity: 'cosine', neighbours: knn.neighbours, train_seconds: knn.buildSeconds, items: knn.items },
    ]);
  if (others.ceiling) models.push(['ceiling', others.ceiling, {}]);
  for (const [name, byK, own] of models) {
    const cfg = { ...common, model: name, ...own };
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
