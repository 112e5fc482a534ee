/**
 * The decisions of one served list, seen from a candidate ranking: each
 * (list, position) is one `LoggedDecision` (docs/decisions.md §32) —
 *
 * - `propensity`: the logged probability μ that the logging policy put the
 *   logged item a at position p (the marginal ε-greedy exploration logs);
 * - `reward`: 1 when the list's user clicked a through, else 0;
 * - `target`: π(a, p), 1 when the candidate's deterministic page for the
 *   same request has a at p, else 0;
 * - `unsupported`: 1 when the candidate puts another item b at p that the
 *   logging policy could not have put there: the slot was not explorable
 *   (μ = 1: exploration off, or a promoted slot), or b is an item the
 *   logging policy kept on its page at another position (exploration keeps
 *   every page item at its own slot or drops it). An item from below the
 *   logging page is taken as supported; one the logging model did not
 *   retrieve at all is not, and the log cannot show which is which
 *   (docs/evaluation.md, "Off-policy evaluation of a model version");
 * - for DR, `modelReward` r̂(a) and `modelValue` r̂(b): from a choice model
 *   of the whole list (`choice`: a in the logged list, b in the candidate's
 *   page), else from the candidate's ranker when the caller has them for both.
 *
 * A list explored by Plackett–Luce (`exploration` plackett_luce) logs per
 * item the probability of its slot given the items above it, and any order
 * of its pool can come out. Its decision at p is the page's first p + 1
 * slots (docs/decisions.md §38): `propensity` the product of their logged
 * probabilities (the chance of that prefix), `target` 1 when the
 * candidate's page begins with the same items in the same order, and
 * `unsupported` only where the candidate wants another item at a slot the
 * policy could not change (propensity 1: promoted). An item of the
 * candidate outside the logging pool is again taken as supported.
 *
 * A Plackett–Luce list that logged its pool (`exploration_pool`, with the
 * `marginals` of its items computed from it: ./placement-marginals.ts) is
 * read one position at a time instead (docs/decisions.md §44): the
 * decision at p is the logged item a alone, `propensity` μ(a, p) the
 * marginal probability the policy put a at p whatever it put above,
 * `target` 1 when the candidate puts a at p, and `unsupported` 1 when the
 * candidate wants an item the pool did not hold (or another item at a
 * promoted slot). That assumes a click at p depends on the item and the
 * position, not on the rest of the list (the position-based click model);
 * in return the weights are those of one item at one slot, not of a whole
 * prefix, and the pool says exactly what the policy could place.
 *
 * @example
 * ```ts
 * const decisions = listDecisions({ logged: served.items, clicked, candidate: ['i3', 'i9'], click });
 * estimateOffPolicy(decisions);
 * ```
 */
import type { ServedItem } from '../../schemas/generated/types.js';
import type { LoggedDecision } from './estimators.js';
import type { PlacementMarginals } from './placement-marginals.js';

/** One served list and the candidate's page for the same request. */
export interface ReplayedList {
  /** The served items (with their positions and propensities). */
  readonly logged: readonly Pick<ServedItem, 'item_id' | 'position' | 'propensity' | 'reason'>[];
  /** Items of the list its user clicked through. */
  readonly clicked: ReadonlySet<string>;
  /** The candidate's deterministic page for the request, best first, as long as the logged list or shorter. */
  readonly candidate: readonly string[];
  /** The candidate ranker's click probability of the logged and candidate items; undefined without a reward model. */
  readonly click?: ReadonlyMap<string, number>;
  /**
   * DR's reward model read from a list-level choice model (./choice-model.ts)
   * instead of `click`: each logged position's click probability in the
   * logged list, and each page position's in the candidate's page.
   */
  readonly choice?: { readonly logged: ArrayLike<number>; readonly candidate: ArrayLike<number> };
  /** The policy that explored the list (`ServedRecommendations.exploration`); null or absent: ε-greedy's marginals. */
  readonly exploration?: string | null;
  /** A Plackett–Luce list's marginals, from the pool it logged; absent for a list that logged none. */
  readonly marginals?: PlacementMarginals;
}

/**
 * DR's r̂ of the logged item at its position (`index` in position order) and
 * of the candidate's item there: from the choice model where the list has
 * one, else the ranker's click probabilities, else none.
 */
function rewardModel(
  list: ReplayedList,
  index: number,
  item: ReplayedList['logged'][number],
  wanted: string | undefined,
): { modelReward?: number; modelValue?: number } {
  if (list.choice !== undefined)
    return {
      modelReward: list.choice.logged[index]!,
      modelValue: wanted === undefined ? 0 : (list.choice.candidate[item.position] ?? 0),
    };
  const modelReward = list.click?.get(item.item_id);
  const modelValue = wanted === undefined ? 0 : list.click?.get(wanted);
  return modelReward !== undefined && modelValue !== undefined ? { modelReward, modelValue } : {};
}

/** Each position of the list as one decision, in position order. */
export function listDecisions(list: ReplayedList): LoggedDecision[] {
  const logged = [...list.logged].sort((a, b) => a.position - b.position);
  if (list.exploration === 'plackett_luce')
    return list.marginals !== undefined
      ? positionDecisions(list, logged, list.marginals)
      : prefixDecisions(list, logged);
  const keptAt = new Map<string, number>();
  for (const item of logged) if (item.reason !== 'explored') keptAt.set(item.item_id, item.position);
  return logged.map((item, index) => {
    const wanted = list.candidate[item.position];
    const reward = list.clicked.has(item.item_id) ? 1 : 0;
    const same = wanted === item.item_id;
    const moved = wanted !== undefined && (keptAt.get(wanted) ?? item.position) !== item.position;
    const unsupported = !same && wanted !== undefined && (item.propensity >= 1 || moved) ? 1 : 0;
    return {
      propensity: item.propensity,
      reward,
      target: same ? 1 : 0,
      unsupported,
      ...rewardModel(list, index, item, wanted),
    };
  });
}

/** A Plackett–Luce list's decisions: each prefix of the page, weighted by its probability. */
function prefixDecisions(list: ReplayedList, logged: ReplayedList['logged']): LoggedDecision[] {
  let prefix = 1;
  let agrees = true;
  return logged.map((item, index) => {
    const wanted = list.candidate[item.position];
    const same = wanted === item.item_id;
    prefix *= item.propensity;
    agrees &&= same;
    return {
      propensity: prefix,
      reward: list.clicked.has(item.item_id) ? 1 : 0,
      target: agrees ? 1 : 0,
      unsupported: !same && wanted !== undefined && item.propensity >= 1 ? 1 : 0,
      ...rewardModel(list, index, item, wanted),
    };
  });
}

/** A Plackett–Luce list's decisions from its pool: each position's item at its marginal probability. */
function positionDecisions(
  list: ReplayedList,
  logged: ReplayedList['logged'],
  marginals: PlacementMarginals,
): LoggedDecision[] {
  let slot = 0;
  return logged.map((item, index) => {
    const wanted = list.candidate[item.position];
    const same = wanted === item.item_id;
    const promoted = item.reason === 'promoted';
    const drawn = promoted ? -1 : slot++;
    const supported = wanted === undefined || same || (!promoted && marginals.at(wanted, drawn) > 0);
    return {
      propensity: promoted ? 1 : marginals.at(item.item_id, drawn),
      reward: list.clicked.has(item.item_id) ? 1 : 0,
      target: same ? 1 : 0,
      unsupported: supported ? 0 : 1,
      ...rewardModel(list, index, item, wanted),
    };
  });
}
