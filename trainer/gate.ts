/**
 * The promotion gate: a candidate is promoted only if, on the same temporal
 * holdout, it is not worse than the popularity baseline and than the
 * currently promoted model by more than the configured margins, its ranker
 * is not worse than the CTR baseline, and every metric is a finite number.
 * Otherwise it is published `rejected` with the reason.
 *
 * Margins are relative: with `previousMargin` 0.02 a candidate may score
 * down to 98 % of the promoted model's Recall@20 (holdout noise) and still
 * replace it. Below that, it is rejected only when the shortfall is more
 * than the comparison's noise: `NOISE_Z` standard errors of the per-user
 * difference between the two models on the same users (the engine's
 * `compared_recall_at_20_se`). A holdout of a minute's new events holds a
 * few hundred users, and two models equally good differ there by a few
 * hundredths either way; a fixed margin alone rejected half of the
 * retrains that had learnt from more data.
 *
 * Against the promoted model, both are scored on the holdout events after
 * the last one the promoted model trained on (the engine's `compared_*`
 * and `previous_*` metrics): a model refit on its whole set has already
 * seen most of a holdout drawn soon after it. With no such events
 * (`previous_holdout_examples` 0, a retrain on the same data) the promoted
 * model is not compared, and the reason says so.
 *
 * A comparison that cannot run never passes silently: with a promoted
 * model whose artifacts did not verify, that the engine could not score
 * (`previous_error`), or whose `previous_*` metrics are missing with
 * held-out events to score it on, or with the popularity baseline or one of
 * the two AUCs missing, the candidate is rejected and the reason names
 * what is missing, unless `allowUncompared` (RECSTREAM_GATE_ALLOW_UNCOMPARED)
 * promotes it anyway; then `override` names what was missing, and the
 * reason says `gate_override: …`. Not missing: no promoted model yet (the
 * first version), a promoted model that trained on every holdout event
 * (`previous_holdout_examples` 0) or whose later events make no query
 * (`previous_holdout_users` 0), and a holdout without impressions of both
 * outcomes (no AUC at all; a responder never lets such a ranker reorder).
 *
 * @example
 * ```ts
 * const decision = gate(metrics, { popularityMargin: 0, previousMargin: 0.02 }, { promotedVersion: 3 });
 * if (!decision.promote) console.log(decision.reason);
 * if (decision.override) params.gate_override = decision.override;
 * ```
 */
export interface GateMargins {
  readonly popularityMargin: number;
  readonly previousMargin: number;
}

/** What the gate knows of the comparison beside the engine's metrics. */
export interface GateComparison {
  /** The promoted version the candidate would replace; undefined when none is promoted yet. */
  readonly promotedVersion?: number;
  /** Why the promoted model's artifacts were not handed to the engine (the artifact that did not verify). */
  readonly unverified?: string;
  /** Why the engine could not score the promoted model (its `previous_error`). */
  readonly engineError?: string;
  /** Promote even when the comparison cannot run; the decision's `override` records what was missing. */
  readonly allowUncompared?: boolean;
}

export interface GateDecision {
  readonly promote: boolean;
  readonly reason: string;
  /** Promoted without a comparison that could not run (`allowUncompared`): what was missing. */
  readonly override?: string;
}

export const GATE_METRIC = 'recall_at_20';

/** A shortfall against the promoted model counts when it exceeds this many standard errors (95 %, two-sided). */
export const NOISE_Z = 1.96;

export function gate(
  metrics: Readonly<Record<string, number>>,
  margins: GateMargins,
  comparison: GateComparison = {},
): GateDecision {
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
  const standardError = metrics[`compared_${GATE_METRIC}_se`];
  const noise = standardError === undefined ? undefined : NOISE_Z * standardError;
  const short = previous !== undefined && compared < previous * (1 - margins.previousMargin);
  if (short && (noise === undefined || previous - compared > noise))
    return {
      promote: false,
      reason: `${GATE_METRIC} ${fmt(compared)} is below the promoted model's ${fmt(previous)} on the holdout events it never trained on (margin ${margins.previousMargin}${noise === undefined ? '' : `, noise ±${fmt(noise)}`})`,
    };
  const auc = metrics.ranker_auc;
  const ctrAuc = metrics.ctr_baseline_auc;
  if (auc !== undefined && ctrAuc !== undefined && auc < ctrAuc * (1 - margins.popularityMargin))
    return {
      promote: false,
      reason: `ranker_auc ${fmt(auc)} is below the CTR baseline's ${fmt(ctrAuc)}`,
    };
  const missing = uncompared(metrics, comparison);
  if (missing.length > 0 && !comparison.allowUncompared)
    return {
      promote: false,
      reason: `the comparison cannot run: ${missing.join('; ')} (RECSTREAM_GATE_ALLOW_UNCOMPARED=true promotes without it)`,
    };
  const versus = [
    popularity === undefined ? undefined : `popularity ${fmt(popularity)}`,
    previous === undefined
      ? undefined
      : `promoted ${fmt(previous)} (this model ${fmt(compared)} on the same events${short ? `, below it within the noise ±${fmt(noise ?? 0)}` : ''})`,
    metrics.previous_holdout_examples === 0
      ? 'the promoted model not compared: it trained on every holdout event'
      : metrics.previous_holdout_users === 0
        ? 'the promoted model not compared: the holdout events after its training make no query'
        : undefined,
  ].filter(Boolean);
  const scored = `${GATE_METRIC} ${fmt(recall)}${versus.length ? ` vs ${versus.join(', ')}` : ''}`;
  if (missing.length === 0) return { promote: true, reason: scored };
  const override = missing.join('; ');
  return { promote: true, reason: `${scored}; gate_override: ${override}`, override };
}

/** What the comparison lacks: each entry names a metric or artifact that is missing and why it matters. */
function uncompared(metrics: Readonly<Record<string, number>>, comparison: GateComparison): string[] {
  const missing: string[] = [];
  if (metrics[`popularity_${GATE_METRIC}`] === undefined)
    missing.push(`the engine reported no popularity_${GATE_METRIC}`);
  const aucs = ['ranker_auc', 'ctr_baseline_auc'].filter((name) => metrics[name] !== undefined);
  if (aucs.length === 1)
    missing.push(
      `the engine reported ${aucs[0]} without ${aucs[0] === 'ranker_auc' ? 'ctr_baseline_auc' : 'ranker_auc'}`,
    );
  const promoted = comparison.promotedVersion;
  if (promoted === undefined || metrics[`previous_${GATE_METRIC}`] !== undefined) return missing;
  if (comparison.unverified !== undefined)
    missing.push(`the promoted model v${promoted} was not compared: ${comparison.unverified}`);
  else if (comparison.engineError !== undefined)
    missing.push(`the promoted model v${promoted} was not compared: ${comparison.engineError}`);
  else if (metrics.previous_holdout_examples !== 0 && metrics.previous_holdout_users !== 0)
    missing.push(`the engine reported no previous_${GATE_METRIC} for the promoted model v${promoted}`);
  return missing;
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
