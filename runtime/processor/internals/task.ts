/**
 * One task: the processors of a topology instantiated for one partition, the
 * stores they use, and the outputs they produced since the last commit.
 * The runner feeds it log records; the test driver feeds it records directly.
 * Neither the log nor commits are known here.
 *
 * A task delivers each input through its processors, takes back a failed
 * record's outputs and store writes (the caller dead-letters it), and fires
 * punctuations. What a commit hands on lives beside it: the pending outputs
 * (pending-output.ts) and the input positions processors hold
 * (input-holds.ts); tracing is task-tracing.ts, made only when a tracer
 * provider is registered, so that records without a `traceparent` header,
 * and every record when tracing is off, cost one check.
 */
import type { Logger } from 'pino';
import { isInfrastructureError, ProcessingError } from '../../errors.js';
import type { LogRecord } from '../../log/log.js';
import { refreshTracing } from '../../observability/tracing.js';
import { isRecordJournal, type KeyValueStore, type RecordJournal } from '../../state/store.js';
import type {
  GlobalTableView,
  Processor,
  ProcessorContext,
  RecordMetadata,
  StreamRecord,
} from '../processor.js';
import type { SinkNode, Topology } from '../topology.js';
import { endOfInputStages } from './end-of-input-stages.js';
import { InputHolds } from './input-holds.js';
import type { PendingOutput } from './pending-output.js';
import { Punctuations } from './punctuation.js';
import { TaskTracing } from './task-tracing.js';

/** What a task knows about the application beyond its own partition. */
export interface TaskEnvironment {
  /** Partitions of the source topics. */
  readonly partitionCount: number;
  /** The global tables' replicas, by name. */
  readonly globalTable: (name: string) => GlobalTableView<unknown> | undefined;
}

const NO_ENVIRONMENT: TaskEnvironment = { partitionCount: 1, globalTable: () => undefined };

/** Why a record could not be processed, with the node that failed. */
export interface RecordFailure {
  readonly node: string;
  readonly error: unknown;
}

export class Task {
  readonly outputs: PendingOutput[] = [];
  /** Input positions processors asked to keep (`ProcessorContext.holdInput`). */
  private readonly holds = new InputHolds();
  private readonly processors = new Map<string, Processor<unknown, unknown>>();
  /** The stores the processors use that can take back a failed record's writes. */
  private readonly journals: RecordJournal[] = [];
  private readonly punctuations = new Punctuations();
  private readonly sourceByTopic = new Map<string, string>();
  private current: RecordMetadata | undefined;
  private time = -1;
  private failingNode = '';
  /** Pending deliveries as flat (node, record) pairs: no per-forward allocation. */
  private readonly queue: unknown[] = [];
  /** Set when a tracer provider was registered when the task was made; when unset, headers are never read. */
  private readonly tracing: TaskTracing | undefined;
  /** Each processor's end-of-input stage. */
  private readonly stages: ReadonlyMap<string, number>;

  constructor(
    private readonly topology: Topology,
    readonly partition: number,
    private readonly stores: (name: string) => KeyValueStore<unknown>,
    private readonly logger: Logger,
    private readonly environment: TaskEnvironment = NO_ENVIRONMENT,
  ) {
    for (const s of topology.sources) for (const topic of s.topics) this.sourceByTopic.set(topic, s.name);
    this.tracing = refreshTracing() ? new TaskTracing(topology) : undefined;
    this.stages = endOfInputStages(topology);
  }

  async init(): Promise<void> {
    const connected = new Set(this.topology.processors.flatMap((node) => node.stores));
    for (const name of connected) {
      const store = this.stores(name);
      if (isRecordJournal(store)) this.journals.push(store);
    }
    for (const node of this.topology.processors) {
      const processor = node.supplier();
      this.processors.set(node.name, processor);
      await processor.init?.(this.contextFor(node.name, node.stores));
    }
  }

  streamTime(): number {
    return this.time;
  }

  /**
   * Decodes and processes one record. Returns the failure instead of throwing
   * when the record itself is bad (so the caller can dead-letter it);
   * infrastructure errors (disk, state engine, network) are thrown.
   */
  async process(record: LogRecord): Promise<RecordFailure | undefined> {
    const sourceName = this.sourceByTopic.get(record.topic);
    if (sourceName === undefined)
      return { node: 'runtime', error: new ProcessingError(`no source reads topic ${record.topic}`) };
    const source = this.topology.node(sourceName);
    if (source.kind !== 'source') throw new ProcessingError(`node ${sourceName} is not a source`);
    const outputsBefore = this.outputs.length;
    for (const journal of this.journals) journal.beginRecord();
    this.current = { topic: record.topic, partition: record.partition, offset: record.offset };
    const tracing = this.tracing;
    const span = tracing !== undefined ? tracing.startSpan(sourceName, record) : undefined;
    try {
      let value: unknown = null;
      if (record.value !== null) {
        this.failingNode = sourceName;
        const decoded = source.deserializer.deserialize(record.value, record.topic);
        value = decoded instanceof Promise ? await decoded : decoded;
        if (span !== undefined) tracing!.rememberInput(value);
      }
      if (record.timestamp > this.time) this.time = record.timestamp;
      const streamRecord: StreamRecord<unknown> = {
        key: record.key,
        value,
        timestamp: record.timestamp,
        headers: record.headers,
      };
      for (const child of this.topology.children(sourceName)) this.queue.push(child, streamRecord);
      await this.drain();
    } catch (error) {
      this.queue.length = 0;
      if (isInfrastructureError(error)) throw error;
      // A failed record's outputs and store writes are dropped: a dead letter has no effect, downstream or in state.
      this.outputs.length = outputsBefore;
      for (const journal of this.journals) journal.rollbackRecord();
      if (span !== undefined) tracing!.failed(span, error, this.failingNode);
      return { node: this.failingNode, error };
    } finally {
      this.current = undefined;
      if (span !== undefined) tracing!.endSpan(span);
    }
    for (const journal of this.journals) journal.endRecord();
    if (!this.punctuations.isEmpty) {
      await this.punctuations.fire('stream-time', this.time);
      await this.drain();
    }
    return undefined;
  }

  /**
   * The positions to commit: `consumed` (next offset per topic), lowered to
   * the processors' holds. The same map when nothing is held.
   */
  committablePositions(consumed: ReadonlyMap<string, number>): ReadonlyMap<string, number> {
    return this.holds.committable(consumed);
  }

  async punctuateWallClock(now: number): Promise<void> {
    if (this.punctuations.isEmpty) return;
    await this.punctuations.fire('wall-clock', now);
    await this.drain();
  }

  /** How many end-of-input stages the topology has (internals/end-of-input-stages.ts). */
  get endOfInputStages(): number {
    return Math.max(0, ...this.stages.values()) + 1;
  }

  /**
   * Tells the processors of end-of-input `stage`, in topology order, that
   * their input has ended (`Processor.endOfInput`); returns how many
   * outputs that produced.
   */
  async endOfInput(stage: number): Promise<number> {
    const before = this.outputs.length;
    for (const [name, processor] of this.processors) {
      if (processor.endOfInput === undefined || this.stages.get(name) !== stage) continue;
      await processor.endOfInput();
      await this.drain();
    }
    return this.outputs.length - before;
  }

  async close(): Promise<void> {
    for (const [name, p] of this.processors) {
      try {
        await p.close?.();
      } catch (error) {
        this.logger.error({ err: error, processor: name }, 'processor close failed');
      }
    }
  }

  /**
   * Runs queued deliveries in FIFO order until none is left. Forwarding only
   * queues, so every node sees its records in the order they were forwarded
   * and a child's error surfaces from the call that processes the input.
   */
  private async drain(): Promise<void> {
    const queue = this.queue;
    for (let i = 0; i < queue.length; i += 2) {
      const pending = this.deliver(queue[i] as string, queue[i + 1] as StreamRecord<unknown>);
      if (pending !== undefined) await pending;
    }
    queue.length = 0;
  }

  /** Returns a promise only when the processor is asynchronous, so synchronous ones pay no await. */
  private deliver(nodeName: string, record: StreamRecord<unknown>): Promise<void> | undefined {
    const node = this.topology.node(nodeName);
    this.failingNode = nodeName;
    if (node.kind === 'sink') {
      this.emit(node, record);
      return undefined;
    }
    const result = this.processors.get(nodeName)!.process(record);
    return result instanceof Promise ? result : undefined;
  }

  private emit(sink: SinkNode, record: StreamRecord<unknown>): void {
    const value = record.value === null ? null : sink.serializer.serialize(record.value, sink.topic);
    this.outputs.push({
      topic: sink.topic,
      key: record.key,
      value,
      timestamp: record.timestamp,
      headers: this.tracing !== undefined ? this.tracing.outputHeaders(record) : record.headers,
      partition: record.partition,
    });
  }

  private contextFor(name: string, storeNames: readonly string[]): ProcessorContext<unknown> {
    const task = this;
    return {
      applicationId: this.topology.applicationId,
      partition: this.partition,
      partitionCount: this.environment.partitionCount,
      logger: this.logger.child({ processor: name, partition: this.partition }),
      store<V>(storeName: string): KeyValueStore<V> {
        if (!storeNames.includes(storeName)) {
          throw new ProcessingError(
            `processor ${name} asked for store ${storeName}, which the topology does not connect to it`,
          );
        }
        return task.stores(storeName) as KeyValueStore<V>;
      },
      globalTable<V>(tableName: string): GlobalTableView<V> {
        const view = task.environment.globalTable(tableName);
        if (view === undefined)
          throw new ProcessingError(
            `processor ${name} asked for global table ${tableName}, which the topology does not declare`,
          );
        return view as GlobalTableView<V>;
      },
      forward(record, childName) {
        const children = childName === undefined ? task.topology.children(name) : [childName];
        if (childName !== undefined && !task.topology.children(name).includes(childName)) {
          throw new ProcessingError(`processor ${name} has no child named ${childName}`);
        }
        for (const child of children) task.queue.push(child, record);
      },
      schedule: (intervalMs, type, callback) => this.punctuations.add(intervalMs, type, callback, this.time),
      streamTime: () => this.time,
      recordMetadata: () => this.current,
      holdInput(topic, offset) {
        if (!task.sourceByTopic.has(topic))
          throw new ProcessingError(
            `processor ${name} holds topic ${topic}, which no source of the task reads`,
          );
        task.holds.set(name, topic, offset);
      },
    };
  }
}
