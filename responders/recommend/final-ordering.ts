/**
 * The final ordering of a served list, applied after diversity, per
 * experiment variant (its `ordering` overrides on top of the responder's
 * `RECSTREAM_SERVE_*` defaults):
 *
 * 1. **Freshness boost**: an item whose catalog `release_ts` is within
 *    `freshnessWindowMs` of the request gets `freshnessBoost` added to its
 *    score and moves up past the items it now outscores. The fresh and the
 *    other items each keep their order among themselves (a merge of the
 *    two sequences by score), so what diversity deferred stays deferred.
 *    The list given may run past `k` (the diversified candidates), so a
 *    fresh item from below the page can enter it. An item that ends higher
 *    than it started says `boosted`.
 * 2. **Promoted slots**: each active promotion of `rec.promotions`
 *    (`start_ts <= now < end_ts`) puts its item at its `position` (last on
 *    a shorter list), in position order, said `promoted`. The filters still
 *    hold: an item that is unknown, unavailable, already seen, excluded by
 *    the caller, or `mature` for a user in the 13-17 bucket is not forced
 *    in; when what the user has seen is not known (the online store did not
 *    answer) no promotion is placed.
 * 3. **Exploration**, by the `explorationPolicy`. `epsilon_greedy`
 *    (./exploration.ts), when `explorationEpsilon` is above 0: each slot that is not promoted is, with that probability, filled by
 *    an item drawn from the candidates below the page that pass the same
 *    filters as a promotion, an item released within the freshness window
 *    `explorationFreshWeight` times likelier than another; said `explored`.
 *    `plackett_luce` (./plackett-luce.ts), when `explorationTemperature` is
 *    above 0: the slots that are not promoted are drawn without replacement
 *    from the top `explorationPoolSize` candidates (the page's and, below
 *    it, those passing the same filters) by softmax(score / temperature).
 *    The draws come from a generator seeded by the request's `seed`, so a
 *    request's list can be reproduced. Nothing is drawn in when what the
 *    user has seen is not known, and the page then says it was not
 *    explored (`exploration` null).
 *
 * Each item's `propensity` is the probability the policy placed it at its
 * position (ε-greedy: the marginal one; Plackett–Luce: given the items
 * above it): 1 for every item while exploration is off, and for promoted
 * slots. A Plackett–Luce page also gives the pool it was drawn from, with
 * each item's logit (`ServedRecommendations.exploration_pool`).
 *
 * @example
 * ```ts
 * const settings = orderingFor(defaults, assignment?.variant.ordering);
 * const page = finalOrder({ items, k: 10, now, settings, catalog, promotions: slots.active(now), seen, minor: false });
 * page.items[0].reason; // 'promoted' | 'boosted' | 'retrieved' | 'fallback'
 * ```
 */
import type { Item, OrderingOverrides, Promotion, ServedReason } from '../../schemas/generated/types.js';
import { ADULT_ONLY } from './candidate-lists.js';
import { explore } from './exploration.js';
import type { LiveTable } from './live-table.js';
import { type DrawnPage, plackettLuce } from './plackett-luce.js';
import { requestRandom } from './request-random.js';

/** How a page is explored (`ServedRecommendations.exploration`). */
export type ExplorationPolicy = 'epsilon_greedy' | 'plackett_luce';

/** A variant's final-ordering settings, resolved. */
export interface OrderingSettings {
  /** Added to a fresh item's score; 0 turns the boost off. */
  readonly freshnessBoost: number;
  readonly freshnessWindowMs: number;
  /** Whether promoted slots are placed. */
  readonly promotions: boolean;
  /** Diversity: the share of a page that may share a first category. */
  readonly maxCategoryShare: number;
  /** Exploration: the chance, in [0, 1), that a slot that is not promoted is filled from below the page; 0 turns it off. */
  readonly explorationEpsilon: number;
  /** Exploration: how many times likelier an item released within the freshness window is drawn, at least 1 (ε-greedy). */
  readonly explorationFreshWeight: number;
  /** Exploration: which policy explores. */
  readonly explorationPolicy: ExplorationPolicy;
  /** Plackett–Luce: the softmax temperature over the scores; 0 turns it off. */
  readonly explorationTemperature: number;
  /** Plackett–Luce: how many of the ranked candidates the page is drawn from. */
  readonly explorationPoolSize: number;
}

/** The responder's final-ordering defaults before `RECSTREAM_SERVE_*`: no boost, promotions on, share 0.5, no exploration. */
export const DEFAULT_ORDERING: OrderingSettings = {
  freshnessBoost: 0,
  freshnessWindowMs: 7 * 24 * 3_600_000,
  promotions: true,
  maxCategoryShare: 0.5,
  explorationEpsilon: 0,
  explorationFreshWeight: 2,
  explorationPolicy: 'epsilon_greedy',
  explorationTemperature: 0,
  explorationPoolSize: 20,
};

/**
 * The policy that explores under `settings`; null when they explore nothing.
 *
 * @example
 * ```ts
 * explorationOf({ ...settings, explorationPolicy: 'plackett_luce', explorationTemperature: 0.5 }); // 'plackett_luce'
 * ```
 */
export function explorationOf(settings: OrderingSettings): ExplorationPolicy | null {
  if (settings.explorationPolicy === 'plackett_luce')
    return settings.explorationTemperature > 0 ? 'plackett_luce' : null;
  return settings.explorationEpsilon > 0 ? 'epsilon_greedy' : null;
}

/** One item of a list on its way out. */
export interface RankedItem {
  readonly item_id: string;
  readonly score: number;
  readonly reason: ServedReason;
  /** Probability the policy placed it at its position: 1 unless exploration placed it or could have replaced it. */
  readonly propensity: number;
}

export interface FinalOrderingInput {
  /** The list after diversity, best first; may be longer than `k`. */
  readonly items: readonly RankedItem[];
  readonly k: number;
  readonly now: number;
  readonly settings: OrderingSettings;
  readonly catalog: { get(itemId: string): Item | undefined };
  /** Active promotions by position; empty or undefined for none. */
  readonly promotions?: readonly Promotion[];
  /** What the user has seen; undefined when unknown (no promotion is forced in then). */
  readonly seen: ReadonlySet<string> | undefined;
  readonly exclude?: ReadonlySet<string>;
  /** The user is in the 13-17 bucket: `mature` items are not forced in. */
  readonly minor: boolean;
  /** Seeds the exploration's draws (the request id); needed when the settings explore. */
  readonly seed?: string;
}

/**
 * A variant's settings: each override that is set replaces the default.
 *
 * @example
 * ```ts
 * orderingFor(defaults, { freshness_boost: 2, freshness_window_ms: null, promotions: false, max_category_share: null,
 *   exploration_epsilon: 0.05, exploration_fresh_weight: null });
 * ```
 */
export function orderingFor(
  defaults: OrderingSettings,
  overrides: OrderingOverrides | null | undefined,
): OrderingSettings {
  if (overrides === null || overrides === undefined) return defaults;
  return {
    freshnessBoost: overrides.freshness_boost ?? defaults.freshnessBoost,
    freshnessWindowMs: overrides.freshness_window_ms ?? defaults.freshnessWindowMs,
    promotions: overrides.promotions ?? defaults.promotions,
    maxCategoryShare: overrides.max_category_share ?? defaults.maxCategoryShare,
    explorationEpsilon: overrides.exploration_epsilon ?? defaults.explorationEpsilon,
    explorationFreshWeight: overrides.exploration_fresh_weight ?? defaults.explorationFreshWeight,
    explorationPolicy:
      (overrides.exploration_policy as ExplorationPolicy | null) ?? defaults.explorationPolicy,
    explorationTemperature: overrides.exploration_temperature ?? defaults.explorationTemperature,
    explorationPoolSize: overrides.exploration_pool_size ?? defaults.explorationPoolSize,
  };
}

/** A final page: its items, the policy that explored it and the Plackett–Luce pool it was drawn from. */
export interface FinalPage extends DrawnPage {
  /** Null when nothing explored the page: exploration off, or what the user has seen unknown. */
  readonly exploration: ExplorationPolicy | null;
}

/**
 * Applies the freshness boost and the promoted slots, cuts the list to
 * `k` and explores it.
 *
 * @throws RangeError when the settings explore and no `seed` is given
 */
export function finalOrder(input: FinalOrderingInput): FinalPage {
  const boosted = boost(input);
  let page = boosted.slice(0, input.k);
  if (input.settings.promotions && input.promotions !== undefined && input.promotions.length > 0)
    placePromotions(page, input);
  if (page.length > input.k) page = page.slice(0, input.k);
  const policy = explorationOf(input.settings);
  if (policy === null) return { items: page, pool: null, exploration: null };
  if (input.seed === undefined) throw new RangeError("exploration needs the request's seed");
  if (input.seen === undefined) return { items: page, pool: null, exploration: null };
  return { ...explorePage(page, boosted, input, input.seed), exploration: policy };
}

function explorePage(
  page: RankedItem[],
  ranked: readonly RankedItem[],
  input: FinalOrderingInput,
  seed: string,
): DrawnPage {
  if (input.settings.explorationPolicy === 'plackett_luce')
    return plackettLuce(page, ranked, {
      temperature: input.settings.explorationTemperature,
      poolSize: input.settings.explorationPoolSize,
      eligible: (item) => mayForce(item.item_id, input),
      random: requestRandom(seed),
    });
  const onPage = new Set(page.map((item) => item.item_id));
  const pool = ranked.filter((item) => !onPage.has(item.item_id) && mayForce(item.item_id, input));
  const { explorationEpsilon: epsilon, explorationFreshWeight: freshWeight } = input.settings;
  const items = explore(page, pool, {
    epsilon,
    weight: (item) => (isFresh(item.item_id, input) ? freshWeight : 1),
    random: requestRandom(seed),
  });
  return { items, pool: null };
}

/** Released within the freshness window before the request (not in the future). */
function isFresh(itemId: string, input: FinalOrderingInput): boolean {
  const released = input.catalog.get(itemId)?.release_ts;
  return (
    released !== undefined &&
    released !== null &&
    released >= input.now - input.settings.freshnessWindowMs &&
    released <= input.now
  );
}

function boost(input: FinalOrderingInput): RankedItem[] {
  const { items, settings } = input;
  if (settings.freshnessBoost <= 0) return items.slice();
  const fresh: { item: RankedItem; from: number }[] = [];
  const rest: { item: RankedItem; from: number }[] = [];
  items.forEach((item, from) => {
    if (isFresh(item.item_id, input))
      fresh.push({ item: { ...item, score: item.score + settings.freshnessBoost }, from });
    else rest.push({ item, from });
  });
  if (fresh.length === 0) return items.slice();
  const out: RankedItem[] = [];
  let f = 0;
  let r = 0;
  while (f < fresh.length || r < rest.length) {
    const takeFresh = r === rest.length || (f < fresh.length && fresh[f]!.item.score > rest[r]!.item.score);
    const next = takeFresh ? fresh[f++]! : rest[r++]!;
    const movedUp = takeFresh && out.length < next.from;
    out.push(movedUp ? { ...next.item, reason: 'boosted' } : next.item);
  }
  return out;
}

function placePromotions(page: RankedItem[], input: FinalOrderingInput): void {
  let lastPlaced = -1;
  for (const promotion of input.promotions!) {
    if (!mayForce(promotion.item_id, input)) continue;
    const at = page.findIndex((item) => item.item_id === promotion.item_id);
    if (at >= 0) page.splice(at, 1);
    // Two promotions for one position: the second goes right below the first.
    const position = Math.min(Math.max(promotion.position, lastPlaced + 1), page.length);
    const below = page[position] ?? page[position - 1];
    page.splice(position, 0, {
      item_id: promotion.item_id,
      score: below?.score ?? 1,
      reason: 'promoted',
      propensity: 1,
    });
    lastPlaced = position;
  }
}

/** Whether an item passes the filters for being put on a page from outside the deterministic order. */
function mayForce(itemId: string, input: FinalOrderingInput): boolean {
  if (input.seen === undefined || input.seen.has(itemId) || input.exclude?.has(itemId)) return false;
  const item = input.catalog.get(itemId);
  return item?.available === true && !(input.minor && item.maturity === ADULT_ONLY);
}

/**
 * The promoted slots of a followed `rec.promotions` table, sorted by
 * position (then item id) once per change of the table, and filtered to
 * the active ones per request.
 *
 * @example
 * ```ts
 * const slots = new PromotedSlots(LiveTable.open<Promotion>({ log, topic: PROMOTIONS_TOPIC, decode, logger }));
 * slots.active(Date.now()); // [{ item_id: 'i7', position: 0, … }]
 * ```
 */
export class PromotedSlots {
  private sorted: Promotion[] = [];

  constructor(readonly table: LiveTable<Promotion>) {
    this.resort();
    table.onChange(() => this.resort());
  }

  /** The promotions in effect at `now`, by position. */
  active(now: number): Promotion[] {
    if (this.sorted.length === 0) return this.sorted;
    return this.sorted.filter(
      (p) => (p.start_ts === null || p.start_ts <= now) && (p.end_ts === null || now < p.end_ts),
    );
  }

  private resort(): void {
    this.sorted = [...this.table.values()].sort(
      (a, b) => a.position - b.position || a.item_id.localeCompare(b.item_id),
    );
  }
}
