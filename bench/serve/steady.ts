/**
 * The `serve` suite's steady phase: one `recstream serve` process on a copy
 * of the world and a bare Node `http` server answering with the responder's
 * own body (reference-server.ts), both warmed up, then closed-loop runs of
 * the two in turn, then open-loop runs at half the responder's closed-loop
 * throughput (at most `TARGET_REQUESTS_PER_S`). The responder stays up (idle)
 * while the reference runs; its CPU share then is measured too.
 *
 * @example
 * ```ts
 * const steady = await steadyPhase({ world, users, workDir, seconds: 10, openSeconds: 5, runs: 3, progress });
 * steady.offered;
 * ```
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI } from '../recstream-cli.js';
import { median } from '../result.js';
import { type RunningChild, startChild } from './child.js';
import { closedLoop, ResponseCheck, userPaths } from './load.js';
import {
  CONNECTIONS,
  closedRun,
  failIf,
  type OpenRun,
  openRun,
  type Run,
  stageMeans,
  warmUp,
} from './runs.js';
import { type Stalls, StallWindow } from './stalls.js';
import { copyWorld, type World } from './world.js';

const REFERENCE = fileURLToPath(new URL('./reference-server.js', import.meta.url));
/** The open loop's rate is capped here: the rate the responder is meant to hold. */
export const TARGET_REQUESTS_PER_S = 2_000;

/**
 * The open loop's offered rate, requests/s: half the median closed-loop
 * throughput of `runs`, at most the target rate, at least 10.
 */
export function halfCapacity(runs: readonly Run[]): number {
  return Math.max(
    10,
    Math.min(TARGET_REQUESTS_PER_S, Math.round(median(runs.map((r) => r.requestsPerS)) / 2)),
  );
}

export interface SteadyFigures {
  readonly served: Run[];
  readonly reference: Run[];
  readonly servedOpen: OpenRun[];
  readonly referenceOpen: OpenRun[];
  /** What stalled the responder in each open-loop run (stalls.ts). */
  readonly openStalls: Stalls[];
  /** Every responder response of the phase, checked. */
  readonly servedCheck: ResponseCheck;
  /** Median CPU share of the idle responder while the reference ran. */
  readonly idleCpuShare: number | undefined;
  /** The open loop's rate, requests/s. */
  readonly offered: number;
  readonly startupSeconds: number;
  readonly stages: Record<string, number>;
}

export async function steadyPhase(options: {
  readonly world: World;
  readonly users: readonly string[];
  readonly workDir: string;
  readonly seconds: number;
  readonly openSeconds: number;
  readonly runs: number;
  readonly progress: (message: string) => void;
}): Promise<SteadyFigures> {
  const { world, users, workDir, seconds, openSeconds, runs, progress } = options;
  const served: Run[] = [];
  const reference: Run[] = [];
  const servedOpen: OpenRun[] = [];
  const referenceOpen: OpenRun[] = [];
  const openStalls: Stalls[] = [];
  const servedCheck = new ResponseCheck(world.indexModels);
  const referenceCheck = new ResponseCheck();
  const dataDir = await copyWorld(world, join(workDir, 'serve'));
  progress(`starting recstream serve on ${dataDir}`);
  const startedAt = performance.now();
  const responder = await startChild({
    args: [CLI, 'serve', '--data-dir', dataDir],
    env: { RECSTREAM_HTTP_PORT: '0', RECSTREAM_HTTP_HOST: '127.0.0.1' },
    readyPath: '/readyz',
    allCpus: true,
  });
  const startupSeconds = (performance.now() - startedAt) / 1000;
  let referenceServer: RunningChild | undefined;
  try {
    const sample = await fetch(new URL(`/v1/recommendations/${users[0]}?k=10`, responder.url));
    const body = await sample.text();
    const bodyPath = join(workDir, 'reference-body.json');
    await writeFile(bodyPath, body);
    referenceServer = await startChild({ args: [REFERENCE, bodyPath], allCpus: true });
    progress(`responder ready in ${startupSeconds.toFixed(1)} s; warming both up`);
    await warmUp(responder.url, users);
    await closedLoop({
      base: referenceServer.url,
      paths: userPaths(users),
      connections: CONNECTIONS,
      seconds: 2,
      check: new ResponseCheck(),
    });
    const idleShares: number[] = [];
    for (let rep = 0; rep < runs; rep++) {
      const idleBefore = responder.cpuSeconds();
      const ref = await closedRun(referenceServer, users, rep * 1000, seconds, referenceCheck);
      const idleAfter = responder.cpuSeconds();
      if (idleBefore !== undefined && idleAfter !== undefined)
        idleShares.push((idleAfter - idleBefore) / seconds);
      reference.push(ref);
      const run = await closedRun(responder, users, rep * 1000, seconds, servedCheck);
      served.push(run);
      progress(
        `rep ${rep + 1}/${runs}: responder ${Math.round(run.requestsPerS).toLocaleString('en-US')} req/s (${Math.round(run.requestsPerCpuS ?? 0).toLocaleString('en-US')} per cpu-s), p50 ${run.p50.toFixed(2)} ms, p99 ${run.p99.toFixed(2)} ms | bare http ${Math.round(ref.requestsPerS).toLocaleString('en-US')} req/s, p99 ${ref.p99.toFixed(2)} ms`,
      );
    }
    failIf('closed loop', servedCheck);
    const offered = halfCapacity(served);
    for (let rep = 0; rep < runs; rep++) {
      const offset = 50_000 + rep * 1000;
      referenceOpen.push(await openRun(referenceServer, users, offset, offered, openSeconds, referenceCheck));
      const window = await StallWindow.open(responder.url);
      const run = await openRun(responder, users, offset, offered, openSeconds, servedCheck);
      servedOpen.push(run);
      openStalls.push(await window.close());
      progress(
        `open loop ${offered} req/s, rep ${rep + 1}/${runs}: responder p50 ${run.p50.toFixed(2)} ms, p99 ${run.p99.toFixed(2)} ms, p99.9 ${run.p999.toFixed(2)} ms | bare http p99 ${referenceOpen[rep]!.p99.toFixed(2)} ms`,
      );
    }
    failIf('open loop', servedCheck);
    failIf('reference', referenceCheck);
    return {
      served,
      reference,
      servedOpen,
      referenceOpen,
      openStalls,
      servedCheck,
      idleCpuShare: idleShares.length > 0 ? median(idleShares) : undefined,
      offered,
      startupSeconds,
      stages: await stageMeans(responder.url),
    };
  } finally {
    await referenceServer?.stop();
    await responder.stop();
  }
}
