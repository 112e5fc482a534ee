/**
 * The A/A canary measurement: how often the canary controller rolls back a
 * candidate that is the same model as the control. On the live canary of
 * the end-to-end tests (test/live-canary.ts: the served world, a real
 * responder, closed-loop users, the experiment-metrics application) each
 * run trains a candidate with the configuration the promoted model was
 * trained with, on the same snapshot, lets the trainer's gate start its
 * canary (25 → 50 → 100 %) with the default guardrails and tolerances, and
 * lets users browse until the canary concludes. The runs follow each other
 * in one live stream: a promoted candidate is the next run's control,
 * trained the same way. Each canary draws a fresh salt, so each run splits
 * the users into arms anew; the salt is recorded with the run.
 *
 * `--min-users` and `--min-impressions` set the canary's minimum sample
 * (default the live canary's, 8 and 600).
 *
 * Not a test of the suite: a run takes about half a minute on two cores
 * after a world is built, so 30 take a quarter of an hour or more. Run it by
 * hand (docs/experiments.md#false-rollbacks-an-aa-canary):
 *
 * ```sh
 * npm run build && nice node dist/test/canary-aa.js --runs 30 --out /tmp/canary-aa.jsonl
 * ```
 *
 * Each run is a line of `--out` as it ends; the summary (rollbacks of runs,
 * with a 95 % Clopper–Pearson interval) is printed at the end.
 */
import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stopExperiment } from '../registry/experiments/experiment-actions.js';
import { LIVE_CANARY_ENV, startLiveCanary } from './live-canary.js';
import { buildServedWorld, SERVED_WORLD_TRAIN_CONFIG } from './served-world.js';

/** One A/A canary as it ended. */
export interface AaRun {
  readonly run: number;
  /** `--min-users`, `--min-impressions`. */
  readonly minUsers: number;
  readonly minImpressions: number;
  readonly version: number;
  readonly salt: string;
  /**
   * `promoted`, `rolled back`, or `undecided` when `--max-ms` passed first (an arm never held the
   * minimum sample): the runner then stops the canary by hand, so the next run can start.
   */
  readonly outcome: 'promoted' | 'rolled back' | 'undecided';
  /** The step it ended at (0-based). */
  readonly step: number | null;
  readonly reason: string | null;
  readonly lists: number;
  /** What each arm counted in the canary's last step (impressions, effective users, …). */
  readonly lastStep: string;
  /** The true click-through of each arm's lists, from the run's truth log. */
  readonly truth: string;
  readonly seconds: number;
}

function betaQuantile(p: number, a: number, b: number): number {
  // Bisection on the regularised incomplete beta, by Simpson's rule on its density: enough for 3 digits at n ≤ 1000.
  const density = (x: number) => x ** (a - 1) * (1 - x) ** (b - 1);
  const integral = (to: number) => {
    const n = 2000;
    const h = to / n;
    let sum = density(1e-12) + density(to);
    for (let i = 1; i < n; i++) sum += (i % 2 ? 4 : 2) * density(i * h);
    return (sum * h) / 3;
  };
  const total = integral(1 - 1e-12);
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 40; i++) {
    const mid = (lo + hi) / 2;
    if (integral(mid) / total < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** The exact (Clopper–Pearson) 95 % interval of `k` of `n`. */
export function clopperPearson(k: number, n: number): [number, number] {
  const lo = k === 0 ? 0 : betaQuantile(0.025, k, n - k + 1);
  const hi = k === n ? 1 : betaQuantile(0.975, k + 1, n - k);
  return [lo, hi];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '30' },
      out: { type: 'string', default: join(tmpdir(), 'canary-aa.jsonl') },
      'max-ms': { type: 'string', default: '600000' },
      'min-users': { type: 'string', default: LIVE_CANARY_ENV.RECSTREAM_CANARY_MIN_USERS },
      'min-impressions': { type: 'string', default: LIVE_CANARY_ENV.RECSTREAM_CANARY_MIN_IMPRESSIONS },
    },
  });
  // The configuration validates them when the live canary starts.
  const canaryEnv = {
    RECSTREAM_CANARY_MIN_USERS: values['min-users']!,
    RECSTREAM_CANARY_MIN_IMPRESSIONS: values['min-impressions']!,
  };
  const runs = Number(values.runs);
  const maxMs = Number(values['max-ms']);
  if (!(Number.isInteger(runs) && runs > 0))
    throw new Error(`--runs must be a whole number > 0, got ${values.runs}`);
  if (!(maxMs > 0)) throw new Error(`--max-ms must be > 0, got ${values['max-ms']}`);
  const root = await mkdtemp(join(tmpdir(), 'recstream-canary-aa-'));
  const dataDir = join(root, 'data');
  const done: AaRun[] = [];
  try {
    await buildServedWorld(dataDir);
    const live = await startLiveCanary(dataDir, canaryEnv);
    try {
      for (let run = 0; run < runs; run++) {
        const started = Date.now();
        const version = await live.trainCandidate(SERVED_WORLD_TRAIN_CONFIG);
        await live.indexCandidate(version);
        const summary = await live.trafficUntil(
          async () => (await live.canary(version)).some((e) => e.status !== 'running'),
          maxMs,
        );
        const last = (await live.canary(version)).at(-1);
        const status = (await live.versionEvents(version)).at(-1)?.status;
        const outcome =
          status === 'promoted' ? 'promoted' : status === 'rejected' ? 'rolled back' : 'undecided';
        const lastStep = await live.lastStep(version);
        // A canary still running holds every user: stop it, so the next one can start.
        if (outcome === 'undecided')
          await stopExperiment(live.platform, last!.id, `A/A run ended undecided after ${maxMs} ms`);
        const result: AaRun = {
          run,
          minUsers: Number(canaryEnv.RECSTREAM_CANARY_MIN_USERS),
          minImpressions: Number(canaryEnv.RECSTREAM_CANARY_MIN_IMPRESSIONS),
          version,
          salt: last?.salt ?? '',
          outcome,
          step: last?.canary?.step ?? null,
          reason: outcome === 'undecided' ? null : (last?.reason ?? null),
          lists: summary.served,
          lastStep,
          truth: await live.trueClickThrough(),
          seconds: Math.round((Date.now() - started) / 1000),
        };
        done.push(result);
        await appendFile(values.out!, `${JSON.stringify(result)}\n`);
        console.log(
          `run ${run + 1}/${runs}: ${result.outcome} (${result.seconds} s): ${result.reason ?? lastStep}`,
        );
      }
    } finally {
      await live.close();
    }
  } finally {
    await rm(root, { recursive: true, force: true });
    const rolledBack = done.filter((r) => r.outcome === 'rolled back').length;
    const decided = done.filter((r) => r.outcome !== 'undecided').length;
    const [lo, hi] = clopperPearson(rolledBack, Math.max(1, decided));
    const [allLo, allHi] = clopperPearson(rolledBack, Math.max(1, done.length));
    const percent = (x: number) => (100 * x).toFixed(1);
    console.log(
      `A/A canary: ${rolledBack} rolled back of ${done.length} runs (95 % interval ${percent(allLo)}–${percent(allHi)} %); ` +
        `of the ${decided} decided, ${percent(rolledBack / Math.max(1, decided))} % (${percent(lo)}–${percent(hi)} %); ${done.length - decided} undecided`,
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
