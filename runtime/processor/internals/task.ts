/**
 * One task: the processors of a topology instantiated for one partition, the
 * stores they use, and the outputs they produced since the last commit.
 * The runner feeds it log records; the test driver feeds it records directly.
 * Neither the log nor commits are known here.
 *
 * Tracing (when a tracer provider is registered): an input record with a
 * `traceparent` header is processed in a child span `process <processor>`,
 * and the outputs it leads to carry that span's context in their headers:
 * an output whose value embeds a traced input's value (the value itself or
 * one of its direct fields, e.g. the interaction inside an enriched record
 * released later) carries that input's span, any other output the span of
 * the input being processed when it was emitted. Records without the
 * header, and every record when tracing is off, cost one boolean check.
 */
import { type Span, SpanKind } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { isInfrastructureError, ProcessingError } from '../../errors.js';
import type { LogRecord, RecordHeaders } from '../../log/log.js';
import {
  contextFromHeaders,
  recordFailure,
  refreshTracing,
  spanHeaders,
  TRACEPARENT,
  tracer,
  withTraceHeaders,
} from '../../observability/tracing.js';
import { isRecordJournal, type KeyValueStore, type RecordJournal } from '../../state/store.js';
import type {
  GlobalTableView,
  Processor,
  ProcessorContext,
  RecordMetadata,
  StreamRecord,
} from '../processor.js';
import type { SinkNode, Topology } from '../topology.js';
import { Punctuations } from './punctuation.js';

/** A sink's output, serialized, waiting for the next commit. */
export interface PendingOutput {
  readonly topic: string;
  readonly key: string | null;
  readonly value: Buffer | null | Promise<Buffer>;
  readonly timestamp: number;
  readonly headers: RecordHeaders | undefined;
  /** Explicit target partition; undefined: the key's partition. */
  readonly partition: number | undefined;
}

/** A sink output with its value serialized, ready to append. */
export interface ResolvedOutput {
  readonly key: string | null;
  readonly value: Buffer | null;
  readonly timestamp: number;
  readonly headers: RecordHeaders | undefined;
  /** Explicit target partition; undefined: the key's partition. */
  readonly partition: number | undefined;
}

/** Awaits each output's value and adds it to its topic's list in `byTopic`, in order. */
export async function groupByTopic(
  outputs: readonly PendingOutput[],
  byTopic: Map<string, ResolvedOutput[]>,
): Promise<void> {
  for (const out of outputs) {
    const value = out.value instanceof Promise ? await out.value : out.value;
    let list = byTopic.get(out.topic);
    if (!list) {
      list = [];
      byTopic.set(out.topic, list);
    }
    list.push({
      key: out.key,
      value,
      timestamp: out.timestamp,
      headers: out.headers,
      partition: out.partition,
    });
  }
}

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
  /** Input positions processors asked to keep (`ProcessorContext.holdInput`), per topic and processor. */
  private readonly holds = new Map<string, Map<string, number>>();
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
  /** Whether a tracer provider was registered when the task was made; when false, headers are never read. */
  private readonly tracing = refreshTracing();
  /** `process <processor>` span names, by source. */
  private readonly spanNames = new Map<string, string>();
  /** Trace headers of the span processing the current input, and that input's own headers. */
  private currentTrace: RecordHeaders | undefined;
  private currentInputHeaders: RecordHeaders | undefined;
  /** Trace headers by traced input value (and its direct object fields), for outputs emitted later. */
  private lineage: WeakMap<object, RecordHeaders> | undefined;

  constructor(
    private readonly topology: Topology,
    readonly partition: number,
    private readonly stores: (name: string) => KeyValueStore<unknown>,
    private readonly logger: Logger,
    private readonly environment: TaskEnvironment = NO_ENVIRONMENT,
  ) {
    for (const s of topology.sources) for (const topic of s.topics) this.sourceByTopic.set(topic, s.name);
    if (this.tracing)
      for (const s of topology.sources)
        this.spanNames.set(s.name, `process ${topology.children(s.name).join(',') || s.name}`);
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
    const span = this.tracing ? this.startSpan(sourceName, record) : undefined;
    try {
      let value: unknown = null;
      if (record.value !== null) {
        this.failingNode = sourceName;
        const decoded = source.deserializer.deserialize(record.value, record.topic);
        value = decoded instanceof Promise ? await decoded : decoded;
        if (span !== undefined) this.remember(value, this.currentTrace!);
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
      if (span !== undefined) {
        recordFailure(span, error);
        span.setAttribute('recstream.dead_letter_node', this.failingNode);
      }
      return { node: this.failingNode, error };
    } finally {
      this.current = undefined;
      if (span !== undefined) {
        span.end();
        this.currentTrace = undefined;
        this.currentInputHeaders = undefined;
      }
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
    if (this.holds.size === 0) return consumed;
    const out = new Map(consumed);
    for (const [topic, byProcessor] of this.holds) {
      for (const offset of byProcessor.values()) {
        const lowest = out.get(topic);
        if (lowest === undefined || offset < lowest) out.set(topic, offset);
      }
    }
    return out;
  }

  async punctuateWallClock(now: number): Promise<void> {
    if (this.punctuations.isEmpty) return;
    await this.punctuations.fire('wall-clock', now);
    await this.drain();
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
      headers: this.tracing ? this.outputHeaders(record) : record.headers,
      partition: record.partition,
    });
  }

  /** A child span of the record's `traceparent`; undefined (and nothing allocated) when it has none. */
  private startSpan(sourceName: string, record: LogRecord): Span | undefined {
    const headers = record.headers;
    if (headers === undefined || headers[TRACEPARENT] === undefined) return undefined;
    const span = tracer().startSpan(
      this.spanNames.get(sourceName)!,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          'messaging.system': 'recstream',
          'messaging.operation.type': 'process',
          'messaging.destination.name': record.topic,
          'messaging.destination.partition.id': String(record.partition),
          'messaging.kafka.offset': record.offset,
          'recstream.application': this.topology.applicationId,
        },
      },
      contextFromHeaders(headers),
    );
    this.currentTrace = spanHeaders(span);
    this.currentInputHeaders = headers;
    return span;
  }

  /** Remembers the trace of a traced input's value and of its direct object fields. */
  private remember(value: unknown, headers: RecordHeaders): void {
    if (value === null || typeof value !== 'object') return;
    this.lineage ??= new WeakMap();
    this.lineage.set(value, headers);
    if (ArrayBuffer.isView(value)) return;
    const fields = value as Record<string, unknown>;
    for (const key in fields) {
      const field = fields[key];
      if (field !== null && typeof field === 'object') this.lineage.set(field, headers);
    }
  }

  /** The trace of the input an output's value embeds, if any was traced. */
  private lineageOf(value: unknown): RecordHeaders | undefined {
    const lineage = this.lineage;
    if (lineage === undefined || value === null || typeof value !== 'object') return undefined;
    const direct = lineage.get(value);
    if (direct !== undefined || ArrayBuffer.isView(value)) return direct;
    const fields = value as Record<string, unknown>;
    for (const key in fields) {
      const field = fields[key];
      if (field !== null && typeof field === 'object') {
        const found = lineage.get(field);
        if (found !== undefined) return found;
      }
    }
    return undefined;
  }

  /**
   * An output's headers with tracing on: the trace of the input it embeds,
   * else a trace the processor set itself, else the span processing the
   * current input (a pass-through of the input's own headers gets it too).
   */
  private outputHeaders(record: StreamRecord<unknown>): RecordHeaders | undefined {
    const own = record.headers;
    const embedded = this.lineageOf(record.value);
    if (embedded !== undefined) return withTraceHeaders(own, embedded);
    if (own !== undefined && own !== this.currentInputHeaders && own[TRACEPARENT] !== undefined) return own;
    return withTraceHeaders(own, this.currentTrace);
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
        let byProcessor = task.holds.get(topic);
        if (offset === null) {
          byProcessor?.delete(name);
          if (byProcessor?.size === 0) task.holds.delete(topic);
          return;
        }
        if (!Number.isSafeInteger(offset) || offset < 0)
          throw new ProcessingError(`processor ${name} holds ${topic} at invalid offset ${offset}`);
        if (byProcessor === undefined) {
          byProcessor = new Map();
          task.holds.set(topic, byProcessor);
        }
        byProcessor.set(name, offset);
      },
    };
  }
}
