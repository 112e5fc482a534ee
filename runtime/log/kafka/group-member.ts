/**
 * What both kinds of Kafka group member share: joining a consumer group
 * with a fixed assignment, reading and committing the group's offsets, and
 * leaving it.
 *
 * kafkajs has no manual partition assignment, so every member joins a
 * consumer group (the caller's, or a fresh `recstream-<uuid>` one) and a
 * {@link fixedAssigner} hands it exactly the partitions it asked for. A
 * member another application's assignor hands different partitions fails
 * with a `LogUsageError`. The two kinds are `KafkaLogConsumer` (`consumer.ts`,
 * fetching records for `poll`) and `CommitMember` (`commit-member.ts`,
 * joining only to commit or read offsets on the group's behalf).
 *
 * @example
 * ```ts
 * class Member extends GroupMember {
 *   protected afterJoin(): void {
 *     this.pauseAll();
 *   }
 * }
 * ```
 */
import { randomUUID } from 'node:crypto';
import type { Consumer, EachBatchPayload, Kafka, RetryOptions } from 'kafkajs';
import {
  ConnectionError,
  isRetriable,
  LogUsageError,
  OffsetOutOfRangeError,
  type RecstreamError,
} from '../../errors.js';
import type { PartitionOffsets, TopicPartition, TopicPartitionOffset } from '../log.js';
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

/** What a group member needs from its `KafkaLog`. */
export interface ConsumerHost {
  readonly kafka: Kafka;
  /** The log's kafkajs retry policy, which every consumer keeps. */
  readonly retry: RetryOptions | undefined;
  readonly logger: KafkaLogLogger;
  readonly settings: ConsumerSettings;
  /** Partition count of an existing topic; a missing topic is a `TopicError`. */
  partitionCount(topic: string): Promise<number>;
  offsets(topic: string): Promise<PartitionOffsets[]>;
  offsetForTimestamp(topic: string, partition: number, timestamp: number): Promise<number>;
  assertOpen(): void;
  /** Called once when a consumer the log handed out closes. */
  closed(consumer: GroupMember): void;
}

/** Map key of one partition. */
export const tpKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

/** The partition of a {@link tpKey}. */
export function fromTpKey(key: string): { topic: string; partition: number } {
  const [topic, partition] = key.split('\u0000') as [string, string];
  return { topic, partition: Number(partition) };
}

export function withTimeout<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

export function byTopic(tps: readonly TopicPartition[]): PartitionsByTopic {
  const out: PartitionsByTopic = {};
  for (const { topic, partition } of tps) {
    const list = out[topic] ?? [];
    list.push(partition);
    out[topic] = list;
  }
  return out;
}

/** A kafkajs consumer in a group, holding exactly the partitions it asked for. */
export abstract class GroupMember {
  protected readonly host: ConsumerHost;
  /** The group id kafkajs joins; generated when the caller gave none. */
  readonly groupId: string;
  protected readonly tps: readonly TopicPartition[];
  protected readonly assigned = new Set<string>();
  private readonly fixed: FixedAssigner;
  protected readonly kafkaConsumer: Consumer;
  private joined = false;
  /** Set by kafkajs just before a crash event when it gave up on an error it deems retriable. */
  private crashRetriable = false;
  protected closing = false;
  protected failure: RecstreamError | undefined;

  protected constructor(host: ConsumerHost, group: string | undefined, tps: readonly TopicPartition[]) {
    this.host = host;
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
      // kafkajs would restart a member that crashed on a retriable error by itself, and a close
      // racing that restart does not stop it: the restart timer is armed after kafkajs' own
      // disconnect, and a stop while the restart is still joining finds nothing running. The
      // member then rejoins the group after close and keeps the process alive for ever. Instead
      // the crash fails the member with a retriable error, and its owner (the runner's loop, the
      // reader pool) opens a new one.
      retry: {
        ...host.retry,
        restartOnFailure: async () => {
          this.crashRetriable = true;
          return false;
        },
      },
    });
  }

  /** After every join (the first or a rebalance), with the assignment checked. */
  protected abstract afterJoin(): void;

  /** Records kafkajs fetched; a member that never resumes its partitions gets none. */
  protected abstract onBatch(payload: EachBatchPayload): Promise<void>;

  /**
   * Joins the group, then runs `then` (positioning, for a consumer); on any
   * failure the member leaves again and the error is mapped.
   */
  protected async join(then?: () => Promise<void>): Promise<void> {
    const c = this.kafkaConsumer;
    c.on(c.events.GROUP_JOIN, (event) => this.onJoin(event.payload.memberAssignment));
    c.on(c.events.CRASH, (event) => this.onCrash(event.payload.error));
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
      await then?.();
    } catch (err) {
      await this.shutdown();
      throw kafkaError(err, what);
    }
  }

  protected topicList(): string[] {
    return [...new Set(this.tps.map((tp) => tp.topic))];
  }

  /** Stops fetching every partition (kafkajs would start at the group's committed offsets). */
  protected pauseAll(): void {
    this.kafkaConsumer.pause(this.topicList().map((topic) => ({ topic })));
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
    this.afterJoin();
  }

  private onCrash(error: Error): void {
    if (this.closing) return;
    const what = `consumer of group ${this.groupId}`;
    const mapped = kafkaError(error, what);
    // kafkajs gave up retrying (the broker away longer than its retries): the caller may retry with a new member.
    this.fail(
      this.crashRetriable && !isRetriable(mapped) ? new ConnectionError(mapped.message, error) : mapped,
    );
  }

  protected fail(error: RecstreamError): void {
    this.failure ??= error;
    this.host.logger.error({ group: this.groupId, err: error.message }, 'kafka consumer failed');
  }

  protected assertUsable(): void {
    if (this.closing) throw new LogUsageError(`consumer of group ${this.groupId} is closed`);
    this.host.assertOpen();
    if (this.failure) throw this.failure;
  }

  /** The map key of an assigned partition; any other partition is a usage error. */
  protected keyOf(topic: string, partition: number): string {
    const key = tpKey(topic, partition);
    if (!this.assigned.has(key)) throw new LogUsageError(`consumer is not assigned ${topic}-${partition}`);
    return key;
  }

  /**
   * The group's committed offsets of this member's partitions (absent: never
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

  /** Commits `list` for the group; every partition must be assigned and every offset one. */
  protected async commitList(list: readonly TopicPartitionOffset[]): Promise<void> {
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

  /** Leaves the group and disconnects, within `closeTimeoutMs`; a failure is logged, not thrown. */
  protected async shutdown(): Promise<void> {
    this.closing = true;
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
