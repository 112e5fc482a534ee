/**
 * The `serve` suite's result rows: medians of the steady phase's runs with
 * the bare Node `http` server's medians as references, and the reported
 * hot-reload phase; every row carries the run's settings in `config`.
 *
 * @example
 * ```ts
 * const rows = serveRows({ world, users, steady, phases, runs: 3, seconds: 10, openSeconds: 5, machine });
 * ```
 */
import { cpus, loadavg } from 'node:os';
import { loadConfig } from '../../runtime/config.js';
import { SERVER_CPU } from '../ingest/servers.js';
import { type BenchResult, median, metric } from '../result.js';
import { cpuPressure } from './child.js';
import { round1, round3, sum } from './figures.js';
import type { ReloadFigures } from './reload.js';
import { medianPhase, reloadConfig } from './reload-phases.js';
import { CONNECTIONS } from './runs.js';
import { type SteadyFigures, TARGET_REQUESTS_PER_S } from './steady.js';
import type { World } from './world.js';

export interface ServeRun {
  readonly world: World;
  readonly users: readonly string[];
  readonly steady: SteadyFigures;
  readonly phases: readonly ReloadFigures[];
  readonly runs: number;
  readonly seconds: number;
  readonly openSeconds: number;
  /** Load average (1 min) and CPU pressure when the suite started. */
  readonly loadAtStart: number;
  readonly pressureAtStart: number | undefined;
}

function serveConfig(run: ServeRun): Record<string, unknown> {
  const { world, steady, phases } = run;
  const check = steady.servedCheck;
  const personalised = check.ok - Object.values(check.fallbacks).reduce((a, b) => a + b, 0);
  return {
    items: world.catalogItems,
    indexed_items: world.indexedItems,
    embedding_dim: world.trainConfig.dim,
    world: {
      ...world.sizes,
      model_versions: world.modelVersions.length,
      train_config: world.trainConfig,
      build_seconds: Math.round(world.buildSeconds),
      cache: world.dir,
    },
    users_requested: run.users.length,
    k: 10,
    personalised_share: round3(personalised / Math.max(1, check.ok)),
    fallbacks: check.fallbacks,
    responses_checked: check.ok,
    stage_mean_ms: steady.stages,
    online_store: 'in-process (features application in the responder process, RocksDB)',
    serve_candidates: loadConfig().serveCandidates,
    ann_copy: loadConfig().serveAnnCopy,
    closed_loop: `autocannon, ${CONNECTIONS} keep-alive connections, ${run.seconds} s per run`,
    open_loop: `${steady.offered} req/s offered for ${run.openSeconds} s per run, latency from the scheduled send time`,
    offered_requests_per_s: steady.offered,
    open_loop_stalls: steady.openStalls,
    runs: run.runs,
    responder_startup_seconds: round3(steady.startupSeconds),
    responder_idle_cpu_share: steady.idleCpuShare === undefined ? null : round3(steady.idleCpuShare),
    server_cpu: SERVER_CPU === undefined ? 'unpinned' : `taskset -c 0-${cpus().length - 1}`,
    load_generator_cpu: SERVER_CPU === undefined ? 'unpinned' : `taskset -c ${SERVER_CPU + 1}`,
    cpus: cpus().length,
    cpu_pressure_some_avg60_pct: [run.pressureAtStart ?? null, cpuPressure() ?? null],
    load_generator_max_lag_ms: Math.round(
      Math.max(...steady.servedOpen.map((r) => r.maxLagMs), ...phases.map((p) => p.maxLagMs)),
    ),
    machine_load_1m: [round1(run.loadAtStart), round1(loadavg()[0]!)],
    target: `>= ${TARGET_REQUESTS_PER_S} req/s with p99 < 10 ms; reload p99 <= 2 x steady p99`,
    node: process.version,
  };
}

export function serveRows(run: ServeRun): BenchResult[] {
  const { steady, phases } = run;
  const { served, reference, servedOpen, referenceOpen } = steady;
  const config = serveConfig(run);
  const withReload = { ...config, reload: reloadConfig(phases, steady.offered) };
  const reload = medianPhase(phases);
  const cpuMeasured = [...served, ...reference].every((r) => r.requestsPerCpuS !== undefined);
  const med = <T>(list: readonly T[], pick: (x: T) => number) => median(list.map(pick));
  const steadyRow = (
    name: string,
    value: number,
    unit: string,
    higherIsBetter: boolean,
    ref: string,
    refValue: number,
  ) => metric('serve', name, value, unit, higherIsBetter, config, { name: ref, value: refValue });
  return [
    steadyRow(
      'requests_per_s',
      med(served, (r) => r.requestsPerS),
      'requests/s',
      true,
      'bare_node_http_requests_per_s',
      med(reference, (r) => r.requestsPerS),
    ),
    ...(cpuMeasured
      ? [
          steadyRow(
            'requests_per_cpu_s',
            med(served, (r) => r.requestsPerCpuS!),
            'requests/cpu-s',
            true,
            'bare_node_http_requests_per_cpu_s',
            med(reference, (r) => r.requestsPerCpuS!),
          ),
        ]
      : []),
    steadyRow(
      'latency_p50_ms',
      med(served, (r) => r.p50),
      'ms',
      false,
      'bare_node_http_p50_ms',
      med(reference, (r) => r.p50),
    ),
    steadyRow(
      'latency_p99_ms',
      med(served, (r) => r.p99),
      'ms',
      false,
      'bare_node_http_p99_ms',
      med(reference, (r) => r.p99),
    ),
    steadyRow(
      'open_loop_latency_p50_ms',
      med(servedOpen, (r) => r.p50),
      'ms',
      false,
      'bare_node_http_open_loop_p50_ms',
      med(referenceOpen, (r) => r.p50),
    ),
    steadyRow(
      'open_loop_latency_p99_ms',
      med(servedOpen, (r) => r.p99),
      'ms',
      false,
      'bare_node_http_open_loop_p99_ms',
      med(referenceOpen, (r) => r.p99),
    ),
    steadyRow(
      'open_loop_latency_p999_ms',
      med(servedOpen, (r) => r.p999),
      'ms',
      false,
      'bare_node_http_open_loop_p999_ms',
      med(referenceOpen, (r) => r.p999),
    ),
    metric('serve', 'reload_latency_p99_ms', reload.swapP99Ms, 'ms', false, withReload, {
      name: 'steady_latency_p99_ms',
      value: reload.steadyP99Ms,
    }),
    metric(
      'serve',
      'reload_seconds',
      Math.max(...phases.flatMap((phase) => phase.swaps.map((s) => s.seconds))),
      's',
      false,
      withReload,
    ),
    metric(
      'serve',
      'reload_failed_requests',
      sum(phases, (p) => p.failed),
      'requests',
      false,
      withReload,
    ),
    metric(
      'serve',
      'reload_degraded_responses',
      sum(phases, (p) => p.degraded),
      'responses',
      false,
      withReload,
    ),
    metric(
      'serve',
      'reload_mixed_responses',
      sum(phases, (p) => p.mixed),
      'responses',
      false,
      withReload,
    ),
  ];
}
