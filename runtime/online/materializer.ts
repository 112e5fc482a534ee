/**
 * Copies the feature stores into a materialized online store (Redis): tails
 * each store's changelog (`rec.<processor>.<store>.changelog`) and writes
 * every entry with version = its changelog offset, like a Kafka Connect sink
 * that keeps its offsets in the sink.
 *
 * Why changelogs rather than a dedicated output topic: they already exist
 * (no second write per update in the processors, no coupling to their code),
 * they hold exactly the committed store values in the store's codec (the
 * bytes in Redis are the bytes in RocksDB), they are compacted (a rebuild
 * from earliest reads one record per live key, not the whole history), and
 * their offsets are per-key monotonic versions, because a store key lives in
 * one partition. Commit markers are skipped; the orphans of a crashed commit
 * may show briefly until the correction batch the task appends on reopen
 * (higher offsets, so it wins).
 *
 * Per polled batch: the last record per key is kept, the batch goes out as
 * one pipeline of versioned writes, then the progress (next offset, and the
 * highest offset ever applied, which is the floor of later writes) is
 * recorded in the store. A crash between the two re-sends the batch: the
 * versions make that a no-op. `from: 'earliest'` replays the changelogs into
 * the same namespace without moving any view backwards (the floors stop a
 * replayed older value from re-creating a key deleted since). Memory is
 * bounded by the batch size whatever the changelog size.
 *
 * @example
 * ```ts
 * const m = await Materializer.start({ log, store, namespace: 'blue', logger,
 *   sources: [{ topic: 'rec.user-features.user.changelog', view: 'user' }] });
 * process.once('SIGTERM', () => m.stop());
 * await m.run();                      // or: await m.runUntilCaughtUp();
 * ```
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { isRetriable, OnlineStoreError } from '../errors.js';
import type { EventLog, LogConsumer, LogRecord } from '../log/log.js';
import type { Logger } from '../observability/logger.js';
import { Backoff } from '../retry.js';
import { isMarker } from '../state/changelog/marker.js';
import type { MaterializerMetrics } from './metrics.js';
import type { OnlineStore, OnlineWrite, OnlineWriter, SourceProgress } from './online-store.js';

export interface MaterializedSource {
  /** A feature store's changelog topic. */
  readonly topic: string;
  /** The feature view its values are. */
  readonly view: string;
}

export interface MaterializerOptions {
  readonly log: EventLog;
  readonly store: OnlineWriter & Pick<OnlineStore, 'activate' | 'activeNamespace'>;
  readonly namespace: string;
  readonly sources: readonly MaterializedSource[];
  readonly logger: Logger;
  /**
   * `committed` (default): resume from the progress recorded in the store.
   * `earliest`: replay every changelog from its start into the namespace;
   * what was applied before is skipped by version, so no view goes backwards.
   */
  readonly from?: 'committed' | 'earliest';
  /** Make the namespace active once caught up when no namespace is active (the first fill). */
  readonly activateIfNone?: boolean;
  /** Records per poll, and so per write pipeline. Default 5000. */
  readonly batchSize?: number;
  readonly metrics?: MaterializerMetrics;
  /** Called after each batch is written and its progress recorded (progress lines, tests). */
  readonly onBatch?: (stats: MaterializeStats) => void;
  /** How long the namespace's writer lease lasts without renewal (renewed every third of it). Default 30 s. */
  readonly leaseTtlMs?: number;
}

export interface MaterializeStats {
  readonly records: number;
  readonly applied: number;
  readonly skipped: number;
  readonly batches: number;
}

export class Materializer {
  private consumer!: LogConsumer;
  private readonly views = new Map<string, string>();
  /** Highest offset applied per `topic/partition`: the floor of the next writes. */
  private readonly applied = new Map<string, number>();
  private stats = { records: 0, applied: 0, skipped: 0, batches: 0 };
  private stopping = false;
  private wake: (() => void) | undefined;
  private lastLag = 0;
  /** This materializer's id in the namespace's writer lease. */
  private readonly owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private readonly leaseTtlMs: number;
  private leaseRenewedAt = 0;

  private constructor(private readonly options: MaterializerOptions) {
    this.leaseTtlMs = options.leaseTtlMs ?? 30_000;
    for (const source of options.sources) {
      if (this.views.has(source.topic))
        throw new OnlineStoreError(`changelog ${source.topic} is materialized twice`);
      this.views.set(source.topic, source.view);
    }
  }

  /**
   * Registers the namespace, takes its writer lease (a retriable
   * OnlineStoreError while another materializer holds it), reads the
   * recorded progress and positions a consumer on the changelogs.
   */
  static async start(options: MaterializerOptions): Promise<Materializer> {
    const materializer = new Materializer(options);
    await options.store.createNamespace(options.namespace);
    await options.store.acquireLease(options.namespace, materializer.owner, materializer.leaseTtlMs);
    materializer.leaseRenewedAt = Date.now();
    try {
      // No consumer group: progress lives in the online store.
      materializer.consumer = await options.log.consumer({
        topics: options.sources.map((s) => s.topic),
        from: 'earliest',
      });
    } catch (err) {
      await options.store.releaseLease(options.namespace, materializer.owner).catch(() => undefined);
      throw err;
    }
    try {
      await materializer.resync(options.from ?? 'committed');
    } catch (err) {
      await materializer.close();
      throw err;
    }
    return materializer;
  }

  /** Materializes everything in the changelogs now, records progress, and returns (`--once`). */
  async runUntilCaughtUp(): Promise<MaterializeStats> {
    while (!this.stopping) {
      const polled = await this.step(0);
      if (polled === 0 && (await this.caughtUp())) break;
    }
    await this.activateIfNone();
    return this.progress();
  }

  /**
   * Follows the changelogs until `stop()`. A retriable failure (Redis or the
   * log unreachable) is logged, waited out with backoff up to 5 s and
   * resumed from the progress recorded in the store; anything else throws.
   */
  async run(): Promise<MaterializeStats> {
    const backoff = new Backoff();
    let resync = false;
    let caughtUpOnce = false;
    while (!this.stopping) {
      try {
        if (resync) {
          await this.renewConsumer();
          await this.resync('committed');
        }
        resync = false;
        const polled = await this.step(200);
        backoff.reset();
        if (!caughtUpOnce && polled === 0 && (await this.caughtUp())) {
          caughtUpOnce = true;
          await this.activateIfNone();
        }
      } catch (error) {
        if (!isRetriable(error)) throw error;
        const delayMs = backoff.next();
        this.options.logger.warn(
          { err: error, delayMs, namespace: this.options.namespace },
          'materializer: retriable failure; resuming from the recorded progress after a pause',
        );
        await this.pause(delayMs);
        resync = true;
      }
    }
    return this.progress();
  }

  stop(): void {
    this.stopping = true;
    this.wake?.();
  }

  progress(): MaterializeStats {
    return { ...this.stats };
  }

  /** Changelog records not read yet, over every partition (for an ETA). */
  async lag(): Promise<number> {
    let lag = 0;
    for (const source of this.options.sources) {
      for (const p of await this.options.log.offsets(source.topic))
        lag += Math.max(0, p.end - this.consumer.position(source.topic, p.partition));
    }
    return lag;
  }

  /** Closes the consumer and gives the lease up (if Redis is unreachable, the lease expires by itself). */
  async close(): Promise<void> {
    await this.consumer.close();
    try {
      await this.options.store.releaseLease(this.options.namespace, this.owner);
    } catch (err) {
      this.options.logger.warn(
        { err, namespace: this.options.namespace, leaseTtlMs: this.leaseTtlMs },
        'materializer: could not release its lease; it expires by itself',
      );
    }
  }

  /**
   * Replaces the consumer after a retriable failure: the old one may have
   * failed for good (a Kafka consumer outlasted by a broker outage). A
   * failure leaves the closed one in place, and the next resync tries again.
   */
  private async renewConsumer(): Promise<void> {
    await this.consumer.close().catch(() => undefined);
    this.consumer = await this.options.log.consumer({
      topics: this.options.sources.map((s) => s.topic),
      from: 'earliest',
    });
  }

  /** Seeks every changelog partition to the recorded progress (or to its start for a replay). */
  private async resync(from: 'committed' | 'earliest'): Promise<void> {
    await this.keepLease(true);
    const recorded = await this.options.store.progress(
      this.options.namespace,
      this.options.sources.map((s) => s.topic),
    );
    const byPartition = new Map(recorded.map((p) => [`${p.topic}/${p.partition}`, p]));
    this.applied.clear();
    for (const { topic, partition } of this.consumer.assignment()) {
      const known = byPartition.get(`${topic}/${partition}`);
      this.applied.set(`${topic}/${partition}`, known?.applied ?? -1);
      const start = await this.startOffset(topic, partition);
      const position = from === 'earliest' || known === undefined ? start : Math.max(known.position, start);
      this.consumer.seek(topic, partition, position);
    }
  }

  private async startOffset(topic: string, partition: number): Promise<number> {
    const offsets = await this.options.log.offsets(topic);
    return offsets.find((o) => o.partition === partition)?.start ?? 0;
  }

  /**
   * Renews the lease every third of its lifetime, before writing. A lease
   * that expired and was free again is retaken, and since another writer
   * may have written meanwhile, the progress and floors are reloaded.
   */
  private async keepLease(force = false): Promise<void> {
    if (!force && Date.now() - this.leaseRenewedAt < this.leaseTtlMs / 3) return;
    const result = await this.options.store.renewLease(this.options.namespace, this.owner, this.leaseTtlMs);
    this.leaseRenewedAt = Date.now();
    if (result === 'reacquired' && !force) {
      this.options.logger.warn(
        { namespace: this.options.namespace },
        'materializer: its writer lease had expired; taken again, reloading the recorded progress',
      );
      await this.resync('committed');
    }
  }

  private async step(timeoutMs: number): Promise<number> {
    await this.keepLease();
    const records = await this.consumer.poll({ maxRecords: this.options.batchSize ?? 5000, timeoutMs });
    if (records.length > 0) await this.apply(records);
    return records.length;
  }

  private async apply(records: readonly LogRecord[]): Promise<void> {
    const { namespace, metrics } = this.options;
    const last = new Map<string, LogRecord>();
    const latest = new Map<string, LogRecord>();
    const counts = new Map<string, number>();
    for (const record of records) {
      const partitionId = `${record.topic}/${record.partition}`;
      last.set(partitionId, record);
      counts.set(record.topic, (counts.get(record.topic) ?? 0) + 1);
      if (record.key === null || isMarker(record)) continue;
      latest.set(`${partitionId}\u0000${record.key}`, record);
    }
    const writes: OnlineWrite[] = [];
    for (const record of latest.values()) {
      writes.push({
        view: this.views.get(record.topic)!,
        key: record.key!,
        value: record.value,
        version: record.offset,
        floor: this.applied.get(`${record.topic}/${record.partition}`) ?? -1,
      });
    }
    const report = await this.options.store.write(namespace, writes);
    const progress: SourceProgress[] = [];
    for (const [partitionId, record] of last) {
      const applied = Math.max(this.applied.get(partitionId) ?? -1, record.offset);
      progress.push({
        topic: record.topic,
        partition: record.partition,
        position: record.offset + 1,
        applied,
      });
    }
    await this.options.store.commitProgress(namespace, progress);
    for (const p of progress) this.applied.set(`${p.topic}/${p.partition}`, p.applied);
    this.stats.records += records.length;
    this.stats.applied += report.applied;
    this.stats.skipped += report.skipped;
    this.stats.batches++;
    this.options.onBatch?.(this.progress());
    if (metrics) {
      for (const [topic, n] of counts) metrics.records.inc({ namespace, topic }, n);
      metrics.writes.inc({ namespace, result: 'applied' }, report.applied);
      metrics.writes.inc({ namespace, result: 'skipped' }, report.skipped);
      if (Date.now() - this.lastLag > 5000) await this.caughtUp();
    }
  }

  /** Whether every changelog partition is read to its end; updates the lag gauges on the way. */
  private async caughtUp(): Promise<boolean> {
    let behind = false;
    const metrics = this.options.metrics;
    for (const source of this.options.sources) {
      for (const p of await this.options.log.offsets(source.topic)) {
        const lag = Math.max(0, p.end - this.consumer.position(source.topic, p.partition));
        if (lag > 0) behind = true;
        metrics?.lag.set(
          { namespace: this.options.namespace, topic: source.topic, partition: String(p.partition) },
          lag,
        );
      }
    }
    this.lastLag = Date.now();
    return !behind;
  }

  private async activateIfNone(): Promise<void> {
    if (!this.options.activateIfNone) return;
    if ((await this.options.store.activeNamespace()) !== undefined) return;
    await this.options.store.activate(this.options.namespace);
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
