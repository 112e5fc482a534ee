/**
 * Where the in-process online store finds the processors' task states: by
 * application id and partition, looked up again on every read, so a task
 * that reopens (after a retriable failure) or is replaced is picked up
 * without any registration call.
 *
 * @example
 * ```ts
 * const runner = await StreamRunner.start({ topology, log, stateDir, engine: 'rocksdb', deadLetters, logger });
 * store.attach('default', runnersLookup(new Map([[topology.applicationId, runner]])));
 * ```
 */
import type { StreamRunner } from '../../engine/runner.js';
import type { TaskState } from '../../state/task-state.js';

export interface TaskLookup {
  /** Partitions of the application's source topics; undefined when the application does not run here. */
  partitions(application: string): number | undefined;
  /** The open state of one task; undefined while it is (re)opening or not run here. */
  state(application: string, partition: number): TaskState | undefined;
}

/** The task states of running `StreamRunner`s, keyed by their topology's application id. */
export function runnersLookup(
  byApplication: ReadonlyMap<string, Pick<StreamRunner, 'partitionCount' | 'taskState'>>,
): TaskLookup {
  return {
    partitions: (application) => byApplication.get(application)?.partitionCount,
    state: (application, partition) => byApplication.get(application)?.taskState(partition),
  };
}
