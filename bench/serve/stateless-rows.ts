/**
 * The `serve` suite's rows for the responder role alone: requests per
 * CPU-second of `recstream serve` on Redis (stateless.ts), median over the
 * runs, with the model-compute floor (model-floor.ts) as its reference, so
 * that the ratio is serving's overhead over the models; and the floor as a
 * row of its own.
 *
 * @example
 * ```ts
 * const rows = statelessRows(stateless, { seconds: 10, users: 10_000 });
 * ```
 */
import { type BenchResult, median, metric } from '../result.js';
import { round1, round3 } from './figures.js';
import type { FloorFigures } from './model-floor.js';
import { CONNECTIONS } from './runs.js';
import type { StatelessFigures } from './stateless.js';

export function statelessRows(
  stateless: StatelessFigures<FloorFigures>,
  run: { readonly seconds: number; readonly floorSeconds: number; readonly users: number },
): BenchResult[] {
  const floor = stateless.after;
  const perCpu = stateless.runs.map((r) => r.requestsPerCpuS);
  const floorConfig = {
    users_cycled: floor.users,
    candidates: floor.candidates,
    ann_expansion: floor.annExpansion,
    ann_file: floor.annFile,
    ranker_trusted_by_serving: floor.rankerTrusted,
    requests: floor.requests,
    cpu_seconds: round3(floor.cpuSeconds),
    seconds: run.floorSeconds,
    how: 'bench process, one thread, no HTTP: user tower (onnxruntime, 1 intra-op thread), ANN search, ranker; inputs built beforehand',
  };
  const floorRow = metric(
    'serve',
    'model_floor_requests_per_cpu_s',
    floor.requestsPerCpuS,
    'requests/cpu-s',
    true,
    floorConfig,
  );
  if (perCpu.some((v) => v === undefined)) return [floorRow];
  const check = stateless.check;
  const fallbacks = Object.values(check.fallbacks).reduce((a, b) => a + b, 0);
  const config = {
    online_store: 'Redis (a private redis-server), filled by recstream materialize --once',
    processors_in_process: false,
    users_requested: run.users,
    closed_loop: `autocannon, ${CONNECTIONS} keep-alive connections, ${run.seconds} s per run`,
    runs: stateless.runs.length,
    requests_per_s: round1(median(stateless.runs.map((r) => r.requestsPerS))),
    latency_p99_ms: round3(median(stateless.runs.map((r) => r.p99))),
    personalised_share: round3((check.ok - fallbacks) / Math.max(1, check.ok)),
    fallbacks: check.fallbacks,
    responses_checked: check.ok,
    responder_startup_seconds: round3(stateless.startupSeconds),
    materialize_seconds: round3(stateless.materializeSeconds),
    model_floor: floorConfig,
  };
  return [
    metric(
      'serve',
      'stateless_requests_per_cpu_s',
      median(perCpu as number[]),
      'requests/cpu-s',
      true,
      config,
      { name: 'model_floor_requests_per_cpu_s', value: floor.requestsPerCpuS },
    ),
    floorRow,
  ];
}
