/**
 * The `serve` suite's hot-reload phases: one per run, each on a fresh copy
 * of the world (reload.ts), and how they are reduced. A phase's p99s rest on
 * a few thousand requests, so one stall moves them: the reported phase is the
 * one whose ratio of swap to steady p99 is the median one, and every phase
 * is kept in the result's config.
 *
 * @example
 * ```ts
 * const phases = await reloadPhases({ world, users, rate: 200, runs: 3, workDir, progress });
 * const reported = medianPhase(phases);
 * ```
 */
import { join } from 'node:path';
import { round3 } from './figures.js';
import { type ReloadFigures, reloadUnderLoad } from './reload.js';
import { copyWorld, type World } from './world.js';

export async function reloadPhases(options: {
  readonly world: World;
  readonly users: readonly string[];
  readonly rate: number;
  readonly runs: number;
  readonly workDir: string;
  readonly progress: (message: string) => void;
}): Promise<ReloadFigures[]> {
  const { world, users, rate, runs, workDir, progress } = options;
  const phases: ReloadFigures[] = [];
  for (let rep = 0; rep < runs; rep++) {
    progress(`hot reload under ${rate} req/s, phase ${rep + 1}/${runs}: v1 → v2 → v3 → rollback to v2`);
    const phase = await reloadUnderLoad({
      world,
      dataDir: await copyWorld(world, join(workDir, `reload-${rep}`)),
      users,
      rate,
      progress,
    });
    phases.push(phase);
    progress(
      `phase ${rep + 1}/${runs}: p99 during swaps ${phase.swapP99Ms.toFixed(1)} ms vs steady ${phase.steadyP99Ms.toFixed(1)} ms (x${reloadRatio(phase).toFixed(2)})`,
    );
  }
  return phases;
}

export function reloadRatio(phase: ReloadFigures): number {
  return phase.swapP99Ms / phase.steadyP99Ms;
}

/** The phase whose ratio of swap to steady p99 is the median one (the lower middle of an even count). */
export function medianPhase(phases: readonly ReloadFigures[]): ReloadFigures {
  const sorted = [...phases].sort((a, b) => reloadRatio(a) - reloadRatio(b));
  return sorted[(sorted.length - 1) >> 1]!;
}

/** What the reload rows' config says of the phases: every one, and which is reported. */
export function reloadConfig(phases: readonly ReloadFigures[], offered: number): Record<string, unknown> {
  return {
    steps: 'promote v2, promote v3, rollback (v3 → v2), published from inside the responder process',
    offered_requests_per_s: offered,
    reported_phase: phases.indexOf(medianPhase(phases)) + 1,
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
  };
}
