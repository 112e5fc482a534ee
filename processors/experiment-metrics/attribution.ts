/**
 * `experiment-attribution`, the first half of `experiment-metrics`: joins
 * the served lists of experiments (`rec.recommendations` with an
 * `experiment_id`) with the interactions that carry their `request_id`,
 * in the user's task (both topics are keyed by user), and forwards what
 * each adds to its variant's figures as an `ExperimentOutcome` keyed by
 * experiment id.
 *
 * - A shown list adds one request, one impression per item (the served
 *   list is the record of what was shown: clients of recstream need not
 *   send impression events, and one who does is not counted twice, since
 *   an impression interaction adds nothing), its fallback and `took_ms`.
 *   A shadow list adds a request and its latency only.
 * - An interaction of the list's user, on an item of the list, adds a
 *   click the first time the exposure is clicked through (`CLICK_THROUGH`:
 *   click, view, complete, …) and the growth of the exposure's largest
 *   `watch_ms` (engaged time; a view and its complete repeat the same
 *   watch time, so it is not summed).
 * - An interaction that arrives before its list (the runner reads the two
 *   topics round-robin) waits in store `experiment-pending` and is applied
 *   when the list comes, so the figures do not depend on the order the
 *   topics are read in. Lists and waiting interactions are forgotten
 *   `windowMs` of stream time after their event time.
 *
 * Repeats are harmless: a list already held adds nothing again, a click
 * marks its exposure once, watch time keeps the largest.
 *
 * @example
 * ```ts
 * builder.addProcessor('experiment-attribution', () => new ExperimentAttribution({ windowMs }), ['served-lists', 'interactions'])
 * ```
 */
import { CLICK_THROUGH, checkInteraction } from '../../features/math/interactions.js';
import { checkServedList } from '../../features/math/served-exposures.js';
import { TimeQueue } from '../../features/math/time-queue.js';
import { ProcessingError } from '../../runtime/errors.js';
import type { Processor, ProcessorContext, StreamRecord } from '../../runtime/processor/processor.js';
import { jsonCodec } from '../../runtime/state/codecs/index.js';
import type { KeyValueStore, ValueCodec } from '../../runtime/state/store.js';
import type { ExperimentOutcome, Interaction, ServedRecommendations } from '../../schemas/generated/types.js';

export const EXPERIMENT_REQUESTS_STORE = 'experiment-requests';
export const EXPERIMENT_PENDING_STORE = 'experiment-pending';

/** A shown list of an experiment, as attribution needs it. */
export interface HeldRequest {
  readonly user: string;
  readonly experiment: string;
  readonly variant: string;
  readonly ts: number;
  readonly items: string[];
  /** Items clicked through, sorted (equal state whatever order the clicks were read in). */
  readonly clicked: string[];
  /** Largest watch_ms per item so far. */
  readonly watched: Record<string, number>;
}

export const heldRequestCodec: ValueCodec<HeldRequest> = jsonCodec<HeldRequest>();
export const pendingCodec: ValueCodec<Interaction> = jsonCodec<Interaction>();

export interface AttributionOptions {
  /** How long after its event time a list can still be clicked, and an early interaction waits (RECSTREAM_LABEL_WINDOW_MS). */
  readonly windowMs: number;
}

type Input = ServedRecommendations | Interaction | null;

function isServedList(value: ServedRecommendations | Interaction): value is ServedRecommendations {
  return 'served_ts' in value;
}

function pendingKey(requestId: string, eventId: string): string {
  return `${requestId}\u0000${eventId}`;
}

export class ExperimentAttribution implements Processor<Input, ExperimentOutcome> {
  private ctx!: ProcessorContext<ExperimentOutcome>;
  private requests!: KeyValueStore<HeldRequest>;
  private pending!: KeyValueStore<Interaction>;
  /** Store keys by event time, with which store they are in. */
  private readonly expiry = new TimeQueue<{ store: 'requests' | 'pending'; key: string }>();

  constructor(private readonly options: AttributionOptions) {}

  async init(ctx: ProcessorContext<ExperimentOutcome>): Promise<void> {
    this.ctx = ctx;
    this.requests = ctx.store(EXPERIMENT_REQUESTS_STORE);
    this.pending = ctx.store(EXPERIMENT_PENDING_STORE);
    for await (const [key, held] of this.requests.range())
      this.expiry.insert(held.ts, `r/${key}`, { store: 'requests', key });
    for await (const [key, event] of this.pending.range())
      this.expiry.insert(event.ts, `p/${key}`, { store: 'pending', key });
  }

  async process(record: StreamRecord<Input>): Promise<void> {
    const value = record.value;
    if (value === null)
      throw new ProcessingError(
        `${this.ctx.recordMetadata()?.topic} record has no value: an event stream has no tombstones`,
      );
    if (isServedList(value)) await this.served(value, record.key);
    else await this.interaction(value, record.key);
    this.expire();
  }

  private async served(list: ServedRecommendations, key: string | null): Promise<void> {
    if (list.experiment_id === null) return;
    checkServedList(list, key);
    if (list.variant === null || list.variant === '')
      throw new ProcessingError(
        `served list ${JSON.stringify(list.request_id)}: experiment_id ${JSON.stringify(list.experiment_id)} without a variant`,
      );
    if (list.took_ms !== null && !(Number.isFinite(list.took_ms) && list.took_ms >= 0))
      throw new ProcessingError(
        `served list ${JSON.stringify(list.request_id)}: took_ms ${list.took_ms} is not a duration`,
      );
    const base = {
      experiment_id: list.experiment_id,
      variant: list.variant,
      shadow: list.shadow,
      outcome_id: list.shadow ? `shadow/${list.variant}/${list.request_id}` : `list/${list.request_id}`,
      request_id: list.request_id,
      ts: list.served_ts,
      clicks: 0,
      engaged_ms: 0,
      took_ms: list.took_ms,
    };
    if (list.shadow) {
      this.emit({ ...base, requests: 1, impressions: 0, fallbacks: 0 });
      return;
    }
    if ((await this.requests.get(list.request_id)) !== undefined) return;
    const held: HeldRequest = {
      user: list.user_id,
      experiment: list.experiment_id,
      variant: list.variant,
      ts: list.served_ts,
      items: list.items.map((i) => i.item_id),
      clicked: [],
      watched: {},
    };
    this.emit({
      ...base,
      requests: 1,
      impressions: held.items.length,
      fallbacks: list.fallback === null ? 0 : 1,
    });
    const early: [string, Interaction][] = [];
    const prefix = `${list.request_id}\u0000`;
    for await (const entry of this.pending.range({ gte: prefix, lt: `${list.request_id}\u0001` }))
      early.push(entry);
    early.sort(([, a], [, b]) => a.ts - b.ts || a.event_id.localeCompare(b.event_id));
    for (const [pendingAt, event] of early) {
      this.pending.delete(pendingAt);
      this.expiry.remove(event.ts, `p/${pendingAt}`);
      this.attribute(held, list.request_id, event);
    }
    this.requests.put(list.request_id, held);
    this.expiry.insert(held.ts, `r/${list.request_id}`, { store: 'requests', key: list.request_id });
  }

  private async interaction(event: Interaction, key: string | null): Promise<void> {
    const requestId = event.context.request_id;
    if (requestId === null || event.type === 'impression') return;
    checkInteraction(event, key);
    const held = await this.requests.get(requestId);
    if (held === undefined) {
      const at = pendingKey(requestId, event.event_id);
      this.pending.put(at, event);
      this.expiry.insert(event.ts, `p/${at}`, { store: 'pending', key: at });
      return;
    }
    if (this.attribute(held, requestId, event)) this.requests.put(requestId, held);
  }

  /** Applies an interaction to its list; returns whether the list changed. */
  private attribute(held: HeldRequest, requestId: string, event: Interaction): boolean {
    if (event.user_id !== held.user || !held.items.includes(event.item_id)) return false;
    let clicks = 0;
    let engaged = 0;
    if (CLICK_THROUGH.has(event.type) && !held.clicked.includes(event.item_id)) {
      held.clicked.push(event.item_id);
      held.clicked.sort();
      clicks = 1;
    }
    const before = held.watched[event.item_id] ?? 0;
    if (event.watch_ms !== null && event.watch_ms > before) {
      held.watched[event.item_id] = event.watch_ms;
      engaged = event.watch_ms - before;
    }
    if (clicks === 0 && engaged === 0) return false;
    this.emit({
      experiment_id: held.experiment,
      variant: held.variant,
      shadow: false,
      outcome_id: `event/${requestId}/${event.event_id}`,
      request_id: requestId,
      ts: event.ts,
      requests: 0,
      impressions: 0,
      clicks,
      engaged_ms: engaged,
      fallbacks: 0,
      took_ms: null,
    });
    return true;
  }

  private emit(outcome: ExperimentOutcome): void {
    this.ctx.forward({ key: outcome.experiment_id, value: outcome, timestamp: outcome.ts });
  }

  /** Forgets lists and waiting interactions older than the window behind stream time. */
  private expire(): void {
    const horizon = this.ctx.streamTime() - this.options.windowMs;
    while (this.expiry.peekTs() < horizon) {
      const { store, key } = this.expiry.shift()!.value;
      if (store === 'requests') this.requests.delete(key);
      else this.pending.delete(key);
    }
  }
}
