/**
 * The `serve` suite's stateless phase: the responder role alone, as a
 * deployment runs it. A private Redis (private-redis.ts) gets the world's
 * feature stores from `recstream materialize --once`; then two `recstream
 * serve` processes start with `RECSTREAM_REDIS_URL` set, so they read every
 * view from Redis and run no processor application in their process: one on
 * a copy of the world with no experiment, one on a copy where a two-variant
 * experiment runs (experiment.ts: half the users on the promoted model,
 * half on a second version with its own index), and one on a copy where
 * that second version is promoted, with no experiment. The third one
 * prices the candidate's own model: two versions of one architecture do
 * not cost the same (their index graphs differ), and what the experiment
 * costs is the two-variant responder's CPU over what its two models cost
 * alone, half the users each. Their closed-loop runs take turns in a
 * rotating order (each rep starts one further along), so the machine's
 * other work falls on all alike; each run sends the steady phase's request
 * mix (the same users, offsets and connections) and counts requests over
 * that responder's CPU time. The responders not measured are idle
 * meanwhile. Then an open loop runs on the responder with no experiment,
 * at half its median closed-loop throughput: the role's tail latency.
 *
 * The data dir and the Redis stay up for `afterServe`, which runs once the
 * responders have stopped (the model-floor measurement reads the same views).
 *
 * @example
 * ```ts
 * const stateless = await statelessPhase({ world, users, workDir, seconds: 10, runs: 3, openSeconds: 15, openRuns: 5, progress, afterServe });
 * stateless.none.runs[0].requestsPerCpuS; stateless.twoVariant.runs[0].requestsPerCpuS;
 * stateless.candidateAlone.runs[0].requestsPerCpuS; stateless.noneOpen.runs[0].p999;
 * ```
 */
import { join } from 'node:path';
import { CLI, recstream } from '../recstream-cli.js';
import { type RunningChild, startChild } from './child.js';
import { startTwoVariant, type TwoVariant, waitForModel, waitForOneSessionThread } from './experiment.js';
import { ResponseCheck } from './load.js';
import { startPrivateRedis } from './private-redis.js';
import { closedRun, failIf, type OpenRun, openRun, type Run, warmUp } from './runs.js';
import { type Stalls, StallWindow } from './stalls.js';
import { halfCapacity } from './steady.js';
import { copyWorld, type World } from './world.js';

/** One responder's measured runs and every response it gave in them, checked. */
export interface ResponderRuns {
  readonly runs: Run[];
  readonly check: ResponseCheck;
  readonly startupSeconds: number;
}

/** The open loop at half a responder's closed-loop throughput: its tail latency. */
export interface OpenLoopFigures {
  /** Requests/s offered. */
  readonly offered: number;
  readonly seconds: number;
  readonly runs: OpenRun[];
  /** What stalled the responder in each run (stalls.ts). */
  readonly stalls: Stalls[];
}

export interface StatelessFigures<T> {
  /** The responder with no experiment running. */
  readonly none: ResponderRuns;
  /** The open loop on that responder, after its closed-loop runs. */
  readonly noneOpen: OpenLoopFigures;
  /** The responder serving the two-variant experiment. */
  readonly twoVariant: ResponderRuns;
  /** The responder with the experiment's candidate version promoted, and no experiment. */
  readonly candidateAlone: ResponderRuns;
  readonly experiment: TwoVariant;
  readonly materializeSeconds: number;
  /** What `afterServe` returned. */
  readonly after: T;
}

/** Where the stateless responder read from, for work done after it stopped. */
export interface StatelessStore {
  readonly dataDir: string;
  readonly redisUrl: string;
}

interface Measured extends ResponderRuns {
  readonly name: string;
  readonly child: RunningChild;
}

export async function statelessPhase<T>(options: {
  readonly world: World;
  readonly users: readonly string[];
  readonly workDir: string;
  readonly seconds: number;
  readonly runs: number;
  /** Seconds and runs of the open loop on the responder with no experiment. */
  readonly openSeconds: number;
  readonly openRuns: number;
  readonly progress: (message: string) => void;
  readonly afterServe: (store: StatelessStore) => Promise<T>;
}): Promise<StatelessFigures<T>> {
  const { world, users, workDir, seconds, runs, progress } = options;
  const dataDir = await copyWorld(world, join(workDir, 'stateless'));
  const experimentDir = await copyWorld(world, join(workDir, 'stateless-experiment'));
  const candidateDir = await copyWorld(world, join(workDir, 'stateless-candidate'));
  const redis = await startPrivateRedis();
  try {
    const env = { RECSTREAM_REDIS_URL: redis.url };
    const materializeStarted = performance.now();
    await recstream(['materialize', '--once', '--data-dir', dataDir], env);
    const materializeSeconds = (performance.now() - materializeStarted) / 1000;
    progress(`materialized the feature stores into ${redis.url} in ${materializeSeconds.toFixed(1)} s`);
    const experiment = await startTwoVariant(world, experimentDir, workDir);
    progress(
      `started ${experiment.id} (${JSON.stringify(experiment.variants)}) on a second copy of the world`,
    );
    const candidateVersion = experiment.candidate.slice(experiment.candidate.lastIndexOf('@') + 1);
    await recstream(['models', 'promote', candidateVersion, '--data-dir', candidateDir]);
    progress(`promoted ${experiment.candidate} on a third copy of the world`);
    const responders: Measured[] = [];
    let noneOpen: OpenLoopFigures | undefined;
    try {
      for (const [name, dir] of [
        ['none', dataDir],
        ['two-variant', experimentDir],
        ['candidate-alone', candidateDir],
      ] as const)
        responders.push(await startResponder(name, dir, env, world));
      const [none, twoVariant, candidateAlone] = responders as [Measured, Measured, Measured];
      await waitForModel(twoVariant.child.url, users, experiment.candidate);
      await waitForOneSessionThread(twoVariant.child.url);
      progress(
        `stateless responders ready in ${responders.map((r) => r.startupSeconds.toFixed(1)).join(', ')} s (${experiment.candidate} loaded); warming them up`,
      );
      for (const responder of responders) await warmUp(responder.child.url, users);
      const order = [none, twoVariant, candidateAlone];
      for (let rep = 0; rep < runs; rep++) {
        for (let turn = 0; turn < order.length; turn++) {
          const responder = order[(rep + turn) % order.length]!;
          const run = await closedRun(responder.child, users, rep * 1000, seconds, responder.check);
          responder.runs.push(run);
          progress(
            `stateless rep ${rep + 1}/${runs}, ${responder.name}: ${Math.round(run.requestsPerS).toLocaleString('en-US')} req/s (${Math.round(run.requestsPerCpuS ?? 0).toLocaleString('en-US')} per cpu-s), p99 ${run.p99.toFixed(2)} ms`,
          );
        }
      }
      for (const responder of responders)
        failIf(`stateless closed loop, experiment ${responder.name}`, responder.check);
      checkSplit(twoVariant.check, experiment);
      noneOpen = await openLoopOn(none, users, options, progress);
    } finally {
      for (const responder of responders) await responder.child.stop();
    }
    const after = await options.afterServe({ dataDir, redisUrl: redis.url });
    const [none, twoVariant, candidateAlone] = responders.map(({ runs, check, startupSeconds }) => ({
      runs,
      check,
      startupSeconds,
    }));
    return {
      none: none!,
      noneOpen: noneOpen!,
      twoVariant: twoVariant!,
      candidateAlone: candidateAlone!,
      experiment,
      materializeSeconds,
      after,
    };
  } finally {
    await redis.stop();
  }
}

/**
 * `openRuns` open-loop runs on `responder` at half its median closed-loop
 * throughput (at most the target rate), as the steady phase does for the
 * all-in-one process.
 */
async function openLoopOn(
  responder: Measured,
  users: readonly string[],
  size: { readonly openSeconds: number; readonly openRuns: number },
  progress: (message: string) => void,
): Promise<OpenLoopFigures> {
  const offered = halfCapacity(responder.runs);
  const runs: OpenRun[] = [];
  const stalls: Stalls[] = [];
  for (let rep = 0; rep < size.openRuns; rep++) {
    const window = await StallWindow.open(responder.child.url);
    const run = await openRun(
      responder.child,
      users,
      50_000 + rep * 1000,
      offered,
      size.openSeconds,
      responder.check,
    );
    runs.push(run);
    stalls.push(await window.close());
    progress(
      `stateless open loop ${offered} req/s, rep ${rep + 1}/${size.openRuns}: p50 ${run.p50.toFixed(2)} ms, p99 ${run.p99.toFixed(2)} ms, p99.9 ${run.p999.toFixed(2)} ms`,
    );
  }
  failIf('stateless open loop', responder.check);
  return { offered, seconds: size.openSeconds, runs, stalls };
}

async function startResponder(
  name: string,
  dataDir: string,
  env: Record<string, string>,
  world: World,
): Promise<Measured> {
  const startedAt = performance.now();
  const child = await startChild({
    args: [CLI, 'serve', '--data-dir', dataDir],
    env: { ...env, RECSTREAM_HTTP_PORT: '0', RECSTREAM_HTTP_HOST: '127.0.0.1' },
    readyPath: '/readyz',
    allCpus: true,
  });
  const startupSeconds = (performance.now() - startedAt) / 1000;
  return { name, child, runs: [], check: new ResponseCheck(world.indexModels), startupSeconds };
}

/** A figure of the experiment is only one if both variants served, each about half the users. */
function checkSplit(check: ResponseCheck, experiment: TwoVariant): void {
  const served = Object.keys(experiment.variants).map((name) => check.variants[name] ?? 0);
  const total = Object.values(check.variants).reduce((a, b) => a + b, 0);
  if (served.some((n) => Math.abs(n / Math.max(1, total) - 0.5) > 0.1))
    throw new Error(
      `serve bench: ${experiment.id} did not split the requests 50/50: ${JSON.stringify(check.variants)}`,
    );
}
