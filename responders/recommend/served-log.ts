/**
 * The served-list log (DESIGN.md §2): every response is published to
 * `rec.recommendations`, so a click can be attributed to the list it came
 * from (`request_id` in `Interaction.context`) and exposure can be trained
 * on. Off the hot path: a request only pushes onto a bounded queue; a timer
 * hands the queue to the producer, which batches and retries. When the log
 * cannot keep up the queue is capped (`maxQueued`) and what does not fit is
 * counted in `recstream_serve_served_lists_dropped_total` and logged once
 * a second — a served list is worth less than a served request.
 *
 * @example
 * ```ts
 * const served = new ServedLog({ producer, metrics, logger });
 * served.publish({ request_id, user_id: 'u0', items, model_version, index_version, fallback, surface: null, served_ts: Date.now() });
 * await served.close();   // flushes what is queued
 * ```
 */
import type { Logger } from '../../runtime/observability/logger.js';
import type { Producer } from '../../runtime/producer/producer.js';
import { RECOMMENDATIONS_TOPIC } from '../../runtime/topics/catalogue.js';
import type { ServedRecommendations } from '../../schemas/generated/types.js';
import type { ServeMetrics } from './serve-metrics.js';

export interface ServedLogOptions {
  readonly producer: Producer;
  readonly metrics: ServeMetrics;
  readonly logger: Logger;
  /**
   * Default 100 ms: each flush is an append per partition on the thread
   * pool, and on two cores every such hop takes CPU from requests (20 ms
   * served ~8 % fewer requests a second); a click comes seconds after its
   * list, and a list is in time for minutes (the feature lateness).
   */
  readonly flushMs?: number;
  /** Default 20,000 lists. */
  readonly maxQueued?: number;
}

export class ServedLog {
  private queue: ServedRecommendations[] = [];
  private inFlight: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;
  private lastWarning = 0;

  constructor(private readonly options: ServedLogOptions) {
    this.timer = setInterval(() => this.flush(), options.flushMs ?? 100);
    this.timer.unref();
  }

  publish(list: ServedRecommendations): void {
    if (this.queue.length >= (this.options.maxQueued ?? 20_000)) {
      this.dropped(1, 'the served-list queue is full');
      return;
    }
    this.queue.push(list);
  }

  /** Hands what is queued to the producer; resolves once the producer has buffered it. */
  flush(): Promise<void> {
    if (this.queue.length === 0) return this.inFlight;
    const batch = this.queue;
    this.queue = [];
    this.inFlight = this.inFlight.then(() =>
      this.options.producer
        .send(
          RECOMMENDATIONS_TOPIC,
          batch.map((value) => ({ value })),
        )
        .catch((error) => this.dropped(batch.length, (error as Error).message)),
    );
    return this.inFlight;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    await this.options.producer.flush().catch((error) => this.dropped(0, (error as Error).message));
  }

  private dropped(count: number, why: string): void {
    this.options.metrics.servedListsDropped.inc(count);
    const now = Date.now();
    if (now - this.lastWarning < 1000) return;
    this.lastWarning = now;
    this.options.logger.warn(
      { dropped: count, reason: why },
      'served lists not published to rec.recommendations',
    );
  }
}
