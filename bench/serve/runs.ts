/**
 * One measured run of the `serve` suite against a running server: a closed
 * loop (autocannon, `CONNECTIONS` keep-alive connections) or an open loop
 * at a fixed rate, reduced to the figures the suite takes medians of; and
 * the responder's own per-stage timings from its /metrics.
 *
 * @example
 * ```ts
 * const run = await closedRun(responder, users, 0, 10, check);
 * run.requestsPerS;
 * ```
 */
import type { RunningChild } from './child.js';
import { round3 } from './figures.js';
import { closedLoop, openLoop, percentile, ResponseCheck, userPaths } from './load.js';

/** Keep-alive connections of every closed-loop run. */
export const CONNECTIONS = 8;

/** A closed-loop run's figures. */
export interface Run {
  readonly requestsPerS: number;
  /** Undefined where the server's CPU time could not be read. */
  readonly requestsPerCpuS: number | undefined;
  readonly p50: number;
  readonly p99: number;
}

/** An open-loop run's figures; `maxLagMs` is how late the generator sent its worst request. */
export interface OpenRun {
  readonly p50: number;
  readonly p99: number;
  /** p99.9: at a few thousand requests a run, about its fourth-slowest. */
  readonly p999: number;
  readonly maxLagMs: number;
}

/**
 * Three seconds of the closed loop on users the measured runs start elsewhere
 * in the list, so a responder's first requests (cold sessions and caches) are
 * not measured.
 */
export async function warmUp(base: string, users: readonly string[]): Promise<void> {
  await closedLoop({
    base,
    paths: userPaths(users, 104_729),
    connections: CONNECTIONS,
    seconds: 3,
    check: new ResponseCheck(),
  });
}

export async function closedRun(
  server: RunningChild,
  users: readonly string[],
  offset: number,
  seconds: number,
  check: ResponseCheck,
): Promise<Run> {
  const cpuBefore = server.cpuSeconds();
  const result = await closedLoop({
    base: server.url,
    paths: userPaths(users, offset),
    connections: CONNECTIONS,
    seconds,
    check,
  });
  const cpuAfter = server.cpuSeconds();
  const cpu = cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore;
  const answered = result.requestsPerS * result.seconds;
  return {
    requestsPerS: result.requestsPerS,
    requestsPerCpuS: cpu === undefined || cpu === 0 ? undefined : answered / cpu,
    p50: percentile(result.latenciesMs, 0.5),
    p99: percentile(result.latenciesMs, 0.99),
  };
}

export async function openRun(
  server: RunningChild,
  users: readonly string[],
  offset: number,
  rate: number,
  seconds: number,
  check: ResponseCheck,
): Promise<OpenRun> {
  const result = await openLoop({ base: server.url, paths: userPaths(users, offset), rate, seconds, check });
  const latencies = result.samples.map((s) => s.latencyMs);
  return {
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    p999: percentile(latencies, 0.999),
    maxLagMs: result.maxLagMs,
  };
}

/** A figure over failed or mixed responses would flatter the responder: the suite stops instead. */
export function failIf(what: string, check: ResponseCheck): void {
  if (check.failed() > 0 || check.mixed > 0)
    throw new Error(
      `serve bench: ${what}: ${check.failed()} failed requests ${JSON.stringify(check.failures)}, ${check.mixed} mixed responses`,
    );
}

/** Mean ms per request of each stage the responder times (`recstream_serve_stage_seconds`), from its /metrics. */
export async function stageMeans(base: string): Promise<Record<string, number>> {
  const text = await (await fetch(new URL('/metrics', base))).text();
  const read = (suffix: string) => {
    const out = new Map<string, number>();
    const pattern = new RegExp(`^recstream_serve_stage_seconds_${suffix}\\{stage="([^"]+)"\\} (\\S+)$`, 'gm');
    for (const match of text.matchAll(pattern)) out.set(match[1]!, Number(match[2]));
    return out;
  };
  const sums = read('sum');
  const counts = read('count');
  const out: Record<string, number> = {};
  for (const [stage, sum] of sums) {
    const count = counts.get(stage) ?? 0;
    if (count > 0) out[stage] = round3((sum / count) * 1000);
  }
  return out;
}
