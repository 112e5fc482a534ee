/**
 * The `quality` suite's `closed-loop` data set: what recstream's lists are
 * worth to users who react to them, against the popularity list, on a
 * simulated world whose truth is known.
 *
 * The world (`CLOSED_LOOP_WORLD`) is simulated, processed and trained with
 * the default engine settings, the model promoted by the trainer's gate and
 * indexed; then an A/B test, `recstream` (the promoted model) against
 * `popularity`, 50/50, is served by a real responder to the world's
 * closed-loop users (evaluation/online/serve-closed-loop.ts) until
 * `CLOSED_LOOP_LISTS` lists were served. Per variant two rows:
 *
 * - `closed_loop_true_ctr`: the simulator's expected clicks per impression
 *   of the very lists the variant served (its truth log);
 * - `closed_loop_ctr`: the clicked-through exposures per impression the
 *   served-list log and the attributed interactions measured, with its
 *   Wilson 95 % interval in `config` (`recstream eval --online`).
 *
 * The A/B test's users pick from a list by the simulator's default click
 * model (`choice`, sim/click-models.ts); every row says which in
 * `config.click_model`, and the true click-through's 95 % interval over
 * the lists served in `config.true_ctr_ci95`.
 *
 * Then the off-policy rows (./closed-loop-off-policy.ts), once per click
 * model: the promoted model's click-through estimated from lists it served
 * with exploration, against the truth of its lists served without.
 *
 * The online store's read timeout is 5 s here, not the deployed 50 ms: the
 * rows measure what the lists are worth, and a fallback list on a busy
 * moment of this 2-core machine would be counted against the model
 * (`bench serve` measures latency).
 */
import { join } from 'node:path';
import { type OnlineRow, onlineReport } from '../../evaluation/online/online-report.js';
import { CLOSED_LOOP_WORLD, serveClosedLoop } from '../../evaluation/online/serve-closed-loop.js';
import { wilsonInterval } from '../../lib/sequential-test.js';
import { startExperiment, stopExperiment } from '../../registry/experiments/experiment-actions.js';
import { loadConfig } from '../../runtime/config.js';
import { silentLogger } from '../../runtime/observability/logger.js';
import { openPlatform, type Platform } from '../../schemas/platform.js';
import { CLICK_MODELS } from '../../sim/click-models.js';
import { describeStaleUsers } from '../../sim/closed-loop/fresh-views.js';
import { readTruthLog, type ServedTruth } from '../../sim/closed-loop/truth-log.js';
import { recstream } from '../recstream-cli.js';
import { type BenchResult, metric } from '../result.js';
import { timedTrainRound } from '../train-round.js';
import { offPolicyRows } from './closed-loop-off-policy.js';
import { processAll } from './pipeline.js';
import { trueClickThrough } from './true-click-through.js';

/** Lists served in the A/B test: ~24,000 impressions a variant, where a lead of a point is several standard errors wide. */
export const CLOSED_LOOP_LISTS = 8000;

const EXPERIMENT = 'closed-loop-quality';
const VARIANTS = ['recstream', 'popularity'] as const;

/** One variant's lists: in the truth log (shown, and the clicks expected of them) and in the served-list log. */
interface VariantTally {
  lists: number;
  impressions: number;
  expectedClicks: number;
  loggedImpressions: number;
  clicks: number;
}

export async function closedLoopRows(
  workDir: string,
  progress: (line: string) => void,
): Promise<BenchResult[]> {
  const dataDir = join(workDir, 'closed-loop', 'data');
  progress('closed-loop: simulating the world and building the pipeline');
  await recstream([
    'simulate',
    ...Object.entries(CLOSED_LOOP_WORLD).flatMap(([option, value]) => [`--${option}`, String(value)]),
    '--data-dir',
    dataDir,
  ]);
  await processAll(dataDir);
  progress('closed-loop: training');
  const { model, seconds } = await timedTrainRound(dataDir);
  if (model.status !== 'promoted')
    throw new Error(
      `closed-loop: the gate left ${model.model}@${model.version} ${model.status}, so no model serves the A/B test`,
    );
  await recstream(['index', '--once', '--data-dir', dataDir]);
  const env = { RECSTREAM_HTTP_PORT: '0', RECSTREAM_SERVE_STORE_TIMEOUT_MS: '5000' };
  const open = () => openPlatform(loadConfig(env, { dataDir }), { logger: silentLogger() });
  const common = {
    dataset: 'closed-loop',
    ...CLOSED_LOOP_WORLD,
    model_version: model.version,
    train_seconds: seconds,
  };
  const rows = await abTestRows(await open(), join(workDir, 'closed-loop', 'truth.jsonl'), common, progress);
  for (const clickModel of CLICK_MODELS)
    rows.push(
      ...(await offPolicyRows({
        dataDir,
        world: CLOSED_LOOP_WORLD,
        candidate: `${model.model}@${model.version}`,
        clickModel,
        truthPaths: {
          explore: join(workDir, 'closed-loop', `explored-truth-${clickModel}.jsonl`),
          serve: join(workDir, 'closed-loop', `served-truth-${clickModel}.jsonl`),
        },
        open,
        config: common,
        progress,
      })),
    );
  return rows;
}

/** The A/B test's rows; the platform is closed after it, the experiment stopped. */
async function abTestRows(
  platform: Platform,
  truthPath: string,
  common: Record<string, unknown>,
  progress: (line: string) => void,
): Promise<BenchResult[]> {
  try {
    await startExperiment(platform, {
      id: EXPERIMENT,
      salt: 'closed-loop-1',
      variants: [
        { name: 'recstream', model: 'promoted', share: 0.5 },
        { name: 'popularity', model: 'popularity', share: 0.5 },
      ],
    });
    progress(`closed-loop: serving ${CLOSED_LOOP_LISTS} lists to the world's users`);
    const summary = await serveClosedLoop(platform, {
      world: CLOSED_LOOP_WORLD,
      lists: CLOSED_LOOP_LISTS,
      truthPath,
      runId: 'ab',
    });
    if (summary.failed > 0) throw new Error(`closed-loop: the responder failed ${summary.failed} requests`);
    if (summary.staleViews > 0)
      throw new Error(
        `closed-loop: ${summary.staleViews} lists were asked for before the user's view held what they did; ${describeStaleUsers(summary.staleUsers)}`,
      );
    await stopExperiment(platform, EXPERIMENT, 'the A/B test is complete');
    const truth = await readTruthLog(truthPath);
    const report = await onlineReport(platform.log, platform.serde, { from: 0, to: Date.now() + 1, truth });
    const tallies = tally(truth, report.rows);
    const trueCtr = (t: VariantTally) => t.expectedClicks / t.impressions;
    const popularity = tallies.get('popularity')!;
    return VARIANTS.flatMap((name) => {
      const t = tallies.get(name)!;
      const config = {
        click_model: 'choice',
        ...common,
        experiment: '50/50 A/B test',
        model: name,
        lists: t.lists,
        impressions: t.impressions,
      };
      const ref = (value: number) => (name === 'recstream' ? { name: 'popularity', value } : undefined);
      const measured = t.clicks / t.loggedImpressions;
      return [
        metric(
          'quality',
          'closed_loop_true_ctr',
          trueCtr(t),
          'ratio',
          true,
          {
            ...config,
            true_ctr_ci95: trueClickThrough(
              [...truth.values()].filter((l) => l.experiment_id === EXPERIMENT && l.variant === name),
            ).ci95,
          },
          ref(trueCtr(popularity)),
        ),
        metric(
          'quality',
          'closed_loop_ctr',
          measured,
          'ratio',
          true,
          {
            ...config,
            clicks: t.clicks,
            ci95: wilsonInterval({ successes: t.clicks, trials: t.loggedImpressions }),
          },
          ref(popularity.clicks / popularity.loggedImpressions),
        ),
      ];
    });
  } finally {
    await platform.close();
  }
}

/** Per variant: the truth of its lists, and what the online report counted of them. */
function tally(
  truth: ReadonlyMap<string, ServedTruth>,
  rows: readonly OnlineRow[],
): Map<string, VariantTally> {
  const out = new Map<string, VariantTally>(
    VARIANTS.map((name) => [
      name,
      { lists: 0, impressions: 0, expectedClicks: 0, loggedImpressions: 0, clicks: 0 },
    ]),
  );
  for (const line of truth.values()) {
    const t = line.experiment_id === EXPERIMENT ? out.get(line.variant ?? '') : undefined;
    if (t === undefined) continue;
    t.lists++;
    t.impressions += line.items.length;
    t.expectedClicks += line.expected_clicks;
  }
  for (const row of rows) {
    const t = row.experiment_id === EXPERIMENT ? out.get(row.variant ?? '') : undefined;
    if (t === undefined) continue;
    t.loggedImpressions += row.impressions;
    t.clicks += row.clicks;
  }
  for (const [name, t] of out)
    if (t.impressions === 0 || t.loggedImpressions === 0)
      throw new Error(`closed-loop: the ${name} variant served no list`);
  return out;
}
