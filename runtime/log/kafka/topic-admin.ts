/**
 * The admin side of `KafkaLog`: topics (create, list, describe, delete),
 * their partition counts (cached for `metadataMaxAgeMs`, since every append
 * needs one), their compaction (`cleanup.policy`, or what this client asked
 * for where the broker cannot describe configs) and their offsets, over one
 * lazily connected kafkajs admin client.
 *
 * @example
 * ```ts
 * const topics = new TopicAdmin({ kafka, logger, requestTimeoutMs: 30_000, metadataMaxAgeMs: 30_000, replicationFactor: undefined, assertOpen });
 * await topics.ensureTopic({ name: 'rec.items', partitions: 4, compacted: true });
 * await topics.partitionCount('rec.items'); // 4
 * ```
 */
import kafkajs, { type Admin, type Kafka } from 'kafkajs';
import { ConnectionError, TopicError } from '../../errors.js';
import { Backoff, sleep } from '../../retry.js';
import type { PartitionOffsets, TopicInfo, TopicSpec } from '../log.js';
import { validateTopicSpec } from '../topic-spec.js';
import { isUnsupportedApi, kafkaError } from './errors.js';
import type { KafkaLogLogger } from './logging.js';

/** Topic configs that say "keep forever": the port's default, not Kafka's 7 days. */
const FOREVER = '-1';

/** ListOffsets answers missing the topic asked about before `offsets` gives up. */
const OFFSETS_ATTEMPTS = 5;
/** Pauses before asking again: such answers come while other connections fetch, so not at once. */
const OFFSETS_BACKOFF_MS = [10, 25, 50, 100];

interface CachedCount {
  readonly partitions: number;
  readonly at: number;
}

export interface TopicAdminOptions {
  readonly kafka: Kafka;
  readonly logger: KafkaLogLogger;
  readonly requestTimeoutMs: number;
  readonly metadataMaxAgeMs: number;
  readonly replicationFactor: number | undefined;
  /** Throws once the log is closed. */
  readonly assertOpen: () => void;
}

export class TopicAdmin {
  private adminClient: Promise<Admin> | undefined;
  private readonly counts = new Map<string, CachedCount>();
  /**
   * Compaction this client asked `ensureTopic` for, per topic. Used only when
   * the broker cannot describe topic configs (mock brokers without
   * DescribeConfigs); a real broker's `cleanup.policy` always wins.
   */
  private readonly requestedCompaction = new Map<string, boolean>();
  private describeConfigsSupported = true;

  constructor(private readonly options: TopicAdminOptions) {}

  admin(): Promise<Admin> {
    this.options.assertOpen();
    if (!this.adminClient) {
      const admin = this.options.kafka.admin();
      this.adminClient = admin.connect().then(
        () => admin,
        (err: unknown) => {
          this.adminClient = undefined;
          throw kafkaError(err, 'connect the Kafka admin client');
        },
      );
    }
    return this.adminClient;
  }

  /** Runs an admin call, mapping its errors; `what` names the operation in messages. */
  async withAdmin<T>(what: string, call: (admin: Admin) => Promise<T>): Promise<T> {
    const admin = await this.admin();
    try {
      return await call(admin);
    } catch (err) {
      throw kafkaError(err, what);
    }
  }

  /**
   * Partition counts of existing topics. Listing topics first keeps a missing
   * topic a quick answer: a metadata request naming it would be retried by
   * kafkajs for seconds.
   */
  private async describeCounts(names: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const existing = new Set(await this.withAdmin('list topics', (admin) => admin.listTopics()));
    const wanted = names.filter((n) => existing.has(n));
    if (wanted.length === 0) return out;
    const meta = await this.withAdmin(`describe topics ${wanted.join(', ')}`, (admin) =>
      admin.fetchTopicMetadata({ topics: wanted }),
    );
    const now = Date.now();
    for (const t of meta.topics) {
      out.set(t.name, t.partitions.length);
      this.counts.set(t.name, { partitions: t.partitions.length, at: now });
    }
    return out;
  }

  async partitionCount(topic: string): Promise<number> {
    this.options.assertOpen();
    const cached = this.counts.get(topic);
    if (cached && Date.now() - cached.at < this.options.metadataMaxAgeMs) return cached.partitions;
    const n = (await this.describeCounts([topic])).get(topic);
    if (n === undefined) {
      this.counts.delete(topic);
      throw new TopicError(
        `topic ${topic} does not exist on the Kafka cluster; create it with ensureTopic`,
        'UNKNOWN_TOPIC',
      );
    }
    return n;
  }

  /** `cleanup.policy` contains `compact`, per topic; see `requestedCompaction` for brokers that cannot say. */
  private async compaction(names: readonly string[]): Promise<Map<string, boolean>> {
    const out = new Map<string, boolean>();
    if (names.length > 0 && this.describeConfigsSupported) {
      const admin = await this.admin();
      try {
        const res = await admin.describeConfigs({
          resources: names.map((name) => ({
            type: kafkajs.ConfigResourceTypes.TOPIC,
            name,
            configNames: ['cleanup.policy'],
          })),
          includeSynonyms: false,
        });
        for (const r of res.resources) {
          const policy =
            r.configEntries.find((e) => e.configName === 'cleanup.policy')?.configValue ?? 'delete';
          out.set(r.resourceName, policy.split(',').includes('compact'));
        }
        return out;
      } catch (err) {
        if (!isUnsupportedApi(err)) throw kafkaError(err, `describe configs of ${names.join(', ')}`);
        this.describeConfigsSupported = false;
        this.options.logger.warn(
          {},
          'the Kafka broker does not support DescribeConfigs; topic compaction is reported as requested by ensureTopic',
        );
      }
    }
    for (const name of names) out.set(name, this.requestedCompaction.get(name) ?? false);
    return out;
  }

  async infos(names: readonly string[]): Promise<TopicInfo[]> {
    const counts = await this.describeCounts(names);
    const compacted = await this.compaction([...counts.keys()]);
    return [...counts].map(([name, partitions]) => ({
      name,
      partitions,
      compacted: compacted.get(name) ?? false,
    }));
  }

  async ensureTopic(requested: TopicSpec): Promise<TopicInfo> {
    this.options.assertOpen();
    // One rule for every back-end: a spec the embedded log refuses is refused here too.
    const spec = validateTopicSpec(requested);
    const compacted = spec.compacted;
    let [existing] = await this.infos([spec.name]);
    if (!existing) {
      const configEntries = [
        { name: 'cleanup.policy', value: compacted ? 'compact' : 'delete' },
        {
          name: 'retention.ms',
          value: spec.retentionMs === undefined ? FOREVER : String(Math.round(spec.retentionMs)),
        },
        {
          name: 'retention.bytes',
          value: spec.retentionBytes === undefined ? FOREVER : String(Math.round(spec.retentionBytes)),
        },
      ];
      await this.withAdmin(`create topic ${spec.name}`, (admin) =>
        admin.createTopics({
          topics: [
            {
              topic: spec.name,
              numPartitions: spec.partitions,
              replicationFactor: this.options.replicationFactor,
              configEntries,
            },
          ],
          waitForLeaders: true,
          timeout: this.options.requestTimeoutMs,
        }),
      );
      this.requestedCompaction.set(spec.name, compacted);
      // A concurrent creator may have won the race with other settings; describe what exists now.
      [existing] = await this.infos([spec.name]);
      if (!existing)
        throw new TopicError(
          `topic ${spec.name} was created but the cluster does not list it yet`,
          'UNKNOWN_TOPIC',
        );
    } else if (!this.requestedCompaction.has(spec.name)) {
      this.requestedCompaction.set(spec.name, compacted);
      if (!this.describeConfigsSupported) existing = { ...existing, compacted };
    }
    if (existing.partitions !== spec.partitions || existing.compacted !== compacted) {
      throw new TopicError(
        `topic ${spec.name} exists with ${existing.partitions} partitions${existing.compacted ? ', compacted' : ''}; asked for ${spec.partitions}${compacted ? ', compacted' : ''}`,
        'TOPIC_MISMATCH',
      );
    }
    return existing;
  }

  async topics(): Promise<TopicInfo[]> {
    this.options.assertOpen();
    const names = (await this.withAdmin('list topics', (admin) => admin.listTopics())).filter(
      (n) => !n.startsWith('__'),
    );
    return (await this.infos(names)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * Earliest and latest offset of every partition. A ListOffsets answer that
   * leaves out the topic asked about (go-mokapi gives one now and then while
   * other connections fetch) makes kafkajs throw a TypeError it never
   * retries; such an answer is asked again after a short pause, and after
   * {@link OFFSETS_ATTEMPTS} of them the call fails as a retriable
   * `ConnectionError`.
   */
  async offsets(topic: string): Promise<PartitionOffsets[]> {
    await this.partitionCount(topic);
    const admin = await this.admin();
    const backoff = new Backoff(OFFSETS_BACKOFF_MS);
    for (let attempt = 1; ; attempt++) {
      try {
        const raw = await admin.fetchTopicOffsets(topic);
        return raw
          .map((o) => ({ partition: o.partition, start: Number(o.low), end: Number(o.high) }))
          .sort((a, b) => a.partition - b.partition);
      } catch (err) {
        if (!(err instanceof TypeError)) throw kafkaError(err, `read offsets of ${topic}`);
        if (attempt === OFFSETS_ATTEMPTS)
          throw new ConnectionError(
            `read offsets of ${topic}: ${attempt} ListOffsets answers of the broker left the topic out`,
            err,
          );
        await sleep(backoff.next());
      }
    }
  }

  async checkPartition(topic: string, partition: number): Promise<void> {
    const n = await this.partitionCount(topic);
    if (!Number.isInteger(partition) || partition < 0 || partition >= n) {
      throw new TopicError(
        `partition ${partition} does not exist in topic ${topic} (${n} partitions)`,
        'UNKNOWN_PARTITION',
      );
    }
  }

  async offsetForTimestamp(topic: string, partition: number, timestamp: number): Promise<number> {
    await this.checkPartition(topic, partition);
    const found = await this.withAdmin(`look up offsets of ${topic} by timestamp ${timestamp}`, (admin) =>
      admin.fetchTopicOffsetsByTimestamp(topic, Math.trunc(timestamp)),
    );
    const hit = found.find((o) => o.partition === partition);
    if (!hit)
      throw new TopicError(
        `partition ${partition} of ${topic} is missing from the broker's answer`,
        'UNKNOWN_PARTITION',
      );
    return Number(hit.offset);
  }

  /** Deletes those of `names` that exist and forgets what was cached of all of them; returns the deleted ones. */
  async deleteTopics(names: readonly string[]): Promise<string[]> {
    this.options.assertOpen();
    const existing = new Set(await this.withAdmin('list topics', (admin) => admin.listTopics()));
    const topics = names.filter((n) => existing.has(n));
    for (const topic of names) this.counts.delete(topic);
    if (topics.length === 0) return [];
    // The broker removes the topics' committed offsets from every group itself.
    await this.withAdmin(`delete topics ${topics.join(', ')}`, (admin) => admin.deleteTopics({ topics }));
    for (const topic of topics) this.requestedCompaction.delete(topic);
    return topics;
  }

  async close(): Promise<void> {
    const admin = this.adminClient;
    this.adminClient = undefined;
    await admin?.then((a) => a.disconnect());
  }
}
