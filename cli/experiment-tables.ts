/**
 * How `recstream experiments list` and `show` print experiments and their
 * online figures, as plain-text tables; pure functions of what they are
 * given, so a test builds the figures and reads the table.
 *
 * The figures of a variant are what the experiment-metrics processor keeps
 * per experiment and variant (requests, impressions, clicks, click-through
 * with its confidence interval, latency) and the sequential test's verdict
 * on it against the control; `renderFigures` takes them by variant name.
 *
 * @example
 * ```ts
 * process.stdout.write(renderExperiment(experiment));
 * process.stdout.write(renderFigures(experiment, { control: figures, candidate: other }));
 * ```
 */
import type { ExperimentReport, VariantReport } from '../processors/experiment-metrics/report.js';
import type { Experiment, ExperimentVariant } from '../schemas/generated/types.js';

/** One variant's online figures. */
export interface VariantFigures {
  readonly requests: number;
  readonly impressions: number;
  readonly clicks: number;
  /** Clicks per impression; null before the first impression. */
  readonly ctr: number | null;
  /** The click-through's confidence interval, [low, high]. */
  readonly ctr_ci: readonly [number, number] | null;
  /** Engaged time (largest `watch_ms` per clicked exposure) per request, in milliseconds. */
  readonly engaged_ms_per_request: number;
  /** Share of the variant's lists a fallback served. */
  readonly fallback_rate: number;
  /** The responder's p99 latency serving the variant, in milliseconds. */
  readonly latency_p99_ms: number | null;
  /** Whether the variant is the control the others are tested against. */
  readonly control: boolean;
  /** The test's decision against the control, in words; null for the control and shadow variants. */
  readonly verdict: string | null;
}

/** Figures by variant name. */
export type FiguresByVariant = Readonly<Record<string, VariantFigures>>;

/** The figures of each variant of a report (`readExperimentFigures`), by name; `{}` without a report. */
export function figuresOf(report: ExperimentReport | undefined): Record<string, VariantReport> {
  return Object.fromEntries((report?.variants ?? []).map((v) => [v.name, v]));
}

const pct = (share: number) => `${+(share * 100).toFixed(2)}%`;

/** `candidate recstream@3 5% · control promoted 95%` (shadow variants marked). */
export function describeVariants(variants: readonly ExperimentVariant[]): string {
  return variants.map((v) => `${v.name} ${v.model} ${v.shadow ? 'shadow' : pct(v.share)}`).join(' · ');
}

/** A table with a header row, columns padded to their widest cell. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  return rows
    .map((row) =>
      row
        .map((cell, c) => cell.padEnd(widths[c]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** The `experiments list` table: id, status, variants, traffic slice, created. */
export function renderList(experiments: readonly Experiment[]): string {
  if (experiments.length === 0) return 'no experiments yet (recstream experiments start <file.json>)\n';
  const rows = experiments.map((e) => [
    e.id,
    e.status,
    describeVariants(e.variants),
    `[${e.traffic_start}, ${e.traffic_end})`,
    new Date(e.created_ts).toISOString(),
  ]);
  return `${table([['id', 'status', 'variants', 'traffic', 'created'], ...rows])}\n`;
}

/** The experiment itself, for `experiments show`: its state, slice, metrics, guardrails and canary plan. */
export function renderExperiment(e: Experiment): string {
  const lines = [
    `${e.id}  ${e.status}${e.reason ? ` (${e.reason})` : ''}`,
    e.description ? `  ${e.description}` : undefined,
    `  traffic [${e.traffic_start}, ${e.traffic_end})  salt ${e.salt}  primary metric ${e.primary_metric}`,
    `  created ${new Date(e.created_ts).toISOString()}  updated ${new Date(e.updated_ts).toISOString()}`,
    e.guardrails.length === 0
      ? undefined
      : `  guardrails ${e.guardrails.map((g) => `${g.metric} ±${g.tolerance}`).join(', ')}`,
    e.canary === null
      ? undefined
      : `  canary ${e.canary.candidate}: steps ${e.canary.steps.map(pct).join(' → ')}, at ${pct(e.canary.steps[e.canary.step]!)} since ${new Date(e.canary.step_started_ts).toISOString()}`,
  ];
  return `${lines.filter((line) => line !== undefined).join('\n')}\n`;
}

const count = (n: number) => n.toLocaleString('en-US');
const ratio = (x: number) => `${(x * 100).toFixed(2)}%`;

/**
 * The figures table of `experiments show`: one row per variant in the
 * experiment's order, `-` where a figure is not there yet (no impressions,
 * or no figures at all for a variant that has served nobody).
 *
 * @example
 * ```ts
 * renderFigures(experiment, { control: { requests: 1200, impressions: 12000, clicks: 600, ctr: 0.05,
 *   ctr_ci: [0.046, 0.054], engaged_ms_per_request: 1500, fallback_rate: 0.01, latency_p99_ms: 8.1,
 *   control: true, verdict: null } });
 * // variant  model     share  requests  impressions  clicks  ctr [interval]        engaged s/req  fallback  p99 ms  verdict
 * // control  promoted  50%    1,200     12,000       600     5.00% [4.60%, 5.40%]  1.50           1.00%     8.1     (control)
 * ```
 */
export function renderFigures(experiment: Experiment, figures: FiguresByVariant): string {
  const rows = experiment.variants.map((v) => {
    const f = figures[v.name];
    const ctr =
      f?.ctr === null || f?.ctr === undefined
        ? '-'
        : `${ratio(f.ctr)}${f.ctr_ci === null ? '' : ` [${ratio(f.ctr_ci[0])}, ${ratio(f.ctr_ci[1])}]`}`;
    return [
      v.name,
      v.model,
      v.shadow ? 'shadow' : pct(v.share),
      f === undefined ? '-' : count(f.requests),
      f === undefined ? '-' : count(f.impressions),
      f === undefined ? '-' : count(f.clicks),
      ctr,
      f === undefined ? '-' : (f.engaged_ms_per_request / 1000).toFixed(2),
      f === undefined ? '-' : ratio(f.fallback_rate),
      f?.latency_p99_ms === null || f?.latency_p99_ms === undefined ? '-' : f.latency_p99_ms.toFixed(1),
      f?.control ? '(control)' : (f?.verdict ?? '-'),
    ];
  });
  const header = ['variant', 'model', 'share', 'requests', 'impressions', 'clicks', 'ctr [interval]'];
  return `${table([[...header, 'engaged s/req', 'fallback', 'p99 ms', 'verdict'], ...rows])}\n`;
}
