/**
 * The served-list log: every response is published to
 * `rec.recommendations`, so a click can be attributed to the list it came
 * from (`request_id` in `Interaction.context`) and exposure can be trained
 * on. Off the hot path: a request only pushes onto a bounded queue; a timer
 * hands the queue to the producer, which batches and retries, one batch at
 * a time until the log acknowledges it. A list that does not fit the queue
 * (`maxQueued`) while the log is slow or away, and a batch the producer
 * gives up on, are counted in `recstream_serve_served_lists_dropped_total`
 * as it happens and logged with their count at most once a second — a
 * served list is worth less than a served request.
 *
 * @example
 * ```ts
 * const served = new ServedLog({ producer, metrics, logger });
 * served.publish({ request_id, user_id: 'u0', items, model_version, index_version, fallback, surface: null, served_ts: Date.now() });
 * await served.flush();   // resolves once what was queued is acknowledged, or counted as dropped
 * await served.close();
 * ```
 */
import type { Logger } from '../../runtime/observability/logger.js';
import type { Producer } from '../../runtime/producer/producer.js';
import type { ServedRecommendations } from '../../schemas/generated/types.js';
import { RECOMMENDATIONS_TOPIC } from '../../schemas/topics.js';
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

/** Dropped lists are logged at most this often; the counter counts every one as it happens. */
const WARNING_INTERVAL_MS = 1000;

export class ServedLog {
  private queue: ServedRecommendations[] = [];
  /** The batch the producer is delivering: one at a time, so what waits is the capped queue. */
  private delivering: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;
  private lastWarning = 0;
  /** Lists dropped since the last warning, and why the latest were. */
  private unreported = 0;
  private reason = '';
  private warningTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ServedLogOptions) {
    this.timer = setInterval(() => {
      if (this.delivering === undefined) void this.flush();
    }, options.flushMs ?? 100);
    this.timer.unref();
  }

  publish(list: ServedRecommendations): void {
    if (this.queue.length >= (this.options.maxQueued ?? 20_000)) {
      this.dropped(1, 'the served-list queue is full');
      return;
    }
    this.queue.push(list);
  }

  /**
   * Hands what is queued to the producer once the batch in flight is done;
   * resolves when the log acknowledged it, or when it was counted as dropped.
   */
  async flush(): Promise<void> {
    while (this.delivering !== undefined) await this.delivering;
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    const delivery = this.options.producer
      .deliver(
        RECOMMENDATIONS_TOPIC,
        batch.map((value) => ({ value })),
      )
      .then(
        () => undefined,
        (error: unknown) => this.dropped(batch.length, (error as Error)?.message ?? String(error)),
      )
      .finally(() => {
        this.delivering = undefined;
      });
    this.delivering = delivery;
    await delivery;
  }

  /** Delivers what is queued and logs any drop not logged yet. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    this.warn();
  }

  private dropped(count: number, why: string): void {
    this.options.metrics.servedListsDropped.inc(count);
    this.unreported += count;
    this.reason = why;
    const wait = this.lastWarning + WARNING_INTERVAL_MS - Date.now();
    if (wait <= 0) this.warn();
    else if (this.warningTimer === undefined) {
      this.warningTimer = setTimeout(() => this.warn(), wait);
      this.warningTimer.unref();
    }
  }

  /** One line for the lists dropped since the last one: how many and why, never whose. */
  private warn(): void {
    clearTimeout(this.warningTimer);
    this.warningTimer = undefined;
    if (this.unreported === 0) return;
    this.lastWarning = Date.now();
    this.options.logger.warn(
      { dropped: this.unreported, reason: this.reason },
      'served lists not published to rec.recommendations',
    );
    this.unreported = 0;
  }
}
