/**
 * What an interaction means to the feature views and to training: its watch
 * fraction, its labels and sample weight, whether it is a click-through, and
 * the checks an interaction must pass before any processor folds it. One
 * place, so the user view, the item view and the training labels agree.
 *
 * @example
 * ```ts
 * checkInteraction(event, record.key);                 // throws ProcessingError naming the field
 * const wf = watchFraction(event, catalogEntry?.duration_s);
 * const labels = eventLabels(event, wf);                // { label, positive, weight, … }
 * ```
 */
import { ProcessingError } from '../../runtime/errors.js';
import { describeUser } from '../../runtime/observability/user-hash.js';
import {
  INTERACTION_TYPE_SYMBOLS,
  type Interaction,
  type InteractionType,
  type RecentItem,
  type TrainingLabels,
} from '../../schemas/generated/types.js';

export const TYPE_COUNT = INTERACTION_TYPE_SYMBOLS.length;

/** Index of each interaction type in schema order. */
export const TYPE_INDEX: ReadonlyMap<string, number> = new Map(
  INTERACTION_TYPE_SYMBOLS.map((t, i) => [t as string, i]),
);

/** Interactions that show the user went for an item they were shown: they label an impression clicked. */
export const CLICK_THROUGH: ReadonlySet<InteractionType> = new Set<InteractionType>([
  'click',
  'view',
  'complete',
  'like',
  'add_to_list',
  'share',
  'rate',
]);

/** Loss weight per type: explicit and costly signals count more than a click. */
const WEIGHTS: Readonly<Record<InteractionType, number>> = {
  impression: 1,
  view: 1,
  click: 1,
  like: 2,
  dislike: 2,
  rate: 1.5,
  add_to_list: 1.5,
  share: 2,
  complete: 2,
  skip: 1,
};

/**
 * The store in which a processor folding interactions remembers their
 * event ids over `RECSTREAM_DEDUP_HORIZON_MS`, to drop repeats
 * (`runtime/state/dedup-window.ts`).
 */
export const EVENT_IDS_STORE = 'event-ids';

/** Largest event time accepted: event keys write it as 12 hex digits. */
export const MAX_TS = 2 ** 48 - 1;

/**
 * Refuses an interaction no view may fold: the processor throws and the
 * runner dead-letters the record with this message.
 */
export function checkInteraction(event: Interaction, key: string | null): void {
  if (key !== event.user_id)
    throw new ProcessingError(
      `interaction ${event.event_id}: record key ${key === null ? 'null' : describeUser(key)} is not its user_id ${describeUser(event.user_id)} (rec.interactions is keyed by user)`,
    );
  if (event.event_id === '') throw new ProcessingError('interaction has an empty event_id');
  if (event.item_id === '') throw new ProcessingError(`interaction ${event.event_id}: item_id is empty`);
  if (!Number.isSafeInteger(event.ts) || event.ts < 0 || event.ts > MAX_TS)
    throw new ProcessingError(`interaction ${event.event_id}: ts ${event.ts} is not a time from 1970 on`);
  if (event.type === 'rate' && (event.value === null || !Number.isFinite(event.value)))
    throw new ProcessingError(
      `interaction ${event.event_id}: a rate event needs a finite value (the rating)`,
    );
  if (event.value !== null && !Number.isFinite(event.value))
    throw new ProcessingError(`interaction ${event.event_id}: value ${event.value} is not finite`);
  if (event.watch_ms !== null && event.watch_ms < 0)
    throw new ProcessingError(`interaction ${event.event_id}: watch_ms ${event.watch_ms} is negative`);
}

function clamp01(x: number): number {
  return Math.min(1, Math.max(0, x));
}

/**
 * The watch fraction of a view, complete or skip: `value` for view and
 * complete, else `watch_ms` over the catalog duration, else 1 for a
 * complete; null when unknown or for other types.
 */
export function watchFraction(event: Interaction, durationS: number | null | undefined): number | null {
  const type = event.type;
  if (type !== 'view' && type !== 'complete' && type !== 'skip') return null;
  if (type !== 'skip' && event.value !== null) return clamp01(event.value);
  if (event.watch_ms !== null && durationS !== null && durationS !== undefined && durationS > 0)
    return clamp01(event.watch_ms / (durationS * 1000));
  return type === 'complete' ? 1 : null;
}

/**
 * The label of an interaction of `type`: the rating over 5 for a rate, the
 * watch fraction (else 1) for a view, 0 for a dislike, skip or impression,
 * else 1. At least 0.5 is a positive.
 */
export function interactionLabel(type: InteractionType, rating: number | null, wf: number | null): number {
  switch (type) {
    case 'view':
      return wf ?? 1;
    case 'rate':
      return clamp01((rating ?? 0) / 5);
    case 'dislike':
    case 'skip':
    case 'impression':
      return 0;
    default:
      return 1;
  }
}

/** Labels of a non-impression interaction (an impression's come from `impressionLabels`). */
export function eventLabels(event: Interaction, wf: number | null): TrainingLabels {
  const label = interactionLabel(event.type, event.value, wf);
  return {
    label,
    positive: label >= 0.5,
    weight: WEIGHTS[event.type],
    rating: event.type === 'rate' ? event.value : null,
    watch_fraction: wf,
    clicked: null,
    click_delay_ms: null,
  };
}

/**
 * Whether a user's recent item (the latest interaction with it) counts as
 * consumed, by the rule that makes an interaction a positive: a recent item
 * keeps no rating, so a rated one counts whatever the rating.
 *
 * @example
 * ```ts
 * recentItemConsumed({ item_id: 'i1', type: 'view', ts: 0, watch_fraction: 0.3 }); // false
 * ```
 */
export function recentItemConsumed(r: RecentItem): boolean {
  return r.type === 'rate' || interactionLabel(r.type, null, r.watch_fraction) >= 0.5;
}

/** Labels of an impression once known: clicked through within the window or not. */
export function impressionLabels(clickDelayMs: number | null): TrainingLabels {
  const clicked = clickDelayMs !== null;
  return {
    label: clicked ? 1 : 0,
    positive: clicked,
    weight: WEIGHTS.impression,
    rating: null,
    watch_fraction: null,
    clicked,
    click_delay_ms: clickDelayMs,
  };
}

/** Weight a non-impression interaction adds to the user's category affinity: its loss weight when positive. */
export function affinityWeight(event: Interaction, wf: number | null): number {
  if (event.type === 'impression') return 0;
  const labels = eventLabels(event, wf);
  return labels.positive ? labels.weight : 0;
}
