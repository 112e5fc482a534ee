/**
 * The Kafka pull consumer: the port's `poll()` over kafkajs' push `run()`.
 *
 * Every consumer is a group member with a fixed assignment (see
 * `group-member.ts`). Positions are ours, not kafkajs': start offsets are
 * resolved once through the admin API (or, for `committed`, through the
 * member's own OffsetFetch), applied with `consumer.seek`, and re-applied
 * after every rebalance, since kafkajs would otherwise restart from the
 * group's committed offsets.
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
import type { EachBatchPayload, KafkaMessage } from 'kafkajs';
import { LogUsageError, OffsetOutOfRangeError, type RecstreamError, TopicError } from '../../errors.js';
import type {
  ConsumerOptions,
  LogConsumer,
  LogRecord,
  PollOptions,
  RecordHeaders,
  StartPosition,
  TopicPartition,
  TopicPartitionOffset,
} from '../log.js';
import { type ConsumerHost, fromTpKey, GroupMember, tpKey } from './group-member.js';

interface Chunk {
  readonly key: string;
  readonly records: LogRecord[];
  next: number;
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

/** A `LogConsumer` on a Kafka cluster; made by `KafkaLog.consumer()`. */
export class KafkaLogConsumer extends GroupMember implements LogConsumer {
  private readonly explicitGroup: boolean;
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
  private wake: (() => void) | undefined;

  private constructor(host: ConsumerHost, group: string | undefined, tps: readonly TopicPartition[]) {
    super(host, group, tps);
    this.explicitGroup = group !== undefined;
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
    const consumer = new KafkaLogConsumer(host, options.group, tps);
    await consumer.join(() => consumer.placeAt(from));
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

  /** Resolves start offsets, seeks every partition there and lets fetching begin. */
  private async placeAt(from: StartPosition): Promise<void> {
    const committed = new Map<string, number>();
    if (from === 'committed')
      for (const c of await this.committed()) committed.set(tpKey(c.topic, c.partition), c.offset);
    for (const topic of this.topicList()) {
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

  protected afterJoin(): void {
    if (!this.started) {
      // Nothing may be fetched before our start offsets are known: kafkajs would begin at the committed ones.
      this.pauseAll();
      return;
    }
    // A rebalance or a restart after a crash made kafkajs forget our positions; give them back.
    const c = this.kafkaConsumer;
    for (const { topic, partition } of this.tps) {
      const offset = this.fetched.get(tpKey(topic, partition));
      if (offset !== undefined) c.seek({ topic, partition, offset: String(offset) });
    }
    for (const key of this.backPressured) {
      const { topic, partition } = fromTpKey(key);
      c.pause([{ topic, partitions: [partition] }]);
    }
  }

  protected override fail(error: RecstreamError): void {
    super.fail(error);
    this.wake?.();
  }

  protected async onBatch({ batch, isStale }: EachBatchPayload): Promise<void> {
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
    const { topic, partition } = fromTpKey(key);
    this.kafkaConsumer.resume([{ topic, partitions: [partition] }]);
  }

  async poll(options?: PollOptions): Promise<LogRecord[]> {
    this.assertUsable();
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

  async commit(offsets?: readonly TopicPartitionOffset[]): Promise<void> {
    this.assertUsable();
    if (!this.explicitGroup) throw new LogUsageError('commit needs a consumer created with a group');
    await this.commitList(
      offsets ?? this.tps.map((tp) => ({ ...tp, offset: this.position(tp.topic, tp.partition) })),
    );
  }

  protected override async shutdown(): Promise<void> {
    this.closing = true;
    this.queue = [];
    this.wake?.();
    await super.shutdown();
  }
}
