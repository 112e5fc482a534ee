/**
 * Whether a model version's ranker reorders what retrieval found when the
 * version serves, and why: it does only where it earned it on the
 * trainer's holdout, its click AUC above the smoothed-CTR baseline's on
 * the same impressions. Elsewhere retrieval's order is served as it is,
 * since a ranker no better than the items' click-through rates would only
 * trade retrieval's order for theirs. One rule, read by the responder, by
 * `recstream eval` and by `models list`, so the three cannot disagree.
 *
 * @example
 * ```ts
 * rankerUse({ ranker_auc: 0.78, ctr_baseline_auc: 0.71 });
 * // { serves: true, reason: 'ranker_auc 0.7800 above the CTR baseline's 0.7100 on the holdout' }
 * ```
 */

export interface RankerUse {
  /** Whether the ranker reorders retrieval's candidates when the version serves. */
  readonly serves: boolean;
  readonly reason: string;
}

export function rankerUse(metrics: Readonly<Record<string, number>>): RankerUse {
  const auc = metrics.ranker_auc;
  const baseline = metrics.ctr_baseline_auc;
  if (auc === undefined)
    return {
      serves: false,
      reason: 'no ranker_auc: the holdout had no impressions, clicked and not, to score the ranker on',
    };
  if (baseline === undefined)
    return { serves: false, reason: `ranker_auc ${auc.toFixed(4)} without a CTR baseline to beat` };
  if (auc > baseline)
    return {
      serves: true,
      reason: `ranker_auc ${auc.toFixed(4)} above the CTR baseline's ${baseline.toFixed(4)} on the holdout`,
    };
  return {
    serves: false,
    reason: `ranker_auc ${auc.toFixed(4)} not above the CTR baseline's ${baseline.toFixed(4)} on the holdout`,
  };
}
