/**
 * An independent, deliberately plain reference for the point-in-time test:
 * given every raw record (interactions, user and item versions), it
 * recomputes an interaction's user features, item features and labels from
 * the definitions in the schema docs, looking only at interactions with an
 * earlier event time. It shares no code with the processors: it filters
 * and sums over the whole raw history for every call, with the closed-form
 * decay `sum of 2^(-(t - ts_i) / h)` instead of incremental folding.
 *
 * @example
 * ```ts
 * const reference = new ReferenceFeatures(world, { labelWindowMs: 1_800_000 });
 * const expected = reference.example(interaction); // { user, item, labels } or undefined (opted out)
 * ```
 */
import type {
  DecayedCounts,
  Interaction,
  Item,
  ItemFeatures,
  RecentItem,
  TrainingLabels,
  User,
  UserFeatures,
} from '../schemas/generated/types.js';

const HALF_LIVES = [3_600_000, 86_400_000, 604_800_000];
const SESSION_GAP_MS = 1_800_000;
const RECENT = 20;
const CLICK_THROUGH = ['click', 'view', 'complete', 'like', 'add_to_list', 'share', 'rate'];
const WEIGHT: Record<string, number> = {
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

export interface RawWorld {
  readonly interactions: readonly Interaction[];
  /** Every rec.users value, in the order each user's partition holds them. */
  readonly users: readonly User[];
  /** Every rec.items value, in log order per item. */
  readonly items: readonly Item[];
}

function byTimeThenId(a: Interaction, b: Interaction): number {
  if (a.ts !== b.ts) return a.ts - b.ts;
  return Buffer.compare(Buffer.from(a.event_id), Buffer.from(b.event_id));
}

function decay(t: number, ts: number, h: number): number {
  return 2 ** (-(t - ts) / h);
}

/** The newest version with updated_ts <= t; of equal times, the one written last. */
function versionAsOf<T extends { updated_ts: number }>(versions: readonly T[], t: number): T | undefined {
  let best: T | undefined;
  for (const v of versions)
    if (v.updated_ts <= t && (best === undefined || v.updated_ts >= best.updated_ts)) best = v;
  return best;
}

function newest<T extends { updated_ts: number }>(versions: readonly T[]): T | undefined {
  return versionAsOf(versions, Number.POSITIVE_INFINITY);
}

function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function distinctEstimate(userIds: Iterable<string>): number {
  const registers = new Array<number>(256).fill(0);
  for (const id of userIds) {
    const h = hash(id);
    const rest = h & 0xffffff;
    let rank = 1;
    for (let bit = 23; bit >= 0 && (rest & (1 << bit)) === 0; bit--) rank++;
    registers[h >>> 24] = Math.max(registers[h >>> 24]!, rank);
  }
  const zeros = registers.filter((r) => r === 0).length;
  const raw = ((0.7213 / (1 + 1.079 / 256)) * 256 * 256) / registers.reduce((s, r) => s + 2 ** -r, 0);
  if (raw <= 2.5 * 256 && zeros > 0) return Math.round(256 * Math.log(256 / zeros));
  return Math.round(raw);
}

export class ReferenceFeatures {
  private readonly usersById = new Map<string, User[]>();
  private readonly itemsById = new Map<string, Item[]>();
  private readonly byUser = new Map<string, Interaction[]>();
  private readonly byItem = new Map<string, Interaction[]>();

  constructor(
    world: RawWorld,
    private readonly options: { readonly labelWindowMs: number },
  ) {
    for (const u of world.users) this.usersById.set(u.user_id, [...(this.usersById.get(u.user_id) ?? []), u]);
    for (const i of world.items) this.itemsById.set(i.item_id, [...(this.itemsById.get(i.item_id) ?? []), i]);
    for (const e of [...world.interactions].sort(byTimeThenId)) {
      this.byUser.set(e.user_id, [...(this.byUser.get(e.user_id) ?? []), e]);
      this.byItem.set(e.item_id, [...(this.byItem.get(e.item_id) ?? []), e]);
    }
  }

  /** Whether the user's interaction at `t` is kept out of features and training. */
  optedOut(userId: string, t: number): boolean {
    const versions = this.usersById.get(userId) ?? [];
    return newest(versions)?.opt_out === true || versionAsOf(versions, t)?.opt_out === true;
  }

  catalogAsOf(itemId: string, t: number): Item | undefined {
    return versionAsOf(this.itemsById.get(itemId) ?? [], t);
  }

  watchFraction(e: Interaction): number | null {
    if (!['view', 'complete', 'skip'].includes(e.type)) return null;
    if (e.type !== 'skip' && e.value !== null) return Math.min(1, Math.max(0, e.value));
    const duration = this.catalogAsOf(e.item_id, e.ts)?.duration_s ?? null;
    if (e.watch_ms !== null && duration !== null && duration > 0)
      return Math.min(1, Math.max(0, e.watch_ms / (duration * 1000)));
    return e.type === 'complete' ? 1 : null;
  }

  labels(e: Interaction): TrainingLabels {
    const wf = this.watchFraction(e);
    let label = 1;
    if (e.type === 'view') label = wf ?? 1;
    if (e.type === 'rate') label = Math.min(1, Math.max(0, (e.value ?? 0) / 5));
    if (['dislike', 'skip', 'impression'].includes(e.type)) label = 0;
    return {
      label,
      positive: label >= 0.5,
      weight: WEIGHT[e.type]!,
      rating: e.type === 'rate' ? e.value : null,
      watch_fraction: wf,
      clicked: null,
      click_delay_ms: null,
    };
  }

  /** For an impression: the delay to the click-through that labels it, null when none does. */
  impressionClickDelay(impression: Interaction): number | null {
    const window = this.options.labelWindowMs;
    const pending: Interaction[] = [];
    for (const e of this.byUser.get(impression.user_id) ?? []) {
      if (e.item_id !== impression.item_id || this.optedOut(e.user_id, e.ts)) continue;
      if (e.type === 'impression') {
        pending.push(e);
        continue;
      }
      if (!CLICK_THROUGH.includes(e.type)) continue;
      const candidates = pending.filter((p) => p.ts < e.ts && p.ts >= e.ts - window);
      const joined = candidates.at(-1);
      if (joined === undefined) continue;
      pending.splice(pending.indexOf(joined), 1);
      if (joined === impression) return e.ts - impression.ts;
    }
    return null;
  }

  userFeatures(userId: string, t: number): UserFeatures {
    const prefix = (this.byUser.get(userId) ?? []).filter((e) => e.ts < t && !this.optedOut(userId, e.ts));
    const profile = versionAsOf(this.usersById.get(userId) ?? [], t);
    const decayed: Record<string, DecayedCounts> = {};
    for (const e of prefix) {
      const d = decayed[e.type] ?? { total: 0, hl_1h: 0, hl_1d: 0, hl_7d: 0 };
      d.total++;
      d.hl_1h += decay(t, e.ts, HALF_LIVES[0]!);
      d.hl_1d += decay(t, e.ts, HALF_LIVES[1]!);
      d.hl_7d += decay(t, e.ts, HALF_LIVES[2]!);
      decayed[e.type] = d;
    }
    const latestPerItem = new Map<string, Interaction>();
    for (const e of prefix) if (e.type !== 'impression') latestPerItem.set(e.item_id, e);
    const recent: RecentItem[] = [...latestPerItem.values()]
      .sort((a, b) => byTimeThenId(b, a))
      .slice(0, RECENT)
      .map((e) => ({ item_id: e.item_id, type: e.type, ts: e.ts, watch_fraction: this.watchFraction(e) }));
    const affinity: Record<string, number> = {};
    for (const e of prefix) {
      if (e.type === 'impression') continue;
      const labels = this.labels(e);
      const categories = this.catalogAsOf(e.item_id, e.ts)?.categories ?? [];
      if (!labels.positive || categories.length === 0) continue;
      for (const c of categories)
        affinity[c] =
          (affinity[c] ?? 0) + (labels.weight / categories.length) * decay(t, e.ts, HALF_LIVES[2]!);
    }
    const total = Object.values(affinity).reduce((s, v) => s + v, 0);
    for (const c of Object.keys(affinity)) affinity[c] = affinity[c]! / total;
    const watched = prefix
      .filter((e) => e.type === 'view' || e.type === 'complete')
      .map((e) => this.watchFraction(e))
      .filter((w): w is number => w !== null);
    let sessions = 0;
    let sessionStart: number | null = null;
    let sessionEvents = 0;
    let previous: number | null = null;
    for (const e of prefix) {
      if (previous === null || e.ts - previous > SESSION_GAP_MS) {
        sessions++;
        sessionStart = e.ts;
        sessionEvents = 0;
      }
      sessionEvents++;
      previous = e.ts;
    }
    const current = previous !== null && t - previous <= SESSION_GAP_MS;
    return {
      event_count: prefix.length,
      recent_items: recent,
      decayed_counts: decayed,
      category_affinity: affinity,
      mean_watch_fraction: watched.length ? watched.reduce((s, w) => s + w, 0) / watched.length : null,
      session_count: sessions,
      session_events: current ? sessionEvents : 0,
      session_start_ts: current ? sessionStart : null,
      last_active_ts: previous,
      country: profile?.country ?? null,
      language: profile?.language ?? null,
      age_bucket: profile?.age_bucket ?? null,
    };
  }

  itemFeatures(itemId: string, t: number): ItemFeatures {
    const prefix = (this.byItem.get(itemId) ?? []).filter((e) => e.ts < t);
    const engaged = prefix.filter((e) => e.type !== 'impression');
    const count = (type: string) => prefix.filter((e) => e.type === type).length;
    const popularity = {
      total: engaged.length,
      hl_1h: engaged.reduce((s, e) => s + decay(t, e.ts, HALF_LIVES[0]!), 0),
      hl_1d: engaged.reduce((s, e) => s + decay(t, e.ts, HALF_LIVES[1]!), 0),
      hl_7d: engaged.reduce((s, e) => s + decay(t, e.ts, HALF_LIVES[2]!), 0),
    };
    const byCountry: Record<string, number> = {};
    for (const e of engaged) {
      const country = e.context.country;
      if (country !== null) byCountry[country] = (byCountry[country] ?? 0) + decay(t, e.ts, HALF_LIVES[1]!);
    }
    const ratings = prefix.filter((e) => e.type === 'rate').map((e) => e.value ?? 0);
    const catalog = this.catalogAsOf(itemId, t);
    return {
      popularity,
      impressions: count('impression'),
      clicks: count('click'),
      smoothed_ctr: Math.min(1, (count('click') + 1) / (count('impression') + 20)),
      completion_rate: Math.min(1, (count('complete') + 1) / (count('view') + 2)),
      mean_rating: ratings.length ? ratings.reduce((s, r) => s + r, 0) / ratings.length : null,
      unique_users_estimate: distinctEstimate(new Set(prefix.map((e) => e.user_id))),
      trending_score: Math.log((1 + 24 * popularity.hl_1h) / (1 + popularity.hl_1d)),
      last_interaction_ts: prefix.length ? Math.max(...prefix.map((e) => e.ts)) : null,
      popularity_by_country: byCountry,
      categories: catalog ? [...catalog.categories] : [],
      language: catalog?.language ?? null,
      duration_s: catalog?.duration_s ?? null,
      release_ts: catalog?.release_ts ?? null,
    };
  }
}

/**
 * Compares two feature values: numbers that are not whole within 1e-9 of
 * each other relative to their size (the closed form and the incremental
 * fold round differently), everything else exactly. Returns the paths that
 * differ.
 */
export function differences(actual: unknown, expected: unknown, path = ''): string[] {
  if (typeof actual === 'number' && typeof expected === 'number') {
    if (Number.isInteger(actual) && Number.isInteger(expected)) return actual === expected ? [] : [path];
    return Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected))
      ? []
      : [`${path}: ${actual} != ${expected}`];
  }
  if (actual === null || expected === null || typeof actual !== 'object' || typeof expected !== 'object')
    return Object.is(actual, expected)
      ? []
      : [`${path}: ${JSON.stringify(actual)} != ${JSON.stringify(expected)}`];
  if (Array.isArray(actual) !== Array.isArray(expected)) return [`${path}: array vs object`];
  const keys = new Set([...Object.keys(actual), ...Object.keys(expected)]);
  const out: string[] = [];
  for (const key of [...keys].sort())
    out.push(
      ...differences(
        (actual as Record<string, unknown>)[key],
        (expected as Record<string, unknown>)[key],
        `${path}.${key}`,
      ),
    );
  return out;
}
