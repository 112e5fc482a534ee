/**
 * An experiment's online figures and verdict, for `recstream experiments
 * show`, the admin API and the console, from any process: the
 * `experiment-metrics` application keeps them in store
 * `experiment-figures`, which is the online view `experiment_figures`
 * (Redis when configured, else the application's stores, see
 * `recstream online get`).
 *
 * @example
 * ```ts
 * const report = await readExperimentFigures(onlineStore, 'ranker-v7-ab', registry.get('ranker-v7-ab'));
 * for (const v of report?.variants ?? []) console.log(v.name, v.ctr, v.ctr_ci, v.verdict ?? '(control)');
 * ```
 */
import {
  type ExperimentFiguresValue,
  type ExperimentReport,
  experimentReport,
} from '../../processors/experiment-metrics/report.js';
import type { OnlineStore } from '../../runtime/online/online-store.js';
import type { Experiment } from '../../schemas/generated/types.js';
import { EXPERIMENT_FIGURES_VIEW } from '../../topologies/online-views.js';

/**
 * The report of experiment `id`: per variant requests, impressions,
 * clicks, CTR with its 95 % interval, engaged time, fallback rate, latency
 * p50/p99, and for each non-control variant the always-valid test against
 * the control with its verdict. `experiment` (its newest state, from
 * `ExperimentRegistry`) adds the status and names the control; undefined
 * when no figures were counted for it yet.
 */
export async function readExperimentFigures(
  online: OnlineStore,
  id: string,
  experiment?: Experiment,
): Promise<ExperimentReport | undefined> {
  const [value] = await online.getMany<ExperimentFiguresValue>(EXPERIMENT_FIGURES_VIEW, [id]);
  return value === undefined ? undefined : experimentReport(value, experiment);
}
