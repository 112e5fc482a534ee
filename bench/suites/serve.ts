/**
 * `serve` suite (DESIGN.md §10): `GET /v1/recommendations/:userId?k=10`
 * of one `recstream serve` process on the embedded default (in-process
 * online store: the features application runs in the same process), over
 * a world of 100,000 items and three real 64-d model versions
 * (bench/serve/world.ts, built once and cached under the data dir). The
 * responder runs on both CPUs of the machine (its request thread and its
 * ONNX session thread), the load generator pinned to the second one and
 * sharing it, on loopback; requests go to the users with history in turn
 * (personalised lists: user tower, ANN retrieval, filters, ranker,
 * diversification), and every response is checked.
 *
 * - `requests_per_s`, `latency_p50_ms`, `latency_p99_ms`: autocannon,
 *   closed loop, `CONNECTIONS` keep-alive connections, `seconds` per run,
 *   median over the runs. `requests_per_cpu_s`: the same requests over the
 *   responder's CPU time (all its threads): what one core does when the
 *   machine's other processes do not take turns on it.
 * - `open_loop_latency_p50_ms` / `_p99_ms`: a fixed offered rate (half the
 *   closed-loop throughput of this run, at most the 2,000 req/s target;
 *   `config.offered_requests_per_s`), latency from each request's scheduled
 *   send time (no coordinated omission).
 * - `reload_latency_p99_ms` (reference: steady p99 of the same phase),
 *   `reload_seconds` (publication to the first answer from the new pair,
 *   the slowest swap of every phase), `reload_failed_requests` (not 200),
 *   `reload_degraded_responses` (200 with a fallback because the
 *   personalised path failed or timed out), `reload_mixed_responses` (an
 *   index version not built for the model version named): hot reload under
 *   the same open loop while v2 and v3 are promoted and v3 rolled back
 *   (bench/serve/reload.ts), a phase per repetition, each on a fresh copy
 *   of the world. A phase's p99s rest on a few thousand requests, so one
 *   stall moves them: the p99 row is the phase whose ratio of swap to
 *   steady p99 is the median one, every phase is in `config.reload.phases`,
 *   and the counts are summed over the phases.
 *
 * Reference in the same run, same CPUs, same client: a bare Node `http`
 * server answering every GET with a fixed body of the responder's own
 * (bench/serve/reference-server.ts). Runs of the two alternate; the
 * responder stays up (idle) while the reference runs, and its CPU share
 * then is in `config.responder_idle_cpu_share`.
 */
import { writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../runtime/config.js';
import { pinLoadGenerator, SERVER_CPU } from '../ingest/servers.js';
import { CLI } from '../recstream-cli.js';
import { type BenchResult, median, metric, type Suite } from '../result.js';
import { cpuPressure, type RunningChild, startChild } from '../serve/child.js';
import { closedLoop, openLoop, percentile, ResponseCheck, userPaths } from '../serve/load.js';
import { type ReloadFigures, reloadUnderLoad } from '../serve/reload.js';
import { copyWorld, serveWorld } from '../serve/world.js';

const REFERENCE = fileURLToPath(new URL('../serve/reference-server.js', import.meta.url));
const CONNECTIONS = 8;
const TARGET_REQUESTS_PER_S = 2_000;
const SIZES = {
  small: { seconds: 10, repetitions: 3, openSeconds: 5, users: 10_000 },
  full: { seconds: 30, repetitions: 5, openSeconds: 15, users: 50_000 },
};

interface Run {
  readonly requestsPerS: number;
  readonly requestsPerCpuS: number | undefined;
  readonly p50: number;
  readonly p99: number;
}

async function closedRun(
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

async function openRun(
  server: RunningChild,
  users: readonly string[],
  offset: number,
  rate: number,
  seconds: number,
  check: ResponseCheck,
): Promise<{ p50: number; p99: number; maxLagMs: number }> {
  const result = await openLoop({ base: server.url, paths: userPaths(users, offset), rate, seconds, check });
  const latencies = result.samples.map((s) => s.latencyMs);
  return { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), maxLagMs: result.maxLagMs };
}

function failIf(what: string, check: ResponseCheck): void {
  if (check.failed() > 0 || check.mixed > 0)
    throw new Error(
      `serve bench: ${what}: ${check.failed()} failed requests ${JSON.stringify(check.failures)}, ${check.mixed} mixed responses`,
    );
}

export const serveSuite: Suite = async ({ scale, workDir, progress }) => {
  const size = SIZES[scale];
  const world = await serveWorld(scale, progress);
  const users = world.usersWithHistory.slice(0, size.users);
  const loadAtStart = loadavg()[0]!;
  const unpin = pinLoadGenerator();
  const pressureAtStart = cpuPressure();
  const served: Run[] = [];
  const reference: Run[] = [];
  const servedOpen: { p50: number; p99: number; maxLagMs: number }[] = [];
  const referenceOpen: { p50: number; p99: number; maxLagMs: number }[] = [];
  const servedCheck = new ResponseCheck(world.indexModels);
  const referenceCheck = new ResponseCheck();
  let idleCpuShare: number | undefined;
  let offered = 0;
  let startupSeconds = 0;
  let stages: Record<string, number> = {};
  try {
    const dataDir = await copyWorld(world, join(workDir, 'serve'));
    progress(`starting recstream serve on ${dataDir}`);
    const startedAt = performance.now();
    const responder = await startChild({
      args: [CLI, 'serve', '--data-dir', dataDir],
      env: { RECSTREAM_HTTP_PORT: '0', RECSTREAM_HTTP_HOST: '127.0.0.1' },
      readyPath: '/readyz',
      allCpus: true,
    });
    startupSeconds = (performance.now() - startedAt) / 1000;
    let referenceServer: RunningChild | undefined;
    try {
      const sample = await fetch(new URL(`/v1/recommendations/${users[0]}?k=10`, responder.url));
      const body = await sample.text();
      const bodyPath = join(workDir, 'reference-body.json');
      await writeFile(bodyPath, body);
      referenceServer = await startChild({ args: [REFERENCE, bodyPath], allCpus: true });
      progress(`responder ready in ${startupSeconds.toFixed(1)} s; warming both up`);
      await closedLoop({
        base: responder.url,
        paths: userPaths(users, 104_729),
        connections: CONNECTIONS,
        seconds: 3,
        check: new ResponseCheck(),
      });
      await closedLoop({
        base: referenceServer.url,
        paths: userPaths(users),
        connections: CONNECTIONS,
        seconds: 2,
        check: new ResponseCheck(),
      });
      const idleShares: number[] = [];
      for (let rep = 0; rep < size.repetitions; rep++) {
        const idleBefore = responder.cpuSeconds();
        const ref = await closedRun(referenceServer, users, rep * 1000, size.seconds, referenceCheck);
        const idleAfter = responder.cpuSeconds();
        if (idleBefore !== undefined && idleAfter !== undefined)
          idleShares.push((idleAfter - idleBefore) / size.seconds);
        reference.push(ref);
        const run = await closedRun(responder, users, rep * 1000, size.seconds, servedCheck);
        served.push(run);
        progress(
          `rep ${rep + 1}/${size.repetitions}: responder ${Math.round(run.requestsPerS).toLocaleString('en-US')} req/s (${Math.round(run.requestsPerCpuS ?? 0).toLocaleString('en-US')} per cpu-s), p50 ${run.p50.toFixed(2)} ms, p99 ${run.p99.toFixed(2)} ms | bare http ${Math.round(ref.requestsPerS).toLocaleString('en-US')} req/s, p99 ${ref.p99.toFixed(2)} ms`,
        );
      }
      failIf('closed loop', servedCheck);
      idleCpuShare = idleShares.length > 0 ? median(idleShares) : undefined;
      offered = Math.max(
        10,
        Math.min(TARGET_REQUESTS_PER_S, Math.round(median(served.map((r) => r.requestsPerS)) / 2)),
      );
      for (let rep = 0; rep < size.repetitions; rep++) {
        referenceOpen.push(
          await openRun(
            referenceServer,
            users,
            50_000 + rep * 1000,
            offered,
            size.openSeconds,
            referenceCheck,
          ),
        );
        const run = await openRun(
          responder,
          users,
          50_000 + rep * 1000,
          offered,
          size.openSeconds,
          servedCheck,
        );
        servedOpen.push(run);
        progress(
          `open loop ${offered} req/s, rep ${rep + 1}/${size.repetitions}: responder p50 ${run.p50.toFixed(2)} ms, p99 ${run.p99.toFixed(2)} ms | bare http p99 ${referenceOpen[rep]!.p99.toFixed(2)} ms`,
        );
      }
      failIf('open loop', servedCheck);
      failIf('reference', referenceCheck);
      stages = await stageMeans(responder.url);
    } finally {
      await referenceServer?.stop();
      await responder.stop();
    }

    const phases: ReloadFigures[] = [];
    for (let rep = 0; rep < size.repetitions; rep++) {
      progress(
        `hot reload under ${offered} req/s, phase ${rep + 1}/${size.repetitions}: v1 → v2 → v3 → rollback to v2`,
      );
      const phase = await reloadUnderLoad({
        world,
        dataDir: await copyWorld(world, join(workDir, `reload-${rep}`)),
        users,
        rate: offered,
        progress,
      });
      phases.push(phase);
      progress(
        `phase ${rep + 1}/${size.repetitions}: p99 during swaps ${phase.swapP99Ms.toFixed(1)} ms vs steady ${phase.steadyP99Ms.toFixed(1)} ms (x${reloadRatio(phase).toFixed(2)})`,
      );
    }
    const reload = medianPhase(phases);

    const personalised = servedCheck.ok - Object.values(servedCheck.fallbacks).reduce((a, b) => a + b, 0);
    const config = {
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
      users_requested: users.length,
      k: 10,
      personalised_share: round3(personalised / Math.max(1, servedCheck.ok)),
      fallbacks: servedCheck.fallbacks,
      responses_checked: servedCheck.ok,
      stage_mean_ms: stages,
      online_store: 'in-process (features application in the responder process, RocksDB)',
      serve_candidates: loadConfig().serveCandidates,
      ann_copy: loadConfig().serveAnnCopy,
      closed_loop: `autocannon, ${CONNECTIONS} keep-alive connections, ${size.seconds} s per run`,
      open_loop: `${offered} req/s offered for ${size.openSeconds} s per run, latency from the scheduled send time`,
      offered_requests_per_s: offered,
      repetitions: size.repetitions,
      responder_startup_seconds: round3(startupSeconds),
      responder_idle_cpu_share: idleCpuShare === undefined ? null : round3(idleCpuShare),
      server_cpu: SERVER_CPU === undefined ? 'unpinned' : `taskset -c 0-${cpus().length - 1}`,
      load_generator_cpu: SERVER_CPU === undefined ? 'unpinned' : `taskset -c ${SERVER_CPU + 1}`,
      cpus: cpus().length,
      cpu_pressure_some_avg60_pct: [pressureAtStart ?? null, cpuPressure() ?? null],
      load_generator_max_lag_ms: Math.round(
        Math.max(...servedOpen.map((r) => r.maxLagMs), ...phases.map((p) => p.maxLagMs)),
      ),
      machine_load_1m: [round1(loadAtStart), round1(loadavg()[0]!)],
      target: `>= ${TARGET_REQUESTS_PER_S} req/s with p99 < 10 ms; reload p99 <= 2 x steady p99`,
      node: process.version,
    };
    const reloadConfig = {
      ...config,
      reload: {
        steps: 'promote v2, promote v3, rollback (v3 → v2), published from inside the responder process',
        offered_requests_per_s: offered,
        reported_phase: phases.indexOf(reload) + 1,
        phases: phases.map((phase) => ({
          swap_latency_p99_ms: round3(phase.swapP99Ms),
          steady_latency_p99_ms: round3(phase.steadyP99Ms),
          ratio: round3(reloadRatio(phase)),
          seconds: round3(phase.seconds),
          swaps: phase.swaps.map((s) => ({ ...s, seconds: round3(s.seconds), p99Ms: round3(s.p99Ms) })),
          swap_requests: phase.swapRequests,
          steady_requests: phase.steadyRequests,
          swap_latency_p50_ms: round3(phase.swapP50Ms),
          steady_latency_p50_ms: round3(phase.steadyP50Ms),
          failures: phase.failures,
          fallbacks: phase.fallbacks,
          pairs_served: phase.pairs,
          final_model: phase.finalModel,
        })),
      },
    };
    const cpuMeasured = [...served, ...reference].every((r) => r.requestsPerCpuS !== undefined);
    const med = <T>(list: T[], pick: (x: T) => number) => median(list.map(pick));
    const rows: BenchResult[] = [
      metric(
        'serve',
        'requests_per_s',
        med(served, (r) => r.requestsPerS),
        'requests/s',
        true,
        config,
        {
          name: 'bare_node_http_requests_per_s',
          value: med(reference, (r) => r.requestsPerS),
        },
      ),
      ...(cpuMeasured
        ? [
            metric(
              'serve',
              'requests_per_cpu_s',
              med(served, (r) => r.requestsPerCpuS!),
              'requests/cpu-s',
              true,
              config,
              { name: 'bare_node_http_requests_per_cpu_s', value: med(reference, (r) => r.requestsPerCpuS!) },
            ),
          ]
        : []),
      metric(
        'serve',
        'latency_p50_ms',
        med(served, (r) => r.p50),
        'ms',
        false,
        config,
        {
          name: 'bare_node_http_p50_ms',
          value: med(reference, (r) => r.p50),
        },
      ),
      metric(
        'serve',
        'latency_p99_ms',
        med(served, (r) => r.p99),
        'ms',
        false,
        config,
        {
          name: 'bare_node_http_p99_ms',
          value: med(reference, (r) => r.p99),
        },
      ),
      metric(
        'serve',
        'open_loop_latency_p50_ms',
        med(servedOpen, (r) => r.p50),
        'ms',
        false,
        config,
        {
          name: 'bare_node_http_open_loop_p50_ms',
          value: med(referenceOpen, (r) => r.p50),
        },
      ),
      metric(
        'serve',
        'open_loop_latency_p99_ms',
        med(servedOpen, (r) => r.p99),
        'ms',
        false,
        config,
        {
          name: 'bare_node_http_open_loop_p99_ms',
          value: med(referenceOpen, (r) => r.p99),
        },
      ),
      metric('serve', 'reload_latency_p99_ms', reload.swapP99Ms, 'ms', false, reloadConfig, {
        name: 'steady_latency_p99_ms',
        value: reload.steadyP99Ms,
      }),
      metric(
        'serve',
        'reload_seconds',
        Math.max(...phases.flatMap((phase) => phase.swaps.map((s) => s.seconds))),
        's',
        false,
        reloadConfig,
      ),
      metric(
        'serve',
        'reload_failed_requests',
        sum(phases, (p) => p.failed),
        'requests',
        false,
        reloadConfig,
      ),
      metric(
        'serve',
        'reload_degraded_responses',
        sum(phases, (p) => p.degraded),
        'responses',
        false,
        reloadConfig,
      ),
      metric(
        'serve',
        'reload_mixed_responses',
        sum(phases, (p) => p.mixed),
        'responses',
        false,
        reloadConfig,
      ),
    ];
    return rows;
  } finally {
    unpin();
  }
};

/** Mean ms per request of each stage the responder times (`recstream_serve_stage_seconds`), from its /metrics. */
async function stageMeans(base: string): Promise<Record<string, number>> {
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

function reloadRatio(phase: ReloadFigures): number {
  return phase.swapP99Ms / phase.steadyP99Ms;
}

/** The phase whose ratio of swap to steady p99 is the median one (the lower middle of an even count). */
function medianPhase(phases: readonly ReloadFigures[]): ReloadFigures {
  const sorted = [...phases].sort((a, b) => reloadRatio(a) - reloadRatio(b));
  return sorted[(sorted.length - 1) >> 1]!;
}

function sum<T>(list: readonly T[], pick: (x: T) => number): number {
  return list.reduce((total, x) => total + pick(x), 0);
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

function round3(x: number): number {
  return Number.isFinite(x) ? Number(x.toPrecision(4)) : x;
}
