/**
 * The tasks of one StreamRunner (Kafka Streams' TaskManager): one per
 * source partition it runs, each a Task over its TaskState, and the one
 * consumer that feeds them. Opens them from their committed state, closes
 * them, and wipes them for a replay; it neither processes nor commits.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { TopologyError } from '../../errors.js';
import type { EventLog, LogConsumer, LogRecord, TopicPartitionOffset } from '../../log/log.js';
import type { GlobalTables } from '../../processor/internals/global-tables.js';
import { Task } from '../../processor/internals/task.js';
import type { Topology } from '../../processor/topology.js';
import type { TaskStateOptions } from '../../state/task-options.js';
import { TaskState } from '../../state/task-state.js';
import { type ReplayFrom, resetOffsets } from './reset.js';
import type { RunnerMetrics } from './runner-metrics.js';

export interface TaskSlot {
  readonly task: Task;
  readonly state: TaskState;
  /** Next input offset per source topic: what the task's state reflects once committed. */
  readonly offsets: Map<string, number>;
}

export interface TaskManagerOptions {
  readonly topology: Topology;
  readonly log: EventLog;
  readonly stateDir: string;
  readonly engine: 'rocksdb' | 'memory';
  readonly logger: Logger;
  readonly partitions?: readonly number[];
  readonly resetTo?: 'earliest' | 'latest';
  readonly namespace?: string;
  readonly onRestore?: (store: string, partition: number, restored: number, total: number) => void;
}

/**
 * Where task `partition` of an application keeps its state and which stores
 * it holds: the part of `TaskState.open`'s options every opener of that
 * task's state shares (the runner, and a reader that does not run it).
 */
export function taskStateOptions(
  options: Pick<TaskManagerOptions, 'topology' | 'log' | 'stateDir' | 'engine'>,
  partition: number,
): TaskStateOptions {
  const { topology } = options;
  return {
    dir: join(options.stateDir, String(partition)),
    engine: options.engine,
    log: options.log,
    applicationId: topology.applicationId,
    partition,
    stores: topology.stores.map((s) => ({
      name: s.name,
      codec: s.codec,
      changelogTopic: s.changelogTopic,
      cacheEntries: s.cacheEntries,
    })),
  };
}

export class TaskManager {
  readonly slots = new Map<number, TaskSlot>();
  private source!: LogConsumer;

  constructor(
    private readonly options: TaskManagerOptions,
    /** Partitions of the source topics (tasks of the whole application, over every instance). */
    readonly partitionCount: number,
    private readonly globals: GlobalTables,
    private readonly metrics: RunnerMetrics,
  ) {}

  /** The consumer of the open tasks; a new one after each reopen. */
  get consumer(): LogConsumer {
    return this.source;
  }

  /** Opens a task per wanted partition from its committed state and seeks the consumer to what that state reflects. */
  async open(): Promise<void> {
    const { topology, log, logger } = this.options;
    const wanted = this.options.partitions ?? Array.from({ length: this.partitionCount }, (_, i) => i);
    for (const partition of wanted) {
      if (partition < 0 || partition >= this.partitionCount) {
        throw new TopologyError(
          `partition ${partition} does not exist: source topics have ${this.partitionCount} partitions`,
        );
      }
      const state = await this.openState(partition);
      const task = new Task(topology, partition, (name) => state.store(name), logger, {
        partitionCount: this.partitionCount,
        globalTable: (name) => this.globals.view(name),
      });
      await task.init();
      this.slots.set(partition, { task, state, offsets: new Map(state.committedInputOffsets()) });
    }
    this.source = await log.consumer({
      topics: topology.sourceTopics(),
      group:
        this.options.namespace === undefined
          ? topology.applicationId
          : `${topology.applicationId}@${this.options.namespace}`,
      from: this.options.resetTo ?? 'earliest',
      partitions: wanted,
    });
    for (const [partition, slot] of this.slots) {
      for (const [topic, offset] of slot.offsets) this.source.seek(topic, partition, offset);
    }
  }

  /** Closes every task, its state and the consumer; uncommitted work is lost. */
  async close(): Promise<void> {
    for (const slot of this.slots.values()) {
      await slot.task.close();
      await slot.state.close();
    }
    this.slots.clear();
    if (this.source) await this.source.close();
  }

  /**
   * Closes the tasks, wipes each one's state durably and stores `from`'s
   * offsets with it (see TaskState.wipe and reset.ts), then opens them again.
   */
  async reset(from: ReplayFrom, rewritten: ReadonlySet<string>): Promise<void> {
    const partitions = [...this.slots.keys()];
    await this.close();
    for (const partition of partitions) {
      const state = await this.openState(partition);
      try {
        await state.wipe();
        await state.commit(
          await resetOffsets(this.options.topology, this.options.log, partition, from, rewritten),
        );
      } finally {
        await state.close();
      }
    }
    this.options.logger.info({ partitions, from }, 'tasks reset for a replay');
    await this.open();
  }

  /** One engine read per task for the batch's uncached keys of `stores`, instead of one per miss during processing. */
  async prefetch(records: readonly LogRecord[], stores: readonly string[]): Promise<void> {
    const keys = new Map<number, string[]>();
    for (const r of records) {
      if (r.key === null) continue;
      let list = keys.get(r.partition);
      if (!list) {
        list = [];
        keys.set(r.partition, list);
      }
      list.push(r.key);
    }
    await Promise.all(
      [...keys].map(([partition, list]) => this.slots.get(partition)?.state.prefetch(list, stores)),
    );
  }

  /** The topology's end-of-input stages (internals/end-of-input-stages.ts); 0 without tasks. */
  endOfInputStages(): number {
    for (const slot of this.slots.values()) return slot.task.endOfInputStages;
    return 0;
  }

  /** Ends the input of every task's processors of `stage` (`Processor.endOfInput`); returns how many outputs that produced. */
  async endOfInput(stage: number): Promise<number> {
    let produced = 0;
    for (const slot of this.slots.values()) produced += await slot.task.endOfInput(stage);
    return produced;
  }

  /** Forgets every task's outputs not yet handed to a commit. */
  dropOutputs(): void {
    for (const slot of this.slots.values()) slot.task.outputs.length = 0;
  }

  pendingOutputs(): number {
    let n = 0;
    for (const slot of this.slots.values()) n += slot.task.outputs.length;
    return n;
  }

  /** The consumer's next offset per assigned source partition. */
  positions(): TopicPartitionOffset[] {
    return this.source
      .assignment()
      .map((tp) => ({ ...tp, offset: this.source.position(tp.topic, tp.partition) }));
  }

  /** Whether every source partition of these tasks, internal topics included, is read to its end now. */
  async readToEnd(): Promise<boolean> {
    for (const { lag } of await this.lag()) if (lag > 0) return false;
    return true;
  }

  /** End offset minus position, per source partition of these tasks. */
  async lag(): Promise<{ topic: string; partition: number; lag: number }[]> {
    const out: { topic: string; partition: number; lag: number }[] = [];
    for (const topic of this.options.topology.sourceTopics()) {
      for (const p of await this.options.log.offsets(topic)) {
        if (!this.slots.has(p.partition)) continue;
        out.push({
          topic,
          partition: p.partition,
          lag: Math.max(0, p.end - this.source.position(topic, p.partition)),
        });
      }
    }
    return out;
  }

  private openState(partition: number): Promise<TaskState> {
    const counted = new Map<string, number>();
    return TaskState.open({
      ...taskStateOptions(this.options, partition),
      logger: this.options.logger,
      onRestoreProgress: (store, restored, total) => {
        // Progress is cumulative per store; the counter takes what this report adds.
        const added = restored - (counted.get(store) ?? 0);
        counted.set(store, restored);
        if (added > 0) this.metrics.restored(store, added);
        this.options.onRestore?.(store, partition, restored, total);
      },
    });
  }
}
