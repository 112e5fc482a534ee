/**
 * A replay with no other process running the applications (`recstream
 * replay` run alone, `bench replay`): open every application's tasks, reset
 * them all to `from` first (StreamRunner.reset; the topics the replay
 * rewrites go to their end before any of them is re-emitted), then rebuild
 * the applications writers-first (replayOrder) up to the current end of
 * their inputs, commit and close.
 *
 * @example
 * ```ts
 * const results = await replayAlone([runnerOptions], { kind: 'earliest' }, (done, total) => progress.update(done));
 * console.log(results[0].records, results[0].seconds);
 * ```
 */

import { type RunnerOptions, type RunStats, StreamRunner } from '../runner.js';
import { type ReplayFrom, ReplayProgress, replayOrder, replayTargets, rewrittenTopics } from './reset.js';

export interface ReplayResult {
  readonly applicationId: string;
  /** Input records from the reset positions to the inputs' end when the replay began. */
  readonly records: number;
  /** Every record processed, internal topics included. */
  readonly stats: RunStats;
  /** Wall-clock seconds of this application's rebuild (its reset not included). */
  readonly seconds: number;
}

export async function replayAlone(
  applications: readonly RunnerOptions[],
  from: ReplayFrom,
  onProgress: (done: number, total: number) => void = () => {},
  rewritten: ReadonlySet<string> = rewrittenTopics(applications.map((a) => a.topology)),
): Promise<ReplayResult[]> {
  const ordered = replayOrder(applications.map((a) => a.topology)).map(
    (t) => applications.find((a) => a.topology === t)!,
  );
  const runners: StreamRunner[] = [];
  const progress: ReplayProgress[] = [];
  // runUntilCaughtUp closes its runner itself, also when it fails.
  let rebuilding = 0;
  try {
    for (const options of ordered) runners.push(await StreamRunner.start(options));
    for (const [i, runner] of runners.entries()) {
      const { topology, log } = ordered[i]!;
      const partitions = [...new Set(runner.positions().map((p) => p.partition))];
      const targets = await replayTargets(topology, log, partitions, rewritten);
      await runner.reset(from, rewritten);
      progress.push(new ReplayProgress(targets, runner.positions()));
    }
    const total = progress.reduce((n, p) => n + p.total, 0);
    const results: ReplayResult[] = [];
    let before = 0;
    for (const [i, runner] of runners.entries()) {
      const started = process.hrtime.bigint();
      let closing = false;
      const timer = setInterval(() => {
        if (!closing) onProgress(before + progress[i]!.at(runner.positions()).done, total);
      }, 500);
      rebuilding = i + 1;
      const stats = await runner.runUntilCaughtUp().finally(() => {
        closing = true;
        clearInterval(timer);
      });
      before += progress[i]!.total;
      onProgress(before, total);
      results.push({
        applicationId: ordered[i]!.topology.applicationId,
        records: progress[i]!.total,
        stats,
        seconds: Number(process.hrtime.bigint() - started) / 1e9,
      });
    }
    return results;
  } catch (error) {
    for (const runner of runners.slice(rebuilding)) await runner.close().catch(() => undefined);
    throw error;
  }
}
