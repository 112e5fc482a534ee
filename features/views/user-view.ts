/**
 * The per-user view `user-features` maintains (store `user-view`, key
 * user_id): everything folded from the user's released interactions, plus
 * the interactions still waiting for the watermark (`pending`), so a reader
 * can serve what the user did seconds ago. `featuresAt(view, t)` turns it
 * into the `UserFeatures` of an interaction at `t`: the view holds only
 * interactions with earlier event times when it is called, so nothing from
 * the event itself or later is in them.
 *
 * Definitions (the point-in-time test recomputes each from raw events):
 * - decayed counts per type: `features/math/decay.ts`, all types rescaled
 *   to the latest folded event time `ref_ts`;
 * - recent items: per item the latest non-impression interaction, most
 *   recent first (ties: later event id first), at most 20;
 * - category affinity: a positive interaction (label >= 0.5) adds its loss
 *   weight split evenly over the item's categories as of its time, decayed
 *   with the 7-day half-life; read as shares summing to 1;
 * - sessions: a gap of more than 30 minutes starts a new one;
 * - mean watch fraction over view and complete events with a known one.
 *
 * @example
 * ```ts
 * const view = (await views.get(userId)) ?? emptyUserView();
 * const before = featuresAt(view, event.ts, profileAsOf(history, event.ts));
 * foldInteraction(view, event, watchFraction(event, attrs?.duration_s), attrs?.categories ?? [], scratch);
 * views.put(userId, view);
 * ```
 */
import { avroCodec } from '../../runtime/state/codecs/avro-codec.js';
import type { ValueCodec } from '../../runtime/state/store.js';
import {
  INTERACTION_TYPE_SYMBOLS,
  type Interaction,
  type RecentItem,
  type UserFeatures,
} from '../../schemas/generated/types.js';
import { addScaled, factorsBetween, rescale, UNIT_FACTORS } from '../math/decay.js';
import { affinityWeight, TYPE_COUNT, TYPE_INDEX } from '../math/interactions.js';
import { addToSortedMap } from '../math/sorted-map.js';
import type { ProfileVersion } from './attributes.js';

export const USER_VIEW_STORE = 'user-view';
export const MAX_RECENT_ITEMS = 20;
export const SESSION_GAP_MS = 30 * 60 * 1000;

/** An interaction not yet folded, kept for serving. */
export interface PendingInteraction {
  event_id: string;
  item_id: string;
  /** Index in INTERACTION_TYPE_SYMBOLS. */
  type: number;
  ts: number;
  value: number | null;
  watch_ms: number | null;
}

export interface UserView {
  /** Event time of the latest folded interaction; null before the first. */
  ref_ts: number | null;
  event_count: number;
  /** Undecayed count per interaction type, in schema order. */
  type_totals: number[];
  /** hl_1h, hl_1d, hl_7d per interaction type (3 per type, schema order), as of ref_ts. */
  type_decayed: number[];
  /** Shared with the features emitted: entries are replaced, never changed. */
  recent: RecentItem[];
  /** 7-day decayed positive weight per category, as of ref_ts; keys in sorted order (`addToSortedMap`). */
  affinity: Record<string, number>;
  watch_sum: number;
  watch_count: number;
  session_count: number;
  session_start_ts: number | null;
  session_events: number;
  pending: PendingInteraction[];
}

export function emptyUserView(): UserView {
  return {
    ref_ts: null,
    event_count: 0,
    type_totals: new Array<number>(TYPE_COUNT).fill(0),
    type_decayed: new Array<number>(TYPE_COUNT * 3).fill(0),
    recent: [],
    affinity: {},
    watch_sum: 0,
    watch_count: 0,
    session_count: 0,
    session_start_ts: null,
    session_events: 0,
    pending: [],
  };
}

/** Store `user-view`: Avro, maps written in key order, so equal views have equal bytes. */
export const userViewCodec: ValueCodec<UserView> = avroCodec<UserView>(
  {
    type: 'record',
    name: 'UserView',
    namespace: 'rec.state',
    fields: [
      { name: 'ref_ts', type: ['null', 'long'] },
      { name: 'event_count', type: 'long' },
      { name: 'type_totals', type: { type: 'array', items: 'long' } },
      { name: 'type_decayed', type: { type: 'array', items: 'double' } },
      {
        name: 'recent',
        type: {
          type: 'array',
          items: {
            type: 'record',
            name: 'RecentItem',
            fields: [
              { name: 'item_id', type: 'string' },
              { name: 'type', type: 'string' },
              { name: 'ts', type: 'long' },
              { name: 'watch_fraction', type: ['null', 'double'] },
            ],
          },
        },
      },
      { name: 'affinity', type: { type: 'map', values: 'double' } },
      { name: 'watch_sum', type: 'double' },
      { name: 'watch_count', type: 'long' },
      { name: 'session_count', type: 'long' },
      { name: 'session_start_ts', type: ['null', 'long'] },
      { name: 'session_events', type: 'long' },
      {
        name: 'pending',
        type: {
          type: 'array',
          items: {
            type: 'record',
            name: 'PendingInteraction',
            fields: [
              { name: 'event_id', type: 'string' },
              { name: 'item_id', type: 'string' },
              { name: 'type', type: 'int' },
              { name: 'ts', type: 'long' },
              { name: 'value', type: ['null', 'double'] },
              { name: 'watch_ms', type: ['null', 'long'] },
            ],
          },
        },
      },
    ],
  },
  { topLevelMaps: ['affinity'] },
);

/**
 * Folds one interaction into the view, in place. An interaction at or after
 * `ref_ts` moves the view to its time; an older (late) one is added at its
 * decayed weight and does not change sessions.
 */
export function foldInteraction(
  view: UserView,
  event: Interaction,
  wf: number | null,
  categories: readonly string[],
  scratch: Float64Array,
): void {
  const ts = event.ts;
  const type = TYPE_INDEX.get(event.type)!;
  const previous = view.ref_ts;
  let weights: Float64Array = UNIT_FACTORS;
  if (previous === null || ts >= previous) {
    if (previous !== null && ts > previous) {
      const f = factorsBetween(previous, ts, scratch);
      for (let t = 0; t < TYPE_COUNT; t++) if (view.type_totals[t]! > 0) rescale(view.type_decayed, t * 3, f);
      for (const c in view.affinity) view.affinity[c] = view.affinity[c]! * f[2]!;
    }
    if (previous === null || ts - previous > SESSION_GAP_MS) {
      view.session_count++;
      view.session_start_ts = ts;
      view.session_events = 1;
    } else {
      view.session_events++;
    }
    view.ref_ts = ts;
  } else {
    weights = factorsBetween(ts, previous, scratch);
  }
  addScaled(view.type_decayed, type * 3, 1, weights);
  view.type_totals[type] = view.type_totals[type]! + 1;
  view.event_count++;
  const affinity = affinityWeight(event, wf);
  if (affinity > 0 && categories.length > 0) {
    const share = (affinity / categories.length) * weights[2]!;
    for (const c of categories) view.affinity = addToSortedMap(view.affinity, c, share);
  }
  if ((event.type === 'view' || event.type === 'complete') && wf !== null) {
    view.watch_sum += wf;
    view.watch_count++;
  }
  if (event.type !== 'impression')
    rememberRecent(view.recent, { item_id: event.item_id, type: event.type, ts, watch_fraction: wf });
}

/** Keeps the latest interaction per item, newest first; a late one goes behind entries as new or newer. */
function rememberRecent(recent: RecentItem[], entry: RecentItem): void {
  const ts = entry.ts;
  const existing = recent.findIndex((r) => r.item_id === entry.item_id);
  if (existing >= 0) {
    if (recent[existing]!.ts > ts) return;
    recent.splice(existing, 1);
  }
  let at = 0;
  while (at < recent.length && recent[at]!.ts > ts) at++;
  if (at >= MAX_RECENT_ITEMS) return;
  recent.splice(at, 0, entry);
  if (recent.length > MAX_RECENT_ITEMS) recent.length = MAX_RECENT_ITEMS;
}

/** The user's features for an interaction at `t`, from a view holding only earlier interactions. */
export function featuresAt(
  view: UserView | undefined,
  t: number,
  profile: ProfileVersion | undefined,
  scratch: Float64Array = new Float64Array(3),
): UserFeatures {
  const features: UserFeatures = {
    event_count: 0,
    recent_items: [],
    decayed_counts: {},
    category_affinity: {},
    mean_watch_fraction: null,
    session_count: 0,
    session_events: 0,
    session_start_ts: null,
    last_active_ts: null,
    country: profile?.country ?? null,
    language: profile?.language ?? null,
    age_bucket: profile?.age_bucket ?? null,
  };
  const ref = view?.ref_ts ?? null;
  if (view === undefined || ref === null) return features;
  const f = factorsBetween(ref, Math.max(ref, t), scratch);
  features.event_count = view.event_count;
  for (let i = 0; i < TYPE_COUNT; i++) {
    const total = view.type_totals[i]!;
    if (total === 0) continue;
    features.decayed_counts[INTERACTION_TYPE_SYMBOLS[i]!] = {
      total,
      hl_1h: view.type_decayed[i * 3]! * f[0]!,
      hl_1d: view.type_decayed[i * 3 + 1]! * f[1]!,
      hl_7d: view.type_decayed[i * 3 + 2]! * f[2]!,
    };
  }
  let sum = 0;
  for (const c in view.affinity) sum += view.affinity[c]!;
  if (sum > 0) for (const c in view.affinity) features.category_affinity[c] = view.affinity[c]! / sum;
  if (view.watch_count > 0) features.mean_watch_fraction = view.watch_sum / view.watch_count;
  features.session_count = view.session_count;
  if (t - ref <= SESSION_GAP_MS) {
    features.session_events = view.session_events;
    features.session_start_ts = view.session_start_ts;
  }
  features.last_active_ts = ref;
  // A copy of the list, not of its entries: the view replaces entries and never changes one.
  features.recent_items = view.recent.slice();
  return features;
}
