/**
 * Writes the ids the log acknowledged to the ingest's event-id index, in
 * log order, together with the partition checkpoint they reach. Writes are
 * coalesced for INDEX_LINGER_MS: one RocksDB batch per few milliseconds
 * instead of one per acknowledged append. Until an id's write commits its
 * claim keeps it deduplicated in memory; `onIndexed` hands the claims back
 * once it has. A failed write is retried after a second; at shutdown
 * `drain` writes what is queued once, and the next start indexes anything
 * left from the log.
 *
 * @example
 * ```ts
 * const writer = new IndexWriter(index, { onIndexed: (claims) => dropClaims(claims) });
 * writer.resume(checkpoint);                    // from the rebuild at start
 * writer.acknowledged([claim], partition, 43);  // per acknowledged batch
 * writer.stop();
 * const left = await writer.drain();            // ids not indexed at shutdown
 * ```
 */
import type { Logger } from '../../runtime/observability/logger.js';
import type { Claim } from './claim.js';
import type { DedupIndex, IndexedEvent } from './dedup-index.js';

const INDEX_LINGER_MS = 5;
const INDEX_BATCH = 5000;
const RETRY_MS = 1000;

export interface IndexWriterOptions {
  /** The claims whose ids the index now holds, so they need no longer be held in memory. */
  readonly onIndexed: (claims: readonly Claim[]) => void;
  readonly logger?: Logger;
}

export class IndexWriter {
  private pending: { entry: IndexedEvent; claim: Claim }[] = [];
  private checkpoint = new Map<number, number>();
  private indexing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly index: DedupIndex,
    private readonly options: IndexWriterOptions,
  ) {}

  /** Starts from the checkpoint the index held (and the log's tail brought up to date). */
  resume(checkpoint: Map<number, number>): void {
    this.checkpoint = checkpoint;
  }

  /** Queues the ids of one batch the log acknowledged, which ends below `nextOffset` of `partition`. */
  acknowledged(claims: readonly Claim[], partition: number, nextOffset: number): void {
    for (const claim of claims)
      this.pending.push({ entry: { id: claim.id, fingerprint: claim.fingerprint }, claim });
    this.checkpoint.set(partition, nextOffset);
    this.schedule();
  }

  /** Schedules no more writes of its own: `drain` makes the last ones. */
  stop(): void {
    this.stopped = true;
  }

  /** Waits for the write in flight and writes what is queued; resolves to how many ids are left unindexed. */
  async drain(): Promise<number> {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    while (this.indexing !== undefined || this.pending.length > 0) {
      if (this.indexing !== undefined) {
        await this.indexing;
        continue;
      }
      const before = this.pending.length;
      await this.flush();
      if (this.pending.length >= before) break; // the write failed; no retry loop at shutdown
    }
    return this.pending.length;
  }

  private schedule(): void {
    // Once stopped, drain() drives the last writes itself.
    if (this.stopped) return;
    if (this.indexing !== undefined || this.timer !== undefined || this.pending.length === 0) return;
    if (this.pending.length >= INDEX_BATCH) {
      this.flush();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, INDEX_LINGER_MS);
  }

  /** Writes the queued ids and the checkpoint; never rejects (a failure is retried after a second). */
  private flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    const checkpoint = new Map(this.checkpoint);
    const writing = this.index
      .record(
        batch.map((b) => b.entry),
        checkpoint,
      )
      .then(
        () => {
          this.options.onIndexed(batch.map((b) => b.claim));
          this.indexing = undefined;
          this.schedule();
        },
        (err: unknown) => {
          // The log holds these events; until the index does, their claims keep deduplicating in memory.
          this.options.logger?.error({ err, events: batch.length }, 'event-id index write failed; retrying');
          this.pending = [...batch, ...this.pending];
          this.indexing = undefined;
          if (this.stopped) return;
          this.timer = setTimeout(() => {
            this.timer = undefined;
            this.flush();
          }, RETRY_MS);
        },
      );
    this.indexing = writing;
    return writing;
  }
}
