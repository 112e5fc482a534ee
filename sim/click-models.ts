/**
 * How a simulated user turns a list into at most one click. Both models
 * read the same per-item value `v` (the user's true preference, less
 * fatigue for items shown again in the visit, plus a popularity term) and
 * differ in how the list's positions and the other items enter:
 *
 * - `choice` (multinomial logit, the simulator's default): the user weighs
 *   every item at once, `EXAMINE[k] · exp(v_k)` against `exp(NO_CLICK)` for
 *   clicking nothing, and picks one in proportion. A strong item anywhere in
 *   the list takes clicks from every other one.
 * - `cascade`: the user scans top-down; the item at k attracts them with
 *   probability `sigmoid(v_k − CASCADE_THRESHOLD)`, and they click the first
 *   one that does, or else go on to the next with probability
 *   `CASCADE_CONTINUE`. Only the items above a position take clicks from
 *   it, and the position's effect is that chain, not a fixed factor.
 *
 * The off-policy estimators' reward model (evaluation/off-policy/
 * choice-model.ts) has the `choice` form; `cascade` is the world where it
 * is wrong.
 *
 * @example
 * ```ts
 * const p = new Float64Array(6);
 * clickProbabilities('cascade', values, 6, p); // p[k] = P(the click is at k)
 * const chosen = drawClick(p, 6, rng.next());  // -1: no click
 * ```
 */

export const CLICK_MODELS = ['choice', 'cascade'] as const;
export type ClickModel = (typeof CLICK_MODELS)[number];

/** Examination probability of position k under `choice`: (1 + k)^-POSITION_DECAY. */
const POSITION_DECAY = 0.6;
export const EXAMINE: readonly number[] = Array.from({ length: 8 }, (_, k) => (1 + k) ** -POSITION_DECAY);
/** Utility of picking nothing from a slate (`choice`). */
export const NO_CLICK = 3.2;
/**
 * The value at which an item attracts half the users who look at it
 * (`cascade`); set so the closed loop's lists get about as many clicks as
 * under `choice`.
 */
export const CASCADE_THRESHOLD = 3.4;
/** Probability that a user who did not click goes on to the next position (`cascade`). */
export const CASCADE_CONTINUE = 0.8;

/**
 * Writes into `out[0, size)` the probability that the click is at each
 * position of a list whose items have values `values[0, size)`; their sum
 * is the list's click probability (at most one click).
 */
export function clickProbabilities(
  model: ClickModel,
  values: ArrayLike<number>,
  size: number,
  out: Float64Array,
): void {
  if (model === 'choice') {
    let total = Math.exp(NO_CLICK);
    for (let k = 0; k < size; k++) {
      out[k] = EXAMINE[k]! * Math.exp(values[k]!);
      total += out[k]!;
    }
    for (let k = 0; k < size; k++) out[k] = out[k]! / total;
    return;
  }
  let reach = 1;
  for (let k = 0; k < size; k++) {
    const attraction = 1 / (1 + Math.exp(CASCADE_THRESHOLD - values[k]!));
    out[k] = reach * attraction;
    reach *= (1 - attraction) * CASCADE_CONTINUE;
  }
}

/**
 * The position clicked, drawn from the probabilities with one uniform
 * `u` in [0, 1); -1 when nothing is.
 */
export function drawClick(probabilities: ArrayLike<number>, size: number, u: number): number {
  let x = u;
  for (let k = 0; k < size; k++) {
    x -= probabilities[k]!;
    if (x < 0) return k;
  }
  return -1;
}
