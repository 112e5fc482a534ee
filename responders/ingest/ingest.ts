/**
 * The ingest service behind `POST /v1/events`: validates a batch, drops
 * event ids it has already accepted, appends the rest to rec.interactions
 * through the producer client and resolves only when the log acknowledged
 * them. Idempotent on `event_id` across restarts (see `dedup-index.ts` for
 * the durable index and its window).
 *
 * How an id is never accepted twice, even by concurrent requests:
 * 1. a request *claims* each new id synchronously (an in-memory map), so a
 *    second request with the same id waits for the first one's outcome;
 * 2. ids not claimed are looked up in the index (one RocksDB round trip);
 * 3. the rest are appended; each acknowledged batch is queued for the index
 *    in log order, and the claim is dropped only once the index write that
 *    holds the id has committed, together with the partition checkpoint;
 * 4. on start, the records after the checkpoint (acknowledged but not yet
 *    indexed when the process died) are read back from the log and indexed
 *    before the first request is taken.
 *
 * With tracing on, each request runs in a span `POST /v1/events` that
 * continues the request's `traceparent` header, and every record it
 * appends carries the span's context in its headers (`ingest-span.ts`).
 *
 * @example
 * ```ts
 * const ingest = await Ingest.open({ log, serde, dataDir, windowMs: 86_400_000, maxInFlightEvents: 20_000 });
 * await ingest.start();                       // rebuild from the log tail
 * const result = await ingest.accept(jsonEvents);
 * // { accepted: 98, duplicates: 1, refused: [{ index: 3, event_id: 'e3', errors: [...] }] }
 * await ingest.close();
 * ```
 */
import { join } from 'node:path';
import type { EventLog } from '../../runtime/log/log.js';
import type { Logger } from '../../runtime/observability/logger.js';
import type { Registry } from '../../runtime/observability/metrics.js';
import { refreshTracing } from '../../runtime/observability/tracing.js';
import { createProducer, type DeliveryReport, type Producer } from '../../runtime/producer/producer.js';
import type { Serde } from '../../runtime/serde/serde.js';
import type { Interaction } from '../../schemas/generated/types.js';
import { INTERACTIONS_TOPIC } from '../../schemas/topics.js';
import { UnavailableError } from '../errors.js';
import { Claim } from './claim.js';
import { DedupIndex } from './dedup-index.js';
import { fingerprint } from './fingerprint.js';
import { IndexWriter } from './index-writer.js';
import { type IngestMetrics, ingestMetrics } from './ingest-metrics.js';
import { conflict, type IngestResult, type Refusal, refusal } from './ingest-result.js';
import { type HttpHeaders, inIngestSpan } from './ingest-span.js';
import { rebuildIndex } from './rebuild.js';
import { validateEvent } from './validate-event.js';

export type { IngestResult, Refusal } from './ingest-result.js';

export interface IngestOptions {
  readonly log: EventLog;
  readonly serde: Serde;
  /** The index lives in `<dataDir>/ingest/dedup`. */
  readonly dataDir: string;
  readonly windowMs: number;
  /** Events appended but not yet acknowledged before `accept` throws BufferFullError. */
  readonly maxInFlightEvents: number;
  /** How long appends are retried before the request fails with 503. Default 10 000 ms. */
  readonly deliveryTimeoutMs?: number;
  readonly logger?: Logger;
  readonly metrics?: Registry;
}

/** What one request refused or found duplicate so far. */
interface Tally {
  readonly refused: Refusal[];
  duplicates: number;
}

/** An event this request claimed and may append. */
interface Fresh {
  readonly index: number;
  readonly event: Interaction;
  readonly claim: Claim;
}

/** An event whose id a concurrent request claimed first. */
interface Wait {
  readonly index: number;
  readonly id: string;
  readonly fingerprint: Buffer;
  readonly claim: Claim;
}

export class Ingest {
  private readonly claims = new Map<string, Claim>();
  /** Claims by the event object handed to the producer, until its batch is acknowledged or fails. */
  private readonly claimOf = new Map<object, Claim>();
  private readonly producer: Producer;
  private readonly metrics: IngestMetrics | undefined;
  /** Writes acknowledged ids to `index`; their claims are dropped once it holds them. */
  private readonly writer: IndexWriter;
  private state: 'starting' | 'ready' | 'closed' = 'starting';
  private rebuilt = 0;
  private readonly tracing = refreshTracing();

  private constructor(
    private readonly options: IngestOptions,
    private readonly index: DedupIndex,
  ) {
    this.metrics = options.metrics === undefined ? undefined : ingestMetrics(options.metrics);
    this.writer = new IndexWriter(index, {
      onIndexed: (claims) => {
        for (const claim of claims) if (this.claims.get(claim.id) === claim) this.claims.delete(claim.id);
      },
      logger: options.logger,
    });
    this.producer = createProducer({
      log: options.log,
      serde: options.serde,
      logger: options.logger,
      metrics: options.metrics,
      // No timer: a request waits for its own acknowledgement. Batches still form from what one
      // event-loop turn sends and from what queues behind an append in flight.
      lingerMs: 0,
      maxBatchRecords: 1000,
      maxBufferedRecords: options.maxInFlightEvents,
      // A client should hear 503 and retry rather than hang for Kafka's two minutes.
      deliveryTimeoutMs: options.deliveryTimeoutMs ?? 10_000,
      retryBackoffMaxMs: 1000,
      onDelivery: (report) => this.delivered(report),
    });
  }

  static async open(options: IngestOptions): Promise<Ingest> {
    const index = await DedupIndex.open(join(options.dataDir, 'ingest', 'dedup'), {
      windowMs: options.windowMs,
    });
    return new Ingest(options, index);
  }

  /** Indexes what the log holds past the checkpoint, then takes requests. */
  async start(): Promise<void> {
    const { checkpoint, records } = await rebuildIndex(this.options.log, this.options.serde, this.index, {
      topic: INTERACTIONS_TOPIC,
      onProgress: (n) => (this.rebuilt = n),
    });
    this.writer.resume(checkpoint);
    this.rebuilt = records;
    if (this.state === 'starting') this.state = 'ready';
    this.options.logger?.info({ records }, 'ingest ready: event-id index rebuilt from the log tail');
  }

  /** Null when ready, else why not (for /readyz). */
  notReadyReason(): string | null {
    if (this.state === 'ready') return null;
    if (this.state === 'closed') return 'ingest is shut down';
    return `rebuilding the event-id index from the log (${this.rebuilt} records read)`;
  }

  /**
   * Validates and appends a batch of JSON events; resolves after the log
   * acknowledged every accepted one.
   *
   * @throws BufferFullError when too many events are in flight (the route answers 429)
   * @throws UnavailableError while starting or closing, or a retriable log error (503)
   */
  accept(
    events: readonly unknown[],
    /** The request's HTTP headers: a `traceparent` there is the parent of the request's span. */
    httpHeaders?: HttpHeaders,
  ): Promise<IngestResult> {
    return this.tracing
      ? inIngestSpan(events.length, httpHeaders, () => this.acceptBatch(events))
      : this.acceptBatch(events);
  }

  /** Claims, looks up, appends and awaits, one phase each; each phase adds what it refuses or finds duplicate to `tally`. */
  private async acceptBatch(events: readonly unknown[]): Promise<IngestResult> {
    const reason = this.notReadyReason();
    if (reason !== null) throw new UnavailableError(`not accepting events: ${reason}`);
    const tally: Tally = { refused: [], duplicates: 0 };
    const { fresh, waits } = this.claimValid(events, tally);
    const toAppend = await this.dropIndexed(fresh, tally);
    if (toAppend.length > 0) await this.append(toAppend);
    await this.awaitConcurrent(waits, tally);
    const { refused, duplicates } = tally;
    refused.sort((a, b) => a.index - b.index);
    this.metrics?.events.inc({ outcome: 'accepted' }, toAppend.length);
    this.metrics?.events.inc({ outcome: 'duplicate' }, duplicates);
    this.metrics?.events.inc({ outcome: 'refused' }, refused.length);
    return { accepted: toAppend.length, duplicates, refused };
  }

  /**
   * Phase 1: validates each event, settles repeats within the request, and
   * claims every other id: `fresh` ones this request appends, `waits` ones a
   * concurrent request is appending.
   */
  private claimValid(events: readonly unknown[], tally: Tally): { fresh: Fresh[]; waits: Wait[] } {
    const fresh: Fresh[] = [];
    const waits: Wait[] = [];
    const inBatch = new Map<string, { index: number; fingerprint: Buffer }>();
    const now = Date.now();
    for (let i = 0; i < events.length; i++) {
      const checked = validateEvent(events[i], now);
      if (!checked.ok) {
        tally.refused.push(refusal(i, events[i], checked.errors));
        continue;
      }
      const event = checked.event;
      const id = event.event_id;
      const fp = fingerprint(event);
      const earlier = inBatch.get(id);
      if (earlier !== undefined) {
        if (earlier.fingerprint.equals(fp)) tally.duplicates++;
        else tally.refused.push(conflict(i, id, `record ${earlier.index} of this request`));
        continue;
      }
      inBatch.set(id, { index: i, fingerprint: fp });
      const claimed = this.claims.get(id);
      if (claimed !== undefined) {
        waits.push({ index: i, id, fingerprint: fp, claim: claimed });
        continue;
      }
      const claim = new Claim(id, fp);
      this.claims.set(id, claim);
      fresh.push({ index: i, event, claim });
    }
    return { fresh, waits };
  }

  /** Phase 2: ids the event-id index already holds are duplicates or conflicts; the rest are to append. */
  private async dropIndexed(fresh: readonly Fresh[], tally: Tally): Promise<Fresh[]> {
    let known: (Buffer | undefined)[];
    try {
      known = await this.index.lookup(fresh.map((f) => f.claim.id));
    } catch (err) {
      this.release(fresh.map((f) => f.claim));
      throw new UnavailableError(`the event-id index cannot be read: ${(err as Error).message}`, err);
    }
    const toAppend: Fresh[] = [];
    for (const [k, f] of fresh.entries()) {
      const remembered = known[k];
      if (remembered === undefined) {
        toAppend.push(f);
        this.claimOf.set(f.event, f.claim);
        continue;
      }
      // Already indexed: this request does not append it, and nobody needs to wait on it.
      this.claims.delete(f.claim.id);
      f.claim.stored = remembered;
      f.claim.resolve('appended');
      if (remembered.equals(f.claim.fingerprint)) tally.duplicates++;
      else tally.refused.push(conflict(f.index, f.claim.id, 'an event accepted earlier'));
    }
    return toAppend;
  }

  /** Phase 3: appends and waits for the log's acknowledgement. */
  private async append(toAppend: readonly Fresh[]): Promise<void> {
    try {
      await this.producer.deliver(
        INTERACTIONS_TOPIC,
        toAppend.map((f) => ({ value: f.event })),
        { ifFull: 'reject' },
      );
    } catch (err) {
      // Batches acknowledged before the failure stay claimed until indexed; the rest are free again.
      for (const f of toAppend) this.claimOf.delete(f.event);
      this.release(toAppend.map((f) => f.claim).filter((c) => !c.settled));
      throw err;
    }
  }

  /** Phase 4: ids a concurrent request was appending are duplicates or conflicts once it settles. */
  private async awaitConcurrent(waits: readonly Wait[], tally: Tally): Promise<void> {
    for (const w of waits) {
      if ((await w.claim.outcome()) === 'failed') {
        throw new UnavailableError(
          `event ${JSON.stringify(w.id)} (record ${w.index}) was being appended by a concurrent request that failed; resend the batch`,
        );
      }
      if ((w.claim.stored ?? w.claim.fingerprint).equals(w.fingerprint)) tally.duplicates++;
      else tally.refused.push(conflict(w.index, w.id, 'an event accepted earlier'));
    }
  }

  /** Stops taking requests, waits for in-flight appends and for the index to hold them. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.writer.stop();
    try {
      await this.producer.close();
      const left = await this.writer.drain();
      if (left > 0) {
        this.options.logger?.warn(
          { events: left },
          'event ids not indexed at shutdown; the next start indexes them from the log',
        );
      }
    } finally {
      await this.index.close();
    }
  }

  /** Producer callback, per acknowledged batch in offset order: queue its ids for the index. */
  private delivered(report: DeliveryReport): void {
    const acknowledged: Claim[] = [];
    for (const value of report.values) {
      const claim = this.claimOf.get(value as object);
      if (claim === undefined) continue;
      this.claimOf.delete(value as object);
      claim.resolve('appended');
      acknowledged.push(claim);
    }
    this.writer.acknowledged(acknowledged, report.partition, report.baseOffset + report.records.length);
  }

  private release(claims: readonly Claim[]): void {
    for (const claim of claims) {
      if (this.claims.get(claim.id) === claim) this.claims.delete(claim.id);
      claim.resolve('failed');
    }
  }
}
