/**
 * Runs a topology without any log, like Kafka Streams' TopologyTestDriver:
 * pipe input records in, read what the sinks produced, inspect stores,
 * advance the wall clock. Stores are real (the cached store over the memory
 * engine), so processors are tested exactly as they run.
 *
 * @example
 * ```ts
 * const driver = await TopologyTestDriver.create(topology);
 * await driver.pipe('rec.interactions', 'u1', interactionBytes, 1_000);
 * assert.equal((await driver.store<Counts>('counts').get('u1'))?.total, 1);
 * driver.readOutput('rec.counts'); // [{ key, value, timestamp }]
 * ```
 */
import type { LogRecord, RecordHeaders } from '../log/log.js';
import { silentLogger } from '../observability/logger.js';
import { CachedStore } from '../state/cached-store.js';
import { MemoryEngine } from '../state/memory/memory-engine.js';
import type { KeyValueStore } from '../state/store.js';
import { TopicCatalogue } from '../topics/topic-catalogue.js';
import { type DeadLetter, deadLetterFor } from './dead-letter.js';
import { GlobalTables } from './internals/global-tables.js';
import { groupByTopic, type ResolvedOutput } from './internals/pending-output.js';
import { Task } from './internals/task.js';
import type { Topology } from './topology.js';

/** What a sink produced: the serialized value, and the partition a processor asked for (undefined: the key's). */
export type DriverOutput = ResolvedOutput;

export class TopologyTestDriver {
  /** Records that failed, as the runner would have sent them to rec.dlq. */
  readonly deadLetters: DeadLetter[] = [];
  private readonly offsets = new Map<string, number>();
  private readonly outputs = new Map<string, DriverOutput[]>();

  private constructor(
    private task: Task,
    private readonly stores: Map<string, CachedStore<unknown>>,
    private readonly partition: number,
    private readonly partitionCount: number,
    private readonly globals: GlobalTables,
    private readonly topology: Topology,
    private readonly topics: TopicCatalogue,
  ) {}

  /**
   * `partition`: the task's partition (default 0); `partitionCount`: the
   * application's partitions as processors see them (default 1); `topics`:
   * the catalogue dead letters hash user keys by, as the runner's (default
   * none).
   */
  static async create(
    topology: Topology,
    options: { partition?: number; partitionCount?: number; topics?: TopicCatalogue } = {},
  ): Promise<TopologyTestDriver> {
    const engine = new MemoryEngine();
    const stores = new Map<string, CachedStore<unknown>>();
    for (const s of topology.stores)
      stores.set(s.name, new CachedStore(s.name, engine, s.codec, s.cacheEntries ?? 10_000, 0));
    const partition = options.partition ?? 0;
    const partitionCount = options.partitionCount ?? 1;
    const globals = new GlobalTables(topology.globalTables, silentLogger());
    return new TopologyTestDriver(
      await startTask(topology, partition, partitionCount, stores, globals),
      stores,
      partition,
      partitionCount,
      globals,
      topology,
      options.topics ?? TopicCatalogue.EMPTY,
    );
  }

  /**
   * Closes the task and makes it again over the same stores and global
   * tables, as the runner does when a task moves (a rebalance, a restart):
   * what its processors held in memory is gone, what they stored is not.
   */
  async restart(): Promise<void> {
    await this.task.close();
    this.task = await startTask(
      this.topology,
      this.partition,
      this.partitionCount,
      this.stores,
      this.globals,
    );
  }

  /** Processes one record as if read from `topic` at the next offset. */
  async pipe(
    topic: string,
    key: string | null,
    value: Buffer | null,
    timestamp: number,
    headers?: RecordHeaders,
  ): Promise<void> {
    const offset = this.offsets.get(topic) ?? 0;
    this.offsets.set(topic, offset + 1);
    const record: LogRecord = { topic, partition: this.partition, offset, timestamp, key, value, headers };
    // As in the runner, a global table sees a record before the tasks process anything after it.
    await this.globals.apply(record);
    if (this.globals.reads(topic) && !this.topology.sourceTopics().includes(topic)) return;
    const failure = await this.task.process(record);
    if (failure) this.deadLetters.push(deadLetterFor(record, failure.error, failure.node, this.topics));
    await this.collect();
  }

  /** Fires wall-clock punctuators as if the clock read `now`. */
  async advanceWallClock(now: number): Promise<void> {
    await this.task.punctuateWallClock(now);
    await this.collect();
  }

  /** Ends the input, as `runUntilCaughtUp({ endOfInput: true })` does once every input is read (`Processor.endOfInput`). */
  async endOfInput(): Promise<void> {
    for (let stage = 0; stage < this.task.endOfInputStages; stage++) await this.task.endOfInput(stage);
    await this.collect();
  }

  /** Everything the sinks wrote to `topic` since the last call, in order. */
  readOutput(topic: string): DriverOutput[] {
    const list = this.outputs.get(topic) ?? [];
    this.outputs.delete(topic);
    return list;
  }

  store<V>(name: string): KeyValueStore<V> {
    const store = this.stores.get(name);
    if (!store) throw new Error(`the topology has no store ${name}`);
    return store as KeyValueStore<V>;
  }

  streamTime(): number {
    return this.task.streamTime();
  }

  async close(): Promise<void> {
    await this.task.close();
  }

  private async collect(): Promise<void> {
    await groupByTopic(this.task.outputs, this.outputs);
    this.task.outputs.length = 0;
  }
}

async function startTask(
  topology: Topology,
  partition: number,
  partitionCount: number,
  stores: Map<string, CachedStore<unknown>>,
  globals: GlobalTables,
): Promise<Task> {
  const task = new Task(topology, partition, (name) => stores.get(name)!, silentLogger(), {
    partitionCount,
    globalTable: (name) => globals.view(name),
  });
  await task.init();
  return task;
}
