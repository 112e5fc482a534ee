/**
 * The `closed-loop` data set's off-policy rows: how far `recstream eval
 * --off-policy` lands from the truth, on the closed loop's world after its
 * A/B test.
 *
 * 1. **Explore.** The promoted model serves every user with Plackett–Luce
 *    exploration (temperature 1, a pool of 20) for `OFF_POLICY_LISTS`
 *    lists: the log the estimate is read from.
 * 2. **Serve.** The same model then serves every user without exploration
 *    for as many lists: the simulator's expected clicks per impression of
 *    those lists is the truth the estimate is held against.
 * 3. **Estimate.** The features application is run to the end of its input
 *    (every exposure of the explored lists gets its training example, the
 *    user as of the request), and `recstream eval --off-policy --candidate
 *    <the promoted version>` estimates, from the explored lists alone, what
 *    the model's deterministic lists are worth.
 *
 * The three phases run once per click model (sim/click-models.ts): the
 * users pick from a list by a choice among it — the form of DR's reward
 * model (evaluation/off-policy/choice-model.ts), so DR is correctly
 * specified there — and then by a top-down cascade, where it is not.
 *
 * One row per click model and estimator, `closed_loop_off_policy_error`:
 * the estimate's absolute error against the truth, with the click model,
 * the estimate, its 95 % interval, whether the interval holds the truth,
 * the truth's own 95 % interval over the lists served and the effective
 * sample size in `config`.
 */
import type { OffPolicyReport } from '../../evaluation/off-policy/off-policy-report.js';
import { serveClosedLoop } from '../../evaluation/online/serve-closed-loop.js';
import { startExperiment, stopExperiment } from '../../registry/experiments/experiment-actions.js';
import type { Platform } from '../../schemas/platform.js';
import type { ClickModel } from '../../sim/click-models.js';
import type { ClosedLoopSummary } from '../../sim/closed-loop/closed-loop.js';
import { describeStaleUsers } from '../../sim/closed-loop/fresh-views.js';
import { readTruthLog } from '../../sim/closed-loop/truth-log.js';
import type { SimulationOptions } from '../../sim/options.js';
import { recstream } from '../recstream-cli.js';
import { type BenchResult, metric } from '../result.js';
import { trueClickThrough } from './true-click-through.js';

/** Lists served in each of the two phases. */
export const OFF_POLICY_LISTS = 3000;

const EXPLORATION = {
  exploration_policy: 'plackett_luce',
  exploration_temperature: 1,
  exploration_pool_size: 20,
};
const ESTIMATORS = ['ips', 'snips', 'dr'] as const;

/** What the rows read of `recstream eval --off-policy --json` (its times are ISO strings there). */
type OffPolicyJson = Omit<OffPolicyReport, 'from' | 'to'>;

export interface OffPolicyPhases {
  readonly dataDir: string;
  readonly world: SimulationOptions;
  /** The promoted version, `<model>@<version>`. */
  readonly candidate: string;
  /** How the users pick from a list in the three phases. */
  readonly clickModel: ClickModel;
  readonly truthPaths: { readonly explore: string; readonly serve: string };
  /** Opens the data dir's platform; closed again before the features application runs. */
  readonly open: () => Promise<Platform>;
  readonly config: Record<string, unknown>;
  readonly progress: (line: string) => void;
}

export async function offPolicyRows(phases: OffPolicyPhases): Promise<BenchResult[]> {
  const { dataDir, world, clickModel } = phases;
  const progress = (line: string) => phases.progress(`${line} (${clickModel} click model)`);
  const platform = await phases.open();
  const window = { from: 0, to: 0 };
  let truth: ClosedLoopSummary;
  try {
    const id = `closed-loop-explore-${clickModel}`;
    await startExperiment(platform, {
      id,
      salt: `${id}-1`,
      variants: [{ name: 'explore', model: 'promoted', share: 1, ordering: EXPLORATION }],
    });
    progress(`closed-loop: serving ${OFF_POLICY_LISTS} lists with Plackett–Luce exploration`);
    window.from = Date.now();
    const explored = await serveClosedLoop(platform, {
      world,
      lists: OFF_POLICY_LISTS,
      truthPath: phases.truthPaths.explore,
      clickModel,
      runId: `explore${clickModel}`,
    });
    window.to = Date.now();
    if (explored.failed > 0)
      throw new Error(`closed-loop: the responder failed ${explored.failed} explored requests`);
    await stopExperiment(platform, id, 'the explored log is complete');
    progress(`closed-loop: serving ${OFF_POLICY_LISTS} lists without exploration for the truth`);
    truth = await serveClosedLoop(platform, {
      world,
      lists: OFF_POLICY_LISTS,
      truthPath: phases.truthPaths.serve,
      clickModel,
      runId: `serve${clickModel}`,
    });
    if (truth.failed > 0) throw new Error(`closed-loop: the responder failed ${truth.failed} requests`);
    const stale = explored.staleViews + truth.staleViews;
    if (stale > 0)
      throw new Error(
        `closed-loop: ${stale} lists were asked for before the user's view held what they did; ${describeStaleUsers([...explored.staleUsers, ...truth.staleUsers])}`,
      );
  } finally {
    await platform.close();
  }
  progress('closed-loop: the off-policy estimate from the explored lists');
  await recstream(['process', '--app', 'features', '--once', '--end-of-input', '--data-dir', dataDir]);
  const report = JSON.parse(
    await recstream([
      'eval',
      '--off-policy',
      '--candidate',
      phases.candidate,
      '--from',
      String(window.from),
      '--to',
      String(window.to),
      '--max-unsupported',
      '10%',
      '--json',
      '--data-dir',
      dataDir,
    ]),
  ) as OffPolicyJson;
  if (!report.supported)
    throw new Error(`closed-loop: no off-policy estimate of ${phases.candidate}: ${report.reason}`);
  const served = trueClickThrough((await readTruthLog(phases.truthPaths.serve)).values());
  const trueCtr = served.value;
  return ESTIMATORS.map((name) => {
    const estimate = report[name];
    if (estimate === null)
      throw new Error(`closed-loop: no ${name} estimate: ${report.snips_reason ?? report.dr_reason}`);
    return metric(
      'quality',
      'closed_loop_off_policy_error',
      Math.abs(estimate.value - trueCtr),
      'ratio',
      false,
      {
        click_model: clickModel,
        ...phases.config,
        experiment: 'off-policy estimate from Plackett–Luce lists',
        model: phases.candidate,
        estimator: name,
        estimate: estimate.value,
        ci95: estimate.ci,
        covers_truth: estimate.ci[0] <= trueCtr && trueCtr <= estimate.ci[1],
        true_ctr: trueCtr,
        true_ctr_ci95: served.ci95,
        lists: report.evaluated_lists,
        decisions: report.decisions,
        effective_sample_size: report.effective_sample_size,
        unsupported_share: report.unsupported_share,
        ...(name === 'dr' ? { choice_model: report.choice_model } : {}),
        truth_impressions: truth.impressions,
      },
    );
  });
}
