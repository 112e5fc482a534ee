/**
 * `experiment-attribution`, the first half of `experiment-metrics`: joins
 * the served lists of experiments (`rec.recommendations` with an
 * `experiment_id`) with the interactions that carry their `request_id`, in
 * the user's task (both topics are keyed by user), and forwards one
 * `ExperimentOutcome` per list, keyed by experiment id, once the list's
 * attribution window has passed.
 *
 * - A shown list counts one request, one impression per item (the served
 *   list is the record of what was shown: clients need not send impression
 *   events, and one who does is not counted twice, since an impression
 *   interaction adds nothing), its fallback, whether its model failed
 *   (`model_error`: an error of the variant) and its `took_ms`.
 * - An interaction of the list's user, on an item of the list, within
 *   `windowMs` of `served_ts`, marks the exposure clicked the first time
 *   it is clicked through (`CLICK_THROUGH`: click, view, complete, …) and
 *   raises the exposure's engaged time to its largest `watch_ms` (a view
 *   and its complete repeat the same watch time, so it is not summed).
 * - A shadow list counts a request and its latency, at once, and its
 *   Jaccard overlap with the shown list of the same request when that
 *   list is held (read first, as it is when the shadow scores off the hot
 *   path).
 *
 * A list is released when the task's watermark, the smaller of the newest
 * event times read from each of the two topics (store
 * `experiment-clock`), passes `served_ts + windowMs`: the runner reads the
 * topics round-robin, so in a replay or a backlog the lists of minutes may
 * be read before their clicks, and a list counted at once would show the
 * canary controller impressions without their clicks. Released lists are
 * complete, so the controller decides on whole requests. An interaction
 * that comes before its list waits in store `experiment-pending` and is
 * dropped when the watermark passes it by `windowMs` with no list.
 *
 * With `attributeAnonymous` false (RECSTREAM_ATTRIBUTE_ANONYMOUS), a list
 * asked for without credentials (`caller` null) counts nothing, shown or
 * shadow: whoever reaches an open responder could otherwise lower a
 * variant's click-through with requests nobody sees. It still moves the
 * watermark.
 *
 * Repeats are harmless: a list already held is not held again, and the
 * next stage drops a repeated outcome by its id.
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
export const EXPERIMENT_CLOCK_STORE = 'experiment-clock';

/** A shown list of an experiment, waiting for its window to pass. */
export interface HeldRequest {
  readonly user: string;
  readonly experiment: string;
  readonly variant: string;
  readonly ts: number;
  readonly items: string[];
  readonly fallback: boolean;
  /** Served popularity because the variant's model failed (`model_error`); absent in lists held before it was kept. */
  readonly error?: boolean;
  readonly took_ms: number | null;
  /** Items clicked through, sorted (equal state whatever order the clicks were read in). */
  readonly clicked: string[];
  /** Largest watch_ms per item so far. */
  readonly watched: Record<string, number>;
}

/** Newest event time read from each topic; -1 before the first. */
export interface AttributionClock {
  lists: number;
  interactions: number;
}

export const heldRequestCodec: ValueCodec<HeldRequest> = jsonCodec<HeldRequest>();
export const pendingCodec: ValueCodec<Interaction> = jsonCodec<Interaction>();
export const attributionClockCodec: ValueCodec<AttributionClock> = jsonCodec<AttributionClock>();

const CLOCK_KEY = 'clock';
/** The fallback of a list whose variant's model failed: the responder's error, counted by `error_rate`. */
const MODEL_ERROR = 'model_error';

export interface AttributionOptions {
  /** How long after its list an interaction counts (RECSTREAM_EXPERIMENT_ATTRIBUTION_MS). */
  readonly windowMs: number;
  /** False: anonymous lists (caller null) count nothing (RECSTREAM_ATTRIBUTE_ANONYMOUS). Default true. */
  readonly attributeAnonymous?: boolean;
}

type Input = ServedRecommendations | Interaction | null;

function isServedList(value: ServedRecommendations | Interaction): value is ServedRecommendations {
  return 'served_ts' in value;
}

/** |a ∩ b| / |a ∪ b| of two item lists; 1 for two empty lists. */
export function jaccard(a: readonly string[], b: readonly string[]): number {
  const left = new Set(a);
  const right = new Set(b);
  let both = 0;
  for (const item of right) if (left.has(item)) both++;
  const union = left.size + right.size - both;
  return union === 0 ? 1 : both / union;
}

export class ExperimentAttribution implements Processor<Input, ExperimentOutcome> {
  private ctx!: ProcessorContext<ExperimentOutcome>;
  private requests!: KeyValueStore<HeldRequest>;
  private pending!: KeyValueStore<Interaction>;
  private clockStore!: KeyValueStore<AttributionClock>;
  private clock: AttributionClock = { lists: -1, interactions: -1 };
  /** Held lists and waiting interactions by event time: `r/<request>` or `p/<pending key>`. */
  private readonly expiry = new TimeQueue<{ store: 'requests' | 'pending'; key: string }>();

  constructor(private readonly options: AttributionOptions) {}

  async init(ctx: ProcessorContext<ExperimentOutcome>): Promise<void> {
    this.ctx = ctx;
    this.requests = ctx.store(EXPERIMENT_REQUESTS_STORE);
    this.pending = ctx.store(EXPERIMENT_PENDING_STORE);
    this.clockStore = ctx.store(EXPERIMENT_CLOCK_STORE);
    this.clock = (await this.clockStore.get(CLOCK_KEY)) ?? this.clock;
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
    if (isServedList(value)) {
      await this.served(value, record.key);
      if (value.served_ts > this.clock.lists) this.advance({ ...this.clock, lists: value.served_ts });
    } else {
      await this.interaction(value, record.key);
      if (value.ts > this.clock.interactions) this.advance({ ...this.clock, interactions: value.ts });
    }
    await this.release();
  }

  private advance(clock: AttributionClock): void {
    this.clock = clock;
    this.clockStore.put(CLOCK_KEY, clock);
  }

  private async served(list: ServedRecommendations, key: string | null): Promise<void> {
    if (list.experiment_id === null) return;
    if (list.caller === null && this.options.attributeAnonymous === false) return;
    checkServedList(list, key);
    const what = `served list ${JSON.stringify(list.request_id)}`;
    if (list.variant === null || list.variant === '')
      throw new ProcessingError(
        `${what}: experiment_id ${JSON.stringify(list.experiment_id)} without a variant`,
      );
    if (list.took_ms !== null && !(Number.isFinite(list.took_ms) && list.took_ms >= 0))
      throw new ProcessingError(`${what}: took_ms ${list.took_ms} is not a duration`);
    if (list.shadow) {
      const shown = await this.requests.get(list.request_id);
      this.ctx.forward({
        key: list.experiment_id,
        value: {
          experiment_id: list.experiment_id,
          variant: list.variant,
          shadow: true,
          outcome_id: `shadow/${list.variant}/${list.request_id}`,
          request_id: list.request_id,
          user_id: list.user_id,
          ts: list.served_ts,
          requests: 1,
          impressions: 0,
          clicks: 0,
          engaged_ms: 0,
          fallbacks: 0,
          errors: list.fallback === MODEL_ERROR ? 1 : 0,
          overlap:
            shown === undefined
              ? null
              : jaccard(
                  shown.items,
                  list.items.map((i) => i.item_id),
                ),
          took_ms: list.took_ms,
        },
        timestamp: list.served_ts,
      });
      return;
    }
    if ((await this.requests.get(list.request_id)) !== undefined) return;
    const held: HeldRequest = {
      user: list.user_id,
      experiment: list.experiment_id,
      variant: list.variant,
      ts: list.served_ts,
      items: list.items.map((i) => i.item_id),
      fallback: list.fallback !== null,
      error: list.fallback === MODEL_ERROR,
      took_ms: list.took_ms,
      clicked: [],
      watched: {},
    };
    const early: [string, Interaction][] = [];
    for await (const entry of this.pending.range({
      gte: `${list.request_id}\u0000`,
      lt: `${list.request_id}\u0001`,
    }))
      early.push(entry);
    for (const [at, event] of early) {
      this.pending.delete(at);
      this.expiry.remove(event.ts, `p/${at}`);
      this.attribute(held, event);
    }
    this.requests.put(list.request_id, held);
    this.expiry.insert(held.ts, `r/${list.request_id}`, { store: 'requests', key: list.request_id });
  }

  private async interaction(event: Interaction, key: string | null): Promise<void> {
    const requestId = event.context.request_id;
    if (requestId === null || event.type === 'impression') return;
    checkInteraction(event, key);
    const held = await this.requests.get(requestId);
    if (held !== undefined) {
      if (this.attribute(held, event)) this.requests.put(requestId, held);
      return;
    }
    const at = `${requestId}\u0000${event.event_id}`;
    this.pending.put(at, event);
    this.expiry.insert(event.ts, `p/${at}`, { store: 'pending', key: at });
  }

  /** Applies an interaction to its list; returns whether the list changed. */
  private attribute(held: HeldRequest, event: Interaction): boolean {
    if (event.user_id !== held.user || !held.items.includes(event.item_id)) return false;
    if (event.ts < held.ts || event.ts > held.ts + this.options.windowMs) return false;
    let changed = false;
    if (CLICK_THROUGH.has(event.type) && !held.clicked.includes(event.item_id)) {
      held.clicked.push(event.item_id);
      held.clicked.sort();
      changed = true;
    }
    if (event.watch_ms !== null && event.watch_ms > (held.watched[event.item_id] ?? 0)) {
      held.watched[event.item_id] = event.watch_ms;
      changed = true;
    }
    return changed;
  }

  /** Counts the lists whose window the watermark passed; drops interactions that waited as long for no list. */
  private async release(): Promise<void> {
    const horizon = Math.min(this.clock.lists, this.clock.interactions) - this.options.windowMs;
    while (this.expiry.peekTs() < horizon) {
      const { store, key } = this.expiry.shift()!.value;
      if (store === 'pending') {
        this.pending.delete(key);
        continue;
      }
      const held = (await this.requests.get(key))!;
      this.requests.delete(key);
      let engaged = 0;
      for (const ms of Object.values(held.watched)) engaged += ms;
      this.ctx.forward({
        key: held.experiment,
        value: {
          experiment_id: held.experiment,
          variant: held.variant,
          shadow: false,
          outcome_id: `list/${key}`,
          request_id: key,
          user_id: held.user,
          ts: held.ts,
          requests: 1,
          impressions: held.items.length,
          clicks: held.clicked.length,
          engaged_ms: engaged,
          fallbacks: held.fallback ? 1 : 0,
          errors: held.error === true ? 1 : 0,
          overlap: null,
          took_ms: held.took_ms,
        },
        timestamp: held.ts,
      });
    }
  }
}
