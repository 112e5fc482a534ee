/**
 * `serve` suite: `GET /v1/recommendations/:userId?k=10`
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
 * - `open_loop_latency_p50_ms` / `_p99_ms` / `_p999_ms`: a fixed offered
 *   rate (half the closed-loop throughput of this run, at most the 2,000
 *   req/s target; `config.offered_requests_per_s`), latency from each
 *   request's scheduled send time (no coordinated omission); what stalled
 *   the responder meanwhile in `config.open_loop_stalls`.
 * - `reload_latency_p99_ms` (reference: steady p99 of the same phase),
 *   `reload_seconds` (publication to the first answer from the new pair,
 *   the slowest swap of every phase), `reload_failed_requests` (not 200),
 *   `reload_degraded_responses` (200 with a fallback because the
 *   personalised path failed or timed out), `reload_mixed_responses` (an
 *   index version not built for the model version named): hot reload under
 *   the same open loop while v2 and v3 are promoted and v3 rolled back
 *   (bench/serve/reload.ts), a phase per run, each on a fresh copy
 *   of the world. A phase's p99s rest on a few thousand requests, so one
 *   stall moves them: the p99 row is the phase whose ratio of swap to
 *   steady p99 is the median one, every phase is in `config.reload.phases`,
 *   and the counts are summed over the phases.
 *
 * - `stateless_requests_per_cpu_s` (reference:
 *   `model_floor_requests_per_cpu_s`): the responder role alone, `recstream
 *   serve` on a private Redis that `recstream materialize --once` filled,
 *   with no processor in its process, under the steady phase's closed loop
 *   (bench/serve/stateless.ts); and the floor: the user tower, ANN search
 *   and ranker alone on the same users, one thread, no HTTP
 *   (bench/serve/model-floor.ts). Their ratio is serving's overhead.
 *   `stateless_open_loop_latency_p99_ms` / `_p999_ms`: the open loop on
 *   that responder (no experiment) at half its own closed-loop throughput,
 *   after its closed-loop runs, with its stalls in the config. Two
 *   rows, by `config.experiment`: `none`, and `two-variant`, a second
 *   responder serving a running experiment that splits users 50/50 between
 *   the promoted model and a second trained version (its own pair)
 *   (bench/serve/experiment.ts); a third responder has that second version
 *   promoted and no experiment. Their runs take turns. Shorter runs and
 *   more of them than the steady phase's (`statelessRuns` of
 *   `statelessSeconds`): the machine's speed drifts by more than the 10 %
 *   the experiment may cost, so what is compared is each rep's runs, back
 *   to back.
 * - `experiment_cpu_overhead`: the responder's CPU per request with that
 *   experiment over what its two versions cost alone, half the users each
 *   (reference); its ratio is the median over the reps of the rep's ratio.
 *
 * Reference in the same run, same CPUs, same client: a bare Node `http`
 * server answering every GET with a fixed body of the responder's own
 * (bench/serve/reference-server.ts). Runs of the two alternate; the
 * responder stays up (idle) while the reference runs, and its CPU share
 * then is in `config.responder_idle_cpu_share`.
 */
import { loadavg } from 'node:os';
import { pinLoadGenerator } from '../ingest/servers.js';
import type { Suite } from '../result.js';
import { cpuPressure } from '../serve/child.js';
import { modelFloor } from '../serve/model-floor.js';
import { reloadPhases } from '../serve/reload-phases.js';
import { serveRows } from '../serve/rows.js';
import { statelessPhase } from '../serve/stateless.js';
import { statelessRows } from '../serve/stateless-rows.js';
import { steadyPhase } from '../serve/steady.js';
import { serveWorld } from '../serve/world.js';

const SIZES = {
  small: {
    seconds: 10,
    runs: 3,
    openSeconds: 5,
    users: 10_000,
    floorUsers: 2_000,
    statelessSeconds: 5,
    statelessRuns: 10,
  },
  full: {
    seconds: 30,
    runs: 5,
    openSeconds: 15,
    users: 50_000,
    floorUsers: 5_000,
    statelessSeconds: 10,
    statelessRuns: 12,
  },
};

export const serveSuite: Suite = async ({ scale, workDir, progress }) => {
  const size = SIZES[scale];
  const world = await serveWorld(scale, progress);
  const users = world.usersWithHistory.slice(0, size.users);
  const loadAtStart = loadavg()[0]!;
  const unpin = pinLoadGenerator();
  const pressureAtStart = cpuPressure();
  try {
    const { seconds, openSeconds, runs } = size;
    const steady = await steadyPhase({ world, users, workDir, seconds, openSeconds, runs, progress });
    const phases = await reloadPhases({ world, users, rate: steady.offered, runs, workDir, progress });
    const stateless = await statelessPhase({
      world,
      users,
      workDir,
      seconds: size.statelessSeconds,
      runs: size.statelessRuns,
      openSeconds,
      openRuns: runs,
      progress,
      afterServe: async ({ dataDir, redisUrl }) => {
        const floor = await modelFloor({
          dataDir,
          redisUrl,
          users: users.slice(0, size.floorUsers),
          seconds,
        });
        progress(
          `model floor: ${Math.round(floor.requestsPerCpuS).toLocaleString('en-US')} requests per cpu-s over ${floor.users} users`,
        );
        return floor;
      },
    });
    const rows = serveRows({
      world,
      users,
      steady,
      phases,
      runs,
      seconds,
      openSeconds,
      loadAtStart,
      pressureAtStart,
    });
    return [
      ...rows,
      ...statelessRows(stateless, {
        seconds: size.statelessSeconds,
        floorSeconds: seconds,
        users: users.length,
      }),
    ];
  } finally {
    unpin();
  }
};
