/**
 * An `EventLog` whose records live with another thread: every call is a
 * message to the `serveLog` end of a `MessagePort`, answered when the log
 * there answers. A stream thread of `recstream process --threads N` gets
 * one, so its tasks read and write the log the process opened exactly as
 * they would in one thread, both back-ends alike.
 *
 * A consumer's `assignment` and `position` are synchronous in the port, so
 * its end keeps them: they come with every poll, and a `seek` changes them
 * at once and reaches the log with the consumer's next request.
 *
 * @example
 * ```ts
 * const log = new PortLog(workerData.port, workerData.logKind);
 * const offsets = await log.offsets('rec.interactions');
 * await log.close(); // closes this end's consumers and the port; the owner's log stays open
 * ```
 */
import type { MessagePort } from 'node:worker_threads';
import { LogUsageError } from '../../errors.js';
import type { EncodedBatch } from '../embedded/encode.js';
import type {
  AppendAck,
  ConsumerOptions,
  EventLog,
  LogConsumer,
  LogRecord,
  OutgoingRecord,
  PartitionOffsets,
  PollOptions,
  TopicInfo,
  TopicPartition,
  TopicPartitionOffset,
  TopicSpec,
} from '../log.js';
import {
  fromWireError,
  type LogMethod,
  type LogRequest,
  type LogResponse,
  type OpenedConsumer,
  type Polled,
  reviveRecord,
  type Seek,
} from './wire.js';

/** A request as the caller makes it, before it gets its id. */
type Unnumbered = LogRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

export class PortLog implements EventLog {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private readonly consumers = new Set<PortConsumer>();
  private closed = false;

  constructor(
    private readonly port: MessagePort,
    readonly kind: EventLog['kind'],
  ) {
    port.on('message', (response: LogResponse) => {
      const waiting = this.pending.get(response.id);
      if (waiting === undefined) return;
      this.pending.delete(response.id);
      if (response.ok) waiting.resolve(response.value);
      else waiting.reject(fromWireError(response.error));
    });
    port.once('close', () => this.failPending('the log thread closed the port'));
  }

  /** Sends one request (moving the `transfer` buffers to the other thread); resolves with its answer. */
  request<T>(request: Unnumbered, transfer: readonly ArrayBuffer[] = []): Promise<T> {
    if (this.closed) return Promise.reject(new LogUsageError('log is closed'));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.port.postMessage({ ...request, id } as LogRequest, transfer as ArrayBuffer[]);
    });
  }

  private call<T>(method: LogMethod, ...args: unknown[]): Promise<T> {
    return this.request<T>({ kind: 'log', method, args });
  }

  ensureTopic(spec: TopicSpec): Promise<TopicInfo> {
    return this.call('ensureTopic', spec);
  }

  topics(): Promise<TopicInfo[]> {
    return this.call('topics');
  }

  deleteTopics(names: readonly string[]): Promise<void> {
    return this.call('deleteTopics', names);
  }

  describeTopic(name: string): Promise<TopicInfo | undefined> {
    return this.call('describeTopic', name);
  }

  append(topic: string, records: readonly OutgoingRecord[]): Promise<AppendAck[]> {
    return this.call('append', topic, records);
  }

  /**
   * Appends batches encoded on this thread (`encodeBatches`) to an embedded
   * log: their buffers move to the log's thread rather than being copied,
   * so they must not be used here afterwards. `partitions`: the topic's
   * partition count the records were placed by.
   */
  appendEncoded(topic: string, partitions: number, batches: readonly EncodedBatch[]): Promise<AppendAck[]> {
    return this.request<AppendAck[]>(
      { kind: 'appendEncoded', topic, partitions, batches },
      batches.map((b) => b.buf.buffer as ArrayBuffer),
    );
  }

  offsets(topic: string): Promise<PartitionOffsets[]> {
    return this.call('offsets', topic);
  }

  offsetForTimestamp(topic: string, partition: number, timestamp: number): Promise<number> {
    return this.call('offsetForTimestamp', topic, partition, timestamp);
  }

  async read(topic: string, partition: number, offset: number, maxRecords: number): Promise<LogRecord[]> {
    const records = await this.call<LogRecord[]>('read', topic, partition, offset, maxRecords);
    return records.map(reviveRecord);
  }

  async consumer(options: ConsumerOptions): Promise<LogConsumer> {
    const opened = await this.request<OpenedConsumer>({ kind: 'open', options });
    const consumer = new PortConsumer(this, opened, (c) => this.consumers.delete(c));
    this.consumers.add(consumer);
    return consumer;
  }

  commitOffsets(group: string, offsets: readonly TopicPartitionOffset[]): Promise<void> {
    return this.call('commitOffsets', group, offsets);
  }

  committedOffsets(group: string, topic: string): Promise<Map<number, number>> {
    return this.call('committedOffsets', group, topic);
  }

  /** Closes this end's consumers and the port; the log itself stays open with its owner. */
  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.allSettled([...this.consumers].map((c) => c.close()));
    this.closed = true;
    this.failPending('log is closed');
    this.port.close();
  }

  private failPending(reason: string): void {
    this.closed = true;
    for (const waiting of this.pending.values()) waiting.reject(new LogUsageError(reason));
    this.pending.clear();
  }
}

const key = (topic: string, partition: number) => `${topic}\u0000${partition}`;

class PortConsumer implements LogConsumer {
  private readonly id: number;
  private readonly assigned: readonly TopicPartition[];
  private readonly positions = new Map<string, number>();
  private seeks: Seek[] = [];
  private closed = false;

  constructor(
    private readonly log: PortLog,
    opened: OpenedConsumer,
    private readonly onClose: (c: PortConsumer) => void,
  ) {
    this.id = opened.consumer;
    this.assigned = opened.assignment;
    this.take(opened.positions);
  }

  assignment(): readonly TopicPartition[] {
    return this.assigned;
  }

  position(topic: string, partition: number): number {
    const position = this.positions.get(key(topic, partition));
    if (position === undefined)
      throw new LogUsageError(`${topic}[${partition}] is not assigned to this consumer`);
    return position;
  }

  seek(topic: string, partition: number, offset: number): void {
    this.checkOpen();
    // The port validates it (and throws) with the next request; the assignment is checked here at once.
    this.position(topic, partition);
    this.positions.set(key(topic, partition), offset);
    this.seeks.push({ topic, partition, offset });
  }

  async poll(options?: PollOptions): Promise<LogRecord[]> {
    this.checkOpen();
    const polled = await this.log.request<Polled>({
      kind: 'poll',
      consumer: this.id,
      seeks: this.takeSeeks(),
      options,
    });
    this.take(polled.positions);
    return polled.records.map(reviveRecord);
  }

  commit(offsets?: readonly TopicPartitionOffset[]): Promise<void> {
    this.checkOpen();
    return this.log.request<void>({ kind: 'commit', consumer: this.id, seeks: this.takeSeeks(), offsets });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.onClose(this);
    await this.log.request<void>({ kind: 'close', consumer: this.id });
  }

  private takeSeeks(): Seek[] {
    const seeks = this.seeks;
    this.seeks = [];
    return seeks;
  }

  /** Positions after a poll, less partitions sought meanwhile (their seek is newer). */
  private take(positions: readonly TopicPartitionOffset[]): void {
    for (const p of positions)
      if (!this.seeks.some((s) => s.topic === p.topic && s.partition === p.partition))
        this.positions.set(key(p.topic, p.partition), p.offset);
  }

  private checkOpen(): void {
    if (this.closed) throw new LogUsageError('consumer is closed');
  }
}
