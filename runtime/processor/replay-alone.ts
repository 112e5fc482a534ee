/**
 * A replay with no other process running the application (`recstream
 * replay` run alone, `bench replay`): open the tasks, reset them to `from`
 * (StreamRunner.reset), process up to the current end of the inputs,
 * commit and close.
 *
 * @example
 * ```ts
 * const result = await replayAlone(runnerOptions, { kind: 'earliest' }, (done, total) => progress.update(done));
 * console.log(result.records, result.seconds);
 * ```
 */
import { type ReplayFrom, ReplayProgress, replayTargets } from './reset.js';
import { type RunnerOptions, type RunStats, StreamRunner } from './runner.js';

export interface ReplayResult {
  /** Input records from the reset positions to the inputs' end when the replay began. */
  readonly records: number;
  /** Every record processed, internal topics included. */
  readonly stats: RunStats;
  /** Wall-clock seconds of reset + rebuild (not counting opening the tasks). */
  readonly seconds: number;
}

export async function replayAlone(
  options: RunnerOptions,
  from: ReplayFrom,
  onProgress: (done: number, total: number) => void = () => {},
): Promise<ReplayResult> {
  const runner = await StreamRunner.start(options);
  const started = process.hrtime.bigint();
  let timer: NodeJS.Timeout | undefined;
  // runUntilCaughtUp closes the runner itself, also when it fails.
  let rebuilding = false;
  try {
    const partitions = [...new Set(runner.positions().map((p) => p.partition))];
    const targets = await replayTargets(options.topology, options.log, partitions);
    await runner.reset(from);
    const progress = new ReplayProgress(targets, runner.positions());
    let closing = false;
    timer = setInterval(() => {
      if (!closing) onProgress(progress.at(runner.positions()).done, progress.total);
    }, 500);
    rebuilding = true;
    const stats = await runner.runUntilCaughtUp().finally(() => {
      closing = true;
    });
    onProgress(progress.total, progress.total);
    return { records: progress.total, stats, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
  } catch (error) {
    if (!rebuilding) await runner.close();
    throw error;
  } finally {
    clearInterval(timer);
  }
}
