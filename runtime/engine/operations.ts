/**
 * The runtime's operations API: what the commands, the benchmarks and the
 * demo do to an application besides running it — prepare its topics and
 * learn its task count, replay it, and read a committed store value
 * without running it (Kafka Streams' interactive queries, for a process
 * that is not the one running the task). Callers outside `runtime/` use
 * this module, never `internals/`, whose shapes may change with the
 * runner's.
 *
 * @example
 * ```ts
 * const tasks = await prepareApplication(options);            // source topics checked, internal ones created
 * const [counts] = await readCommittedStore(options, 2, 'interaction-counts', ['u0']);
 * await replayAlone([options], parseReplayFrom('earliest'));
 * ```
 */
import { TaskState } from '../state/task-state.js';
import { prepareTopics } from './internals/prepare-topics.js';
import { taskStateOptions } from './internals/task-manager.js';
import type { RunnerOptions } from './runner-options.js';

export { type ReplayResult, replayAlone } from './internals/replay-alone.js';
export {
  formatReplayFrom,
  parseReplayFrom,
  type ReplayFrom,
  replayOrder,
  rewrittenTopics,
} from './internals/reset.js';

/**
 * Checks the application's source topics (they exist and are
 * co-partitioned), creates its internal topics where missing, and returns
 * its task count: the partitions of its source topics, whatever share of
 * them this process runs.
 */
export function prepareApplication(
  options: Pick<RunnerOptions, 'topology' | 'log' | 'topics'>,
): Promise<number> {
  return prepareTopics(options.topology, options.log, options.topics);
}

/**
 * The committed values of `keys` in store `store` of the application's
 * task `partition`, read from the task's state directory (restored from
 * its changelogs first where the directory is behind). For a process that
 * does not run the task; one that does asks its runner
 * (`StreamRunner.taskState`). Undefined for a key the store does not hold.
 */
export async function readCommittedStore<V>(
  options: Pick<RunnerOptions, 'topology' | 'log' | 'stateDir' | 'engine'>,
  partition: number,
  store: string,
  keys: readonly string[],
): Promise<(V | undefined)[]> {
  const state = await TaskState.open(taskStateOptions(options, partition));
  try {
    return await state.readCommitted<V>(store, keys);
  } finally {
    await state.close();
  }
}
