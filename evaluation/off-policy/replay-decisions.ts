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
 * - for DR, `modelReward` r̂(a) and `modelValue` r̂(b) from the candidate's
 *   ranker, when the caller has them for both.
 *
 * @example
 * ```ts
 * const decisions = listDecisions({ logged: served.items, clicked, candidate: ['i3', 'i9'], click });
 * estimateOffPolicy(decisions);
 * ```
 */
import type { ServedItem } from '../../schemas/generated/types.js';
import type { LoggedDecision } from './estimators.js';

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
}

/** Each position of the list as one decision, in position order. */
export function listDecisions(list: ReplayedList): LoggedDecision[] {
  const logged = [...list.logged].sort((a, b) => a.position - b.position);
  const keptAt = new Map<string, number>();
  for (const item of logged) if (item.reason !== 'explored') keptAt.set(item.item_id, item.position);
  return logged.map((item) => {
    const wanted = list.candidate[item.position];
    const reward = list.clicked.has(item.item_id) ? 1 : 0;
    const same = wanted === item.item_id;
    const moved = wanted !== undefined && (keptAt.get(wanted) ?? item.position) !== item.position;
    const unsupported = !same && wanted !== undefined && (item.propensity >= 1 || moved) ? 1 : 0;
    const modelReward = list.click?.get(item.item_id);
    const modelValue = wanted === undefined ? 0 : list.click?.get(wanted);
    return {
      propensity: item.propensity,
      reward,
      target: same ? 1 : 0,
      unsupported,
      ...(modelReward !== undefined && modelValue !== undefined ? { modelReward, modelValue } : {}),
    };
  });
}
