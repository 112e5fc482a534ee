/**
 * A compacted topic (`rec.items`, `rec.users`) kept as a table in memory
 * and followed as it grows: the newest version of each key by its
 * `updated_ts` (a re-sent older version never wins); a tombstone removes
 * the key. The responder reads the catalog (availability, maturity,
 * titles, new items to embed) and profiles (opt-out, age bucket, country)
 * from here, with no store round trip per request.
 *
 * A record that does not decode is logged and skipped: a table must not
 * stop serving over one bad record (the processors put the same record in
 * `rec.dlq`).
 *
 * @example
 * ```ts
 * const catalog = LiveTable.open<Item>({ log, topic: 'rec.items', decode, logger });
 * catalog.onChange((changed, removed) => reembed(changed, removed));
 * await catalog.ready;
 * catalog.get('i7')?.available;
 * await catalog.close();
 * ```
 */
import type { EventLog, LogRecord } from '../../runtime/log/log.js';
import type { Logger } from '../../runtime/observability/logger.js';
import { TopicFollower } from './topic-follower.js';

export interface LiveTableOptions<T> {
  readonly log: EventLog;
  readonly topic: string;
  readonly decode: (bytes: Buffer) => Promise<T>;
  readonly logger: Logger;
  readonly pollMs?: number;
}

export type ChangeListener<T> = (changed: readonly T[], removed: readonly string[]) => void;

export class LiveTable<T extends { readonly updated_ts: number }> {
  private readonly rows = new Map<string, T>();
  private readonly listeners: ChangeListener<T>[] = [];
  private readonly follower: TopicFollower;

  private constructor(private readonly options: LiveTableOptions<T>) {
    this.follower = TopicFollower.start({
      log: options.log,
      topic: options.topic,
      logger: options.logger,
      pollMs: options.pollMs,
      onRecords: (records) => this.apply(records),
    });
  }

  static open<T extends { readonly updated_ts: number }>(options: LiveTableOptions<T>): LiveTable<T> {
    return new LiveTable(options);
  }

  /** Resolves once the table holds everything the topic held when it opened. */
  get ready(): Promise<void> {
    return this.follower.ready;
  }

  get(key: string): T | undefined {
    return this.rows.get(key);
  }

  get size(): number {
    return this.rows.size;
  }

  values(): IterableIterator<T> {
    return this.rows.values();
  }

  /** Called after each batch that changed the table, with the new versions and the removed keys. */
  onChange(listener: ChangeListener<T>): void {
    this.listeners.push(listener);
  }

  close(): Promise<void> {
    return this.follower.close();
  }

  private async apply(records: readonly LogRecord[]): Promise<void> {
    const changed = new Map<string, T>();
    const removed = new Set<string>();
    for (const record of records) {
      if (record.key === null) continue;
      if (record.value === null) {
        if (this.rows.delete(record.key)) removed.add(record.key);
        changed.delete(record.key);
        continue;
      }
      let value: T;
      try {
        value = await this.options.decode(record.value);
      } catch (err) {
        this.options.logger.warn(
          { err, topic: this.options.topic, partition: record.partition, offset: record.offset },
          'skipped a record that does not decode',
        );
        continue;
      }
      const current = this.rows.get(record.key);
      if (current !== undefined && current.updated_ts > value.updated_ts) continue;
      this.rows.set(record.key, value);
      changed.set(record.key, value);
      removed.delete(record.key);
    }
    if (changed.size > 0 || removed.size > 0)
      for (const listener of this.listeners) listener([...changed.values()], [...removed]);
  }
}
