/**
 * The promotion gate: a candidate is promoted only if, on the same temporal
 * holdout, it is not worse than the popularity baseline and than the
 * currently promoted model by more than the configured margins, its ranker
 * is not worse than the CTR baseline, and every metric is a finite number.
 * Otherwise it is published `rejected` with the reason.
 *
 * Margins are relative: with `previousMargin` 0.02 a candidate may score
 * down to 98 % of the promoted model's Recall@20 (holdout noise) and still
 * replace it.
 *
 * Against the promoted model, both are scored on the holdout events after
 * the last one the promoted model trained on (the engine's `compared_*`
 * and `previous_*` metrics): a model refit on its whole set has already
 * seen most of a holdout drawn soon after it. With no such events
 * (`previous_holdout_examples` 0, a retrain on the same data) the promoted
 * model is not compared, and the reason says so.
 *
 * @example
 * ```ts
 * const decision = gate(metrics, { popularityMargin: 0, previousMargin: 0.02 });
 * if (!decision.promote) console.log(decision.reason);
 * ```
 */
export interface GateMargins {
  readonly popularityMargin: number;
  readonly previousMargin: number;
}

export interface GateDecision {
  readonly promote: boolean;
  readonly reason: string;
}

export const GATE_METRIC = 'recall_at_20';

export function gate(metrics: Readonly<Record<string, number>>, margins: GateMargins): GateDecision {
  const bad = Object.entries(metrics).filter(([, v]) => typeof v !== 'number' || !Number.isFinite(v));
  if (bad.length > 0)
    return {
      promote: false,
      reason: `metrics that are not finite numbers: ${bad.map(([k]) => k).join(', ')}`,
    };
  const recall = metrics[GATE_METRIC];
  if (recall === undefined) return { promote: false, reason: `the engine reported no ${GATE_METRIC}` };
  const fmt = (x: number) => x.toFixed(4);
  const popularity = metrics[`popularity_${GATE_METRIC}`];
  if (popularity !== undefined && recall < popularity * (1 - margins.popularityMargin))
    return {
      promote: false,
      reason: `${GATE_METRIC} ${fmt(recall)} is below the popularity baseline's ${fmt(popularity)} (margin ${margins.popularityMargin})`,
    };
  const previous = metrics[`previous_${GATE_METRIC}`];
  const compared = metrics[`compared_${GATE_METRIC}`] ?? recall;
  if (previous !== undefined && compared < previous * (1 - margins.previousMargin))
    return {
      promote: false,
      reason: `${GATE_METRIC} ${fmt(compared)} is below the promoted model's ${fmt(previous)} on the holdout events it never trained on (margin ${margins.previousMargin})`,
    };
  const auc = metrics.ranker_auc;
  const ctrAuc = metrics.ctr_baseline_auc;
  if (auc !== undefined && ctrAuc !== undefined && auc < ctrAuc * (1 - margins.popularityMargin))
    return {
      promote: false,
      reason: `ranker_auc ${fmt(auc)} is below the CTR baseline's ${fmt(ctrAuc)}`,
    };
  const versus = [
    popularity === undefined ? undefined : `popularity ${fmt(popularity)}`,
    previous === undefined
      ? undefined
      : `promoted ${fmt(previous)} (this model ${fmt(compared)} on the same events)`,
    metrics.previous_holdout_examples === 0
      ? 'the promoted model not compared: it trained on every holdout event'
      : undefined,
  ].filter(Boolean);
  return {
    promote: true,
    reason: `${GATE_METRIC} ${fmt(recall)}${versus.length ? ` vs ${versus.join(', ')}` : ''}`,
  };
}

/**
 * The `previous_compared` param of a candidate: the promoted version it was
 * scored against, or `none` when the engine compared nothing (no promoted
 * model, artifacts that did not verify, or no holdout event after the
 * promoted model's training).
 *
 * @example
 * ```ts
 * comparedVersion(3, { previous_recall_at_20: 0.25, previous_holdout_examples: 812 }); // '3'
 * comparedVersion(3, { previous_holdout_examples: 0 }); // 'none'
 * ```
 */
export function comparedVersion(
  promotedVersion: number | undefined,
  metrics: Readonly<Record<string, number>>,
): string {
  return promotedVersion !== undefined && metrics[`previous_${GATE_METRIC}`] !== undefined
    ? String(promotedVersion)
    : 'none';
}
