/**
 * The `serve` suite's rows for the responder role alone: requests per
 * CPU-second of `recstream serve` on Redis (stateless.ts), median over the
 * runs, once with no experiment (`config.experiment: "none"`) and once
 * serving a two-variant experiment (`"two-variant"`), each with the
 * model-compute floor (model-floor.ts) as its reference, so that the ratio
 * is serving's overhead over the models; `experiment_cpu_overhead`: CPU µs
 * per request with the experiment, with what its two model versions cost
 * alone (each promoted with no experiment, averaged) as its reference, so
 * that its ratio is what the experiment itself costs (at most 1.1 is the
 * target), taken rep by rep; the open loop's p99 and p99.9 on the
 * responder with no experiment; and the floor as a row of its own.
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
import type { ResponderRuns, StatelessFigures } from './stateless.js';

export function statelessRows(
  stateless: StatelessFigures<FloorFigures>,
  run: { readonly seconds: number; readonly floorSeconds: number; readonly users: number },
): BenchResult[] {
  const floor = stateless.after;
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
  const responders = { none: stateless.none, 'two-variant': stateless.twoVariant };
  const perCpu = Object.values(responders).map((r) => r.runs.map((run) => run.requestsPerCpuS));
  if (perCpu.flat().some((v) => v === undefined)) return [floorRow];
  const medians = perCpu.map((values) => median(values as number[]));
  const [none, twoVariant] = medians as [number, number];
  const rows = Object.entries(responders).map(([experiment, responder], i) =>
    metric(
      'serve',
      'stateless_requests_per_cpu_s',
      medians[i]!,
      'requests/cpu-s',
      true,
      {
        experiment,
        ...(experiment === 'none' ? {} : { experiment_variants: stateless.experiment.variants }),
        ...responderConfig(responder, stateless, run),
        model_floor: floorConfig,
      },
      { name: 'model_floor_requests_per_cpu_s', value: floor.requestsPerCpuS },
    ),
  );
  const [noneRuns, twoRuns] = perCpu as [number[], number[]];
  const aloneRuns = stateless.candidateAlone.runs.map((r) => r.requestsPerCpuS ?? Number.NaN);
  // What the two models cost alone, half the users each: CPU µs per request of each version
  // promoted with no experiment, averaged, run by run (the runs of one rep ran back to back, so
  // each rep's ratio saw the same machine: its drift between reps, more than the 10 % the
  // experiment may cost, leaves the ratio alone).
  const modelsUs = noneRuns.map((value, i) => (1e6 / value + 1e6 / aloneRuns[i]!) / 2);
  const ratios = twoRuns.map((value, i) => 1e6 / value / modelsUs[i]!);
  const ratioMedian = median(ratios);
  const referenceUs = median(modelsUs);
  const overhead = metric(
    'serve',
    'experiment_cpu_overhead',
    referenceUs * ratioMedian,
    'cpu-µs/request',
    false,
    {
      experiment: 'two-variant',
      experiment_variants: stateless.experiment.variants,
      how: "the stateless responder's CPU µs per request with the two-variant experiment running, over what its two models cost with no experiment (reference: the mean of the CPU µs per request of a responder with the promoted version and of one with the candidate version promoted, median over the reps); the ratio is the median over the reps (the three responders back to back, in rotating order) of the rep's ratio, and the value that ratio times the reference",
      limit_ratio: 1.1,
      runs: stateless.twoVariant.runs.length,
      requests_per_cpu_s: {
        none: round1(none),
        'two-variant': round1(twoVariant),
        'candidate-alone': round1(median(aloneRuns)),
      },
      candidate_alone_runs: aloneRuns.map(round1),
      rep_ratios: ratios.map(round3),
      rep_ratio_median: round3(ratioMedian),
      over_promoted_alone_median: round3(median(noneRuns.map((value, i) => value / twoRuns[i]!))),
    },
    { name: 'stateless_cpu_us_per_request_of_the_two_models_alone', value: referenceUs },
  );
  return [...rows, ...openLoopRows(stateless, run), overhead, floorRow];
}

/** The open loop's p99 and p99.9 on the responder with no experiment, medians over its runs. */
function openLoopRows(
  stateless: StatelessFigures<FloorFigures>,
  run: { readonly seconds: number; readonly users: number },
): BenchResult[] {
  const open = stateless.noneOpen;
  const config = {
    experiment: 'none',
    ...responderConfig(stateless.none, stateless, run),
    open_loop: `${open.offered} req/s offered (half the closed-loop requests_per_s) for ${open.seconds} s per run, latency from the scheduled send time`,
    offered_requests_per_s: open.offered,
    open_loop_runs: open.runs.length,
    open_loop_stalls: open.stalls,
    load_generator_max_lag_ms: Math.round(Math.max(...open.runs.map((r) => r.maxLagMs))),
  };
  return [
    metric(
      'serve',
      'stateless_open_loop_latency_p99_ms',
      median(open.runs.map((r) => r.p99)),
      'ms',
      false,
      config,
    ),
    metric(
      'serve',
      'stateless_open_loop_latency_p999_ms',
      median(open.runs.map((r) => r.p999)),
      'ms',
      false,
      config,
    ),
  ];
}

function responderConfig(
  responder: ResponderRuns,
  stateless: StatelessFigures<FloorFigures>,
  run: { readonly seconds: number; readonly users: number },
): Record<string, unknown> {
  const check = responder.check;
  const fallbacks = Object.values(check.fallbacks).reduce((a, b) => a + b, 0);
  return {
    online_store: 'Redis (a private redis-server), filled by recstream materialize --once',
    processors_in_process: false,
    users_requested: run.users,
    closed_loop: `autocannon, ${CONNECTIONS} keep-alive connections, ${run.seconds} s per run`,
    runs: responder.runs.length,
    requests_per_cpu_s_runs: responder.runs.map((r) => round1(r.requestsPerCpuS!)),
    requests_per_s: round1(median(responder.runs.map((r) => r.requestsPerS))),
    latency_p99_ms: round3(median(responder.runs.map((r) => r.p99))),
    personalised_share: round3((check.ok - fallbacks) / Math.max(1, check.ok)),
    fallbacks: check.fallbacks,
    responses_checked: check.ok,
    served_pairs: check.pairs,
    served_variants: check.variants,
    responder_startup_seconds: round3(responder.startupSeconds),
    materialize_seconds: round3(stateless.materializeSeconds),
  };
}
