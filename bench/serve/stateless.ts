/**
 * The `serve` suite's stateless phase: the responder role alone, as a
 * deployment runs it. A private Redis (private-redis.ts) gets the world's
 * feature stores from `recstream materialize --once`; then `recstream
 * serve` starts with `RECSTREAM_REDIS_URL` set, so it reads every view from
 * Redis and runs no processor application in its process. Its closed-loop
 * runs send the steady phase's request mix (the same users, offsets and
 * connections) and count requests over the responder's CPU time.
 *
 * The data dir and the Redis stay up for `afterServe`, which runs once the
 * responder has stopped (the model-floor measurement reads the same views).
 *
 * @example
 * ```ts
 * const stateless = await statelessPhase({ world, users, workDir, seconds: 10, runs: 3, progress, afterServe });
 * stateless.runs[0].requestsPerCpuS;
 * ```
 */
import { join } from 'node:path';
import { CLI, recstream } from '../recstream-cli.js';
import { startChild } from './child.js';
import { ResponseCheck } from './load.js';
import { startPrivateRedis } from './private-redis.js';
import { closedRun, failIf, type Run, warmUp } from './runs.js';
import { copyWorld, type World } from './world.js';

export interface StatelessFigures<T> {
  readonly runs: Run[];
  /** Every response of the phase, checked. */
  readonly check: ResponseCheck;
  readonly startupSeconds: number;
  readonly materializeSeconds: number;
  /** What `afterServe` returned. */
  readonly after: T;
}

/** Where the stateless responder read from, for work done after it stopped. */
export interface StatelessStore {
  readonly dataDir: string;
  readonly redisUrl: string;
}

export async function statelessPhase<T>(options: {
  readonly world: World;
  readonly users: readonly string[];
  readonly workDir: string;
  readonly seconds: number;
  readonly runs: number;
  readonly progress: (message: string) => void;
  readonly afterServe: (store: StatelessStore) => Promise<T>;
}): Promise<StatelessFigures<T>> {
  const { world, users, workDir, seconds, runs, progress } = options;
  const dataDir = await copyWorld(world, join(workDir, 'stateless'));
  const redis = await startPrivateRedis();
  try {
    const env = { RECSTREAM_REDIS_URL: redis.url };
    const materializeStarted = performance.now();
    await recstream(['materialize', '--once', '--data-dir', dataDir], env);
    const materializeSeconds = (performance.now() - materializeStarted) / 1000;
    progress(`materialized the feature stores into ${redis.url} in ${materializeSeconds.toFixed(1)} s`);
    const startedAt = performance.now();
    const responder = await startChild({
      args: [CLI, 'serve', '--data-dir', dataDir],
      env: { ...env, RECSTREAM_HTTP_PORT: '0', RECSTREAM_HTTP_HOST: '127.0.0.1' },
      readyPath: '/readyz',
      allCpus: true,
    });
    const startupSeconds = (performance.now() - startedAt) / 1000;
    const check = new ResponseCheck(world.indexModels);
    const measured: Run[] = [];
    try {
      progress(`stateless responder ready in ${startupSeconds.toFixed(1)} s; warming it up`);
      await warmUp(responder.url, users);
      for (let rep = 0; rep < runs; rep++) {
        const run = await closedRun(responder, users, rep * 1000, seconds, check);
        measured.push(run);
        progress(
          `stateless rep ${rep + 1}/${runs}: ${Math.round(run.requestsPerS).toLocaleString('en-US')} req/s (${Math.round(run.requestsPerCpuS ?? 0).toLocaleString('en-US')} per cpu-s), p99 ${run.p99.toFixed(2)} ms`,
        );
      }
      failIf('stateless closed loop', check);
    } finally {
      await responder.stop();
    }
    const after = await options.afterServe({ dataDir, redisUrl: redis.url });
    return { runs: measured, check, startupSeconds, materializeSeconds, after };
  } finally {
    await redis.stop();
  }
}
