/**
 * The Kafka pull consumer: the port's `poll()` over kafkajs' push `run()`.
 *
 * kafkajs has no manual partition assignment, so every consumer joins a
 * consumer group (the caller's, or a fresh `recstream-<uuid>` one) and a
 * {@link fixedAssigner} hands it exactly the partitions it asked for.
 * Positions are ours, not kafkajs': start offsets are resolved once through
 * the admin API (or, for `committed`, through the member's own OffsetFetch),
 * applied with `consumer.seek`, and re-applied after every rebalance, since
 * kafkajs would otherwise restart from the group's committed offsets.
 *
 * `eachBatch` only copies records into a per-partition buffer; a partition is
 * paused when its buffer holds `bufferRecords` records and resumed once
 * `poll` drained it to half, so a slow caller never makes kafkajs fetch
 * without bound. Heartbeats continue while paused (kafkajs sends them from
 * its fetch loop), so a caller that polls rarely keeps its membership.
 *
 * @example
 * ```ts
 * const consumer = await log.consumer({ topics: ['rec.items'], group: 'catalog', from: 'committed' });
 * const records = await consumer.poll({ maxRecords: 500, timeoutMs: 1000 });
 * await consumer.commit();
 * await consumer.close();
 * ```
 */
import { randomUUID } from 'node:crypto';
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import {
  ConnectionError,
  LogUsageError,
  OffsetOutOfRangeError,
  type RecstreamError,
  TopicError,
} from '../../errors.js';
import type {
  ConsumerOptions,
  LogConsumer,
  LogRecord,
  PartitionOffsets,
  PollOptions,
  RecordHeaders,
  StartPosition,
  TopicPartition,
  TopicPartitionOffset,
} from '../log.js';
import { type FixedAssigner, fixedAssigner, type PartitionsByTopic } from './assigner.js';
import { kafkaError } from './errors.js';
import type { KafkaLogLogger } from './logging.js';

/** Tuning of every consumer a `KafkaLog` opens. */
export interface ConsumerSettings {
  /** Group session timeout; a member silent this long is removed by the coordinator. */
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  /**
   * How long a fetch waits at the broker for new records. Bounds the latency
   * of `seek` and of resuming a paused partition, and the idle request rate.
   */
  readonly fetchMaxWaitMs: number;
  /** Records buffered per partition before fetching from it pauses. */
  readonly bufferRecords: number;
  /** Upper bound on joining the group when a consumer opens. */
  readonly joinTimeoutMs: number;
  /** Upper bound on leaving the group and disconnecting on close. */
  readonly closeTimeoutMs: number;
}

/** What a consumer needs from its `KafkaLog`. */
export interface ConsumerHost {
  readonly kafka: Kafka;
  readonly logger: KafkaLogLogger;
  readonly settings: ConsumerSettings;
  /** Partition count of an existing topic; a missing topic is a `TopicError`. */
  partitionCount(topic: string): Promise<number>;
  offsets(topic: string): Promise<PartitionOffsets[]>;
  offsetForTimestamp(topic: string, partition: number, timestamp: number): Promise<number>;
  assertOpen(): void;
  closed(consumer: KafkaLogConsumer): void;
}

/**
 * `consume`: a normal consumer. `member`: joins the group for the given
 * partitions and never fetches (committing or reading committed offsets on
 * the group's behalf).
 */
type Mode = 'consume' | 'member';

interface Chunk {
  readonly key: string;
  readonly records: LogRecord[];
  next: number;
}

const tpKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

function withTimeout<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

function headersOf(message: KafkaMessage): RecordHeaders | undefined {
  const raw = message.headers;
  if (!raw) return undefined;
  const out: Record<string, string> = {};
  let any = false;
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    // Kafka allows a header name twice; the port's headers are a map, so the last one wins (as in a Java Map view).
    const last = Array.isArray(value) ? value[value.length - 1] : value;
    if (last === undefined) continue;
    out[name] = typeof last === 'string' ? last : last.toString('utf8');
    any = true;
  }
  return any ? out : undefined;
}

function byTopic(tps: readonly TopicPartition[]): PartitionsByTopic {
  const out: PartitionsByTopic = {};
  for (const { topic, partition } of tps) {
    const list = out[topic] ?? [];
    list.push(partition);
    out[topic] = list;
  }
  return out;
}

/** A `LogConsumer` on a Kafka cluster; made by `KafkaLog.consumer()`. */
export class KafkaLogConsumer implements LogConsumer {
  private readonly host: ConsumerHost;
  private readonly mode: Mode;
  /** The group id kafkajs joins; generated when the caller gave none. */
  readonly groupId: string;
  private readonly explicitGroup: boolean;
  private readonly tps: readonly TopicPartition[];
  private readonly assigned = new Set<string>();
  private readonly fixed: FixedAssigner;
  private readonly kafkaConsumer: Consumer;
  /** Next offset `poll` returns, per partition. */
  private readonly positions = new Map<string, number>();
  /** Next offset to fetch (after what is buffered), per partition. */
  private readonly fetched = new Map<string, number>();
  /** First readable offset last seen, per partition: a seek below it can be refused at once. */
  private readonly knownStart = new Map<string, number>();
  private readonly buffered = new Map<string, number>();
  private readonly backPressured = new Set<string>();
  private queue: Chunk[] = [];
  private started = false;
  private joined = false;
  private restarting = false;
  private closing = false;
  private failure: RecstreamError | undefined;
  private wake: (() => void) | undefined;

  private constructor(
    host: ConsumerHost,
    mode: Mode,
    group: string | undefined,
    tps: readonly TopicPartition[],
  ) {
    this.host = host;
    this.mode = mode;
    this.explicitGroup = group !== undefined;
    this.groupId = group ?? `recstream-${randomUUID()}`;
    this.tps = tps;
    for (const tp of tps) this.assigned.add(tpKey(tp.topic, tp.partition));
    this.fixed = fixedAssigner(byTopic(tps));
    const s = host.settings;
    this.kafkaConsumer = host.kafka.consumer({
      groupId: this.groupId,
      partitionAssigners: [this.fixed.assigner],
      sessionTimeout: s.sessionTimeoutMs,
      heartbeatInterval: s.heartbeatIntervalMs,
      maxWaitTimeInMs: s.fetchMaxWaitMs,
      allowAutoTopicCreation: false,
    });
  }

  /**
   * Opens a consumer: resolves the assignment, joins the group and positions
   * every partition before resolving, so `position()` is exact at once.
   */
  static async open(host: ConsumerHost, options: ConsumerOptions): Promise<KafkaLogConsumer> {
    host.assertOpen();
    const from: StartPosition = options.from ?? (options.group !== undefined ? 'committed' : 'earliest');
    if (from === 'committed' && options.group === undefined)
      throw new LogUsageError("from: 'committed' needs a consumer group");
    const tps = await KafkaLogConsumer.assignmentOf(host, options);
    const consumer = new KafkaLogConsumer(host, 'consume', options.group, tps);
    await consumer.start(from);
    return consumer;
  }

  /**
   * Joins `group` as a member holding `tps` without ever fetching: the way to
   * commit for a group, or to read its committed offsets on brokers that
   * answer OffsetFetch only to members. Active members of the group rebalance
   * once when it joins and once when it leaves.
   */
  static async member(
    host: ConsumerHost,
    group: string,
    tps: readonly TopicPartition[],
  ): Promise<KafkaLogConsumer> {
    host.assertOpen();
    for (const tp of tps) {
      const count = await host.partitionCount(tp.topic);
      if (!Number.isInteger(tp.partition) || tp.partition < 0 || tp.partition >= count) {
        throw new TopicError(
          `partition ${tp.partition} does not exist in topic ${tp.topic} (${count} partitions)`,
          'UNKNOWN_PARTITION',
        );
      }
    }
    const unique = [
      ...new Map(
        tps.map((tp) => [tpKey(tp.topic, tp.partition), { topic: tp.topic, partition: tp.partition }]),
      ).values(),
    ];
    const consumer = new KafkaLogConsumer(host, 'member', group, unique);
    await consumer.start();
    return consumer;
  }

  private static async assignmentOf(host: ConsumerHost, options: ConsumerOptions): Promise<TopicPartition[]> {
    if (options.topics.length === 0) throw new LogUsageError('a consumer needs at least one topic');
    const out: TopicPartition[] = [];
    for (const topic of new Set(options.topics)) {
      const count = await host.partitionCount(topic);
      const wanted = options.partitions ?? Array.from({ length: count }, (_, i) => i);
      for (const partition of wanted) {
        if (!Number.isInteger(partition) || partition < 0 || partition >= count) {
          throw new TopicError(
            `partition ${partition} does not exist in topic ${topic} (${count} partitions)`,
            'UNKNOWN_PARTITION',
          );
        }
        out.push({ topic, partition });
      }
    }
    return out;
  }

  /** Joins the group; with `from`, also positions every partition and starts fetching. */
  private async start(from?: StartPosition): Promise<void> {
    const c = this.kafkaConsumer;
    c.on(c.events.GROUP_JOIN, (event) => this.onJoin(event.payload.memberAssignment));
    c.on(c.events.CRASH, (event) => this.onCrash(event.payload.error, event.payload.restart));
    const topics = this.topicList();
    const what = `join group ${this.groupId} for ${topics.join(', ')}`;
    try {
      await withTimeout(
        (async () => {
          await c.connect();
          await c.subscribe({ topics, fromBeginning: true });
          await c.run({
            autoCommit: false,
            eachBatchAutoResolve: true,
            eachBatch: (payload) => this.onBatch(payload),
          });
        })(),
        this.host.settings.joinTimeoutMs,
        () => new ConnectionError(`${what}: no assignment within ${this.host.settings.joinTimeoutMs} ms`),
      );
      if (this.failure) throw this.failure;
      if (!this.joined) throw new ConnectionError(`${what}: the consumer stopped before it joined`);
      if (from !== undefined) await this.placeAt(from);
    } catch (err) {
      await this.shutdown();
      throw kafkaError(err, what);
    }
  }

  /** Resolves start offsets, seeks every partition there and lets fetching begin. */
  private async placeAt(from: StartPosition): Promise<void> {
    const committed = new Map<string, number>();
    if (from === 'committed')
      for (const c of await this.committed()) committed.set(tpKey(c.topic, c.partition), c.offset);
    for (const topic of new Set(this.tps.map((tp) => tp.topic))) {
      const ranges = new Map((await this.host.offsets(topic)).map((r) => [r.partition, r]));
      for (const { partition } of this.tps.filter((tp) => tp.topic === topic)) {
        const range = ranges.get(partition);
        if (!range)
          throw new TopicError(
            `partition ${partition} of ${topic} vanished while the consumer opened`,
            'UNKNOWN_PARTITION',
          );
        const key = tpKey(topic, partition);
        this.knownStart.set(key, range.start);
        let offset: number;
        if (from === 'earliest') offset = range.start;
        else if (from === 'latest') offset = range.end;
        else if (from === 'committed') {
          const c = committed.get(key);
          offset = c === undefined ? range.start : Math.min(Math.max(c, range.start), range.end);
        } else offset = await this.host.offsetForTimestamp(topic, partition, from.timestamp);
        this.positions.set(key, offset);
        this.fetched.set(key, offset);
        this.kafkaConsumer.seek({ topic, partition, offset: String(offset) });
      }
    }
    this.started = true;
    this.kafkaConsumer.resume(this.topicList().map((topic) => ({ topic })));
  }

  private topicList(): string[] {
    return [...new Set(this.tps.map((tp) => tp.topic))];
  }

  private onJoin(assignment: Record<string, number[]>): void {
    const got = new Set(Object.entries(assignment).flatMap(([topic, ps]) => ps.map((p) => tpKey(topic, p))));
    const same = got.size === this.assigned.size && [...this.assigned].every((k) => got.has(k));
    if (!same) {
      this.fail(
        new LogUsageError(
          `group ${this.groupId} assigned ${JSON.stringify(assignment)} instead of ${JSON.stringify(byTopic(this.tps))}: another application with a different partition assigner shares this group id`,
        ),
      );
      return;
    }
    this.joined = true;
    this.restarting = false;
    const c = this.kafkaConsumer;
    if (!this.started) {
      // Nothing may be fetched before our start offsets are known: kafkajs would begin at the committed ones.
      c.pause(this.topicList().map((topic) => ({ topic })));
      return;
    }
    // A rebalance or a restart after a crash made kafkajs forget our positions; give them back.
    for (const { topic, partition } of this.tps) {
      const offset = this.fetched.get(tpKey(topic, partition));
      if (offset !== undefined) c.seek({ topic, partition, offset: String(offset) });
    }
    for (const key of this.backPressured) {
      const [topic, partition] = key.split('\u0000') as [string, string];
      c.pause([{ topic, partitions: [Number(partition)] }]);
    }
  }

  private onCrash(error: Error, restart: boolean): void {
    if (this.closing) return;
    if (restart) {
      this.restarting = true;
      this.host.logger.warn(
        { group: this.groupId, err: error.message },
        'kafka consumer crashed; kafkajs restarts it',
      );
      return;
    }
    this.fail(kafkaError(error, `consumer of group ${this.groupId}`));
  }

  private fail(error: RecstreamError): void {
    this.failure ??= error;
    this.host.logger.error({ group: this.groupId, err: error.message }, 'kafka consumer failed');
    this.wake?.();
  }

  private async onBatch({ batch, isStale }: EachBatchPayload): Promise<void> {
    // A stale batch was fetched before a seek on its partition; the seek decides what comes next.
    if (this.closing || !this.started || isStale()) return;
    const key = tpKey(batch.topic, batch.partition);
    const expected = this.fetched.get(key);
    if (expected === undefined) return;
    const records: LogRecord[] = [];
    for (const m of batch.messages) {
      const offset = Number(m.offset);
      // After a re-seek kafkajs may deliver records we already buffered; offsets are the truth.
      if (offset < expected) continue;
      records.push({
        topic: batch.topic,
        partition: batch.partition,
        offset,
        timestamp: Number(m.timestamp),
        key: m.key === null ? null : m.key.toString('utf8'),
        value: m.value,
        headers: headersOf(m),
      });
    }
    if (records.length === 0) return;
    this.queue.push({ key, records, next: 0 });
    const count = (this.buffered.get(key) ?? 0) + records.length;
    this.buffered.set(key, count);
    this.fetched.set(key, records[records.length - 1]!.offset + 1);
    if (count >= this.host.settings.bufferRecords && !this.backPressured.has(key)) {
      this.backPressured.add(key);
      this.kafkaConsumer.pause([{ topic: batch.topic, partitions: [batch.partition] }]);
    }
    this.wake?.();
  }

  private assertUsable(): void {
    if (this.closing) throw new LogUsageError(`consumer of group ${this.groupId} is closed`);
    this.host.assertOpen();
    if (this.failure) throw this.failure;
  }

  private keyOf(topic: string, partition: number): string {
    const key = tpKey(topic, partition);
    if (!this.assigned.has(key)) throw new LogUsageError(`consumer is not assigned ${topic}-${partition}`);
    return key;
  }

  assignment(): readonly TopicPartition[] {
    return this.tps;
  }

  position(topic: string, partition: number): number {
    const offset = this.positions.get(this.keyOf(topic, partition));
    if (offset === undefined)
      throw new LogUsageError(`consumer of group ${this.groupId} does not read ${topic}-${partition}`);
    return offset;
  }

  /**
   * Moves a partition's position. Offsets below the partition's start (as last
   * seen) are refused at once; an offset past the end cannot be checked
   * without a broker round trip, and the broker answers OFFSET_OUT_OF_RANGE on
   * the next fetch, on which kafkajs restarts that partition at its earliest
   * offset.
   */
  seek(topic: string, partition: number, offset: number): void {
    this.assertUsable();
    const key = this.keyOf(topic, partition);
    const start = this.knownStart.get(key) ?? 0;
    if (!Number.isSafeInteger(offset) || offset < start) {
      throw new OffsetOutOfRangeError(
        `seek ${topic}-${partition} to ${offset}: below the partition's start ${start}`,
      );
    }
    this.positions.set(key, offset);
    this.fetched.set(key, offset);
    this.dropBuffered(key);
    this.kafkaConsumer.seek({ topic, partition, offset: String(offset) });
  }

  private dropBuffered(key: string): void {
    this.queue = this.queue.filter((chunk) => chunk.key !== key);
    this.buffered.set(key, 0);
    this.release(key);
  }

  private release(key: string): void {
    if (!this.backPressured.delete(key)) return;
    const [topic, partition] = key.split('\u0000') as [string, string];
    this.kafkaConsumer.resume([{ topic, partitions: [Number(partition)] }]);
  }

  async poll(options?: PollOptions): Promise<LogRecord[]> {
    this.assertUsable();
    if (this.mode === 'member') throw new LogUsageError('a group member opened for commits does not poll');
    const max = options?.maxRecords ?? 1000;
    const timeoutMs = options?.timeoutMs ?? 0;
    if (this.queue.length === 0 && timeoutMs > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        timer = setTimeout(resolve, timeoutMs);
      });
      clearTimeout(timer);
      this.wake = undefined;
      // close() during the wait ends the poll quietly, as the embedded consumer does.
      if (this.closing) return [];
      if (this.failure) throw this.failure;
    }
    return this.take(max);
  }

  private take(max: number): LogRecord[] {
    const out: LogRecord[] = [];
    const low = Math.floor(this.host.settings.bufferRecords / 2);
    while (out.length < max && this.queue.length > 0) {
      const chunk = this.queue[0]!;
      const n = Math.min(max - out.length, chunk.records.length - chunk.next);
      for (let i = 0; i < n; i++) out.push(chunk.records[chunk.next + i]!);
      chunk.next += n;
      const last = chunk.records[chunk.next - 1]!;
      this.positions.set(chunk.key, last.offset + 1);
      const left = (this.buffered.get(chunk.key) ?? n) - n;
      this.buffered.set(chunk.key, left);
      if (left <= low) this.release(chunk.key);
      if (chunk.next === chunk.records.length) this.queue.shift();
    }
    return out;
  }

  /**
   * The group's committed offsets of this consumer's partitions (absent: never
   * committed), asked on the member's own connection: some brokers answer
   * OffsetFetch only to group members.
   */
  async committed(): Promise<TopicPartitionOffset[]> {
    this.assertUsable();
    const cluster = this.fixed.cluster();
    if (!cluster) throw new ConnectionError(`group ${this.groupId}: the consumer has no cluster connection`);
    const what = `read committed offsets of group ${this.groupId}`;
    try {
      const coordinator = await cluster.findGroupCoordinator({ groupId: this.groupId });
      const { responses } = await coordinator.offsetFetch({
        groupId: this.groupId,
        topics: Object.entries(byTopic(this.tps)).map(([topic, ps]) => ({
          topic,
          partitions: ps.map((partition) => ({ partition, offset: '-1' })),
        })),
      });
      const out: TopicPartitionOffset[] = [];
      for (const { topic, partitions } of responses) {
        for (const { partition, offset } of partitions) {
          const n = Number(offset);
          if (n >= 0) out.push({ topic, partition, offset: n });
        }
      }
      return out;
    } catch (err) {
      throw kafkaError(err, what);
    }
  }

  async commit(offsets?: readonly TopicPartitionOffset[]): Promise<void> {
    this.assertUsable();
    if (!this.explicitGroup) throw new LogUsageError('commit needs a consumer created with a group');
    if (this.restarting)
      throw new ConnectionError(
        `group ${this.groupId}: the consumer is rejoining after a broker error; commit again`,
      );
    const list = offsets ?? this.tps.map((tp) => ({ ...tp, offset: this.position(tp.topic, tp.partition) }));
    for (const o of list) {
      this.keyOf(o.topic, o.partition);
      if (!Number.isSafeInteger(o.offset) || o.offset < 0) {
        throw new OffsetOutOfRangeError(`commit ${o.topic}-${o.partition} at ${o.offset}: not an offset`);
      }
    }
    if (list.length === 0) return;
    try {
      await this.kafkaConsumer.commitOffsets(
        list.map((o) => ({ topic: o.topic, partition: o.partition, offset: String(o.offset) })),
      );
    } catch (err) {
      throw kafkaError(err, `commit offsets of group ${this.groupId}`);
    }
  }

  async close(): Promise<void> {
    if (this.closing) return;
    await this.shutdown();
    this.host.closed(this);
  }

  private async shutdown(): Promise<void> {
    this.closing = true;
    this.queue = [];
    this.wake?.();
    try {
      await withTimeout(
        this.kafkaConsumer.disconnect(),
        this.host.settings.closeTimeoutMs,
        () =>
          new ConnectionError(
            `leave group ${this.groupId}: no answer within ${this.host.settings.closeTimeoutMs} ms`,
          ),
      );
    } catch (err) {
      this.host.logger.warn(
        { group: this.groupId, err: (err as Error).message },
        'kafka consumer did not close cleanly',
      );
    }
  }
}
