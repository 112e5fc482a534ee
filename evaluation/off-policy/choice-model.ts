/**
 * A list-level click model for DR's reward model: the user chooses at most
 * one item of a list, or none, with multinomial-logit probabilities
 *
 *   P(k | list) = exp(u_k) / (exp(c) + Σ_j exp(u_j)),
 *   u_k = α · logit(p̂_k) + β_position(k) − γ · shown_k,
 *
 * where p̂_k is the ranker's click probability of the item at position k,
 * `shown_k` how many earlier lists of the user's session already held it,
 * and α, c, γ and the position terms β (β_0 = 0; positions from
 * `POSITION_TERMS − 1` on share one) are fitted to a window's logged lists
 * and their clicks by maximum likelihood (Newton's method; the
 * log-likelihood is concave in them).
 *
 * Why not the ranker's probability alone: an item's chance of a click
 * depends on what else the list holds (a user picks among them) and on how
 * often the user has already seen it. Explored lists hold weaker, more
 * varied items than a model's own page, so each of the page's items clicks
 * more there than on the page; a reward model that ignores the list carries
 * that difference into DR (docs/decisions.md §46).
 *
 * @example
 * ```ts
 * const model = ChoiceModel.fit([{ probabilities: [0.2, 0.1], shown: [0, 1], clicks: [0] }]);
 * model.clickProbabilities([0.3, 0.05], [0, 0]); // one probability per position
 * ```
 */

/** One logged list as the choice model reads it, positions in served order. */
export interface ChoiceList {
  /** The ranker's click probability of each position's item. */
  readonly probabilities: readonly number[];
  /** How many earlier lists of the user's session held each position's item. */
  readonly shown: readonly number[];
  /** The positions the user clicked (each one choice); empty when the user clicked nothing. */
  readonly clicks: readonly number[];
}

/** The fitted parameters, for reports. */
export interface ChoiceParameters {
  /** Weight of the ranker's logit. */
  readonly scale: number;
  /** Utility of clicking nothing. */
  readonly noClick: number;
  /** Utility an item loses each time it was already shown in the session. */
  readonly fatigue: number;
  /** Utility of each position against the first (index 0 is 0). */
  readonly position: readonly number[];
  /** Choices (clicks and lists without one) the fit read. */
  readonly choices: number;
}

/** Position terms fitted separately; later positions share the last. */
export const POSITION_TERMS = 10;
/** Parameters: scale, no-click, fatigue, then positions 1 … POSITION_TERMS − 1. */
const DIM = 3 + POSITION_TERMS - 1;
/** A weak Gaussian prior on every parameter, so a position no one clicked keeps a finite term. */
const RIDGE = 1e-2;
const MAX_ITERATIONS = 100;

function logit(p: number): number {
  const q = Math.min(Math.max(p, 1e-6), 1 - 1e-6);
  return Math.log(q / (1 - q));
}

/** Feature vector of the item at `position` (the no-click option's is the unit vector of `c`). */
function features(probability: number, shown: number, position: number, into: Float64Array): Float64Array {
  into.fill(0);
  into[0] = logit(probability);
  into[2] = -shown;
  const term = Math.min(position, POSITION_TERMS - 1);
  if (term > 0) into[2 + term] = 1;
  return into;
}

function utilities(theta: Float64Array, list: Pick<ChoiceList, 'probabilities' | 'shown'>): Float64Array {
  const x = new Float64Array(DIM);
  const u = new Float64Array(list.probabilities.length);
  for (let k = 0; k < u.length; k++) {
    features(list.probabilities[k]!, list.shown[k] ?? 0, k, x);
    let s = 0;
    for (let d = 0; d < DIM; d++) s += theta[d]! * x[d]!;
    u[k] = s;
  }
  return u;
}

/** Click probability of each position, and the no-click one, under `theta`. */
function choiceProbabilities(theta: Float64Array, u: Float64Array): { items: Float64Array; none: number } {
  let top = theta[1]!;
  for (const v of u) top = Math.max(top, v);
  let total = Math.exp(theta[1]! - top);
  const items = new Float64Array(u.length);
  for (let k = 0; k < u.length; k++) {
    items[k] = Math.exp(u[k]! - top);
    total += items[k]!;
  }
  for (let k = 0; k < u.length; k++) items[k]! /= total;
  return { items, none: Math.exp(theta[1]! - top) / total };
}

/** Penalised log-likelihood, gradient and Hessian of the lists at `theta`. */
function objective(theta: Float64Array, lists: readonly ChoiceList[]) {
  let value = 0;
  const gradient = new Float64Array(DIM);
  const hessian = Array.from({ length: DIM }, () => new Float64Array(DIM));
  const x = new Float64Array(DIM);
  const mean = new Float64Array(DIM);
  for (const list of lists) {
    const n = list.probabilities.length;
    if (n === 0) continue;
    const u = utilities(theta, list);
    const { items, none } = choiceProbabilities(theta, u);
    const chosen = list.clicks.filter((k) => k >= 0 && k < n);
    const count = Math.max(chosen.length, 1);
    // The Hessian is −count · Cov(features) under the choice probabilities: E[x xᵀ] is added into it
    // item by item (the no-click option's unit vector included), E[x] E[x]ᵀ once the mean is known.
    mean.fill(0);
    mean[1] = none;
    hessian[1]![1]! -= count * none;
    for (let k = 0; k < n; k++) {
      features(list.probabilities[k]!, list.shown[k] ?? 0, k, x);
      const p = items[k]!;
      for (let a = 0; a < DIM; a++) {
        if (x[a] === 0) continue;
        mean[a]! += p * x[a]!;
        for (let b = 0; b < DIM; b++) hessian[a]![b]! -= count * p * x[a]! * x[b]!;
      }
    }
    if (chosen.length === 0) {
      value += Math.log(Math.max(none, 1e-300));
      gradient[1]! += 1;
    }
    for (const k of chosen) {
      value += Math.log(Math.max(items[k]!, 1e-300));
      features(list.probabilities[k]!, list.shown[k] ?? 0, k, x);
      for (let a = 0; a < DIM; a++) gradient[a]! += x[a]!;
    }
    for (let a = 0; a < DIM; a++) {
      gradient[a]! -= count * mean[a]!;
      for (let b = 0; b < DIM; b++) hessian[a]![b]! += count * mean[a]! * mean[b]!;
    }
  }
  for (let a = 0; a < DIM; a++) {
    value -= (RIDGE / 2) * theta[a]! ** 2;
    gradient[a]! -= RIDGE * theta[a]!;
    hessian[a]![a]! -= RIDGE;
  }
  return { value, gradient, hessian };
}

/** Solves `matrix · x = vector` by Gaussian elimination with partial pivoting (small, dense). */
function solve(matrix: Float64Array[], vector: Float64Array): Float64Array {
  const n = vector.length;
  const a = matrix.map((row, i) => Float64Array.from([...row, vector[i]!]));
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r]![col]!) > Math.abs(a[pivot]![col]!)) pivot = r;
    [a[col], a[pivot]] = [a[pivot]!, a[col]!];
    for (let r = col + 1; r < n; r++) {
      const f = a[r]![col]! / a[col]![col]!;
      for (let c = col; c <= n; c++) a[r]![c]! -= f * a[col]![c]!;
    }
  }
  const x = new Float64Array(n);
  for (let r = n - 1; r >= 0; r--) {
    let s = a[r]![n]!;
    for (let c = r + 1; c < n; c++) s -= a[r]![c]! * x[c]!;
    x[r] = s / a[r]![r]!;
  }
  return x;
}

/** The multinomial-logit click model of a window's lists. */
export class ChoiceModel {
  private constructor(
    private readonly theta: Float64Array,
    readonly choices: number,
  ) {}

  /**
   * Fits the model to `lists` by Newton's method with a halving line search.
   * Throws a RangeError naming the problem when there is nothing to fit.
   */
  static fit(lists: readonly ChoiceList[]): ChoiceModel {
    const used = lists.filter((list) => list.probabilities.length > 0);
    if (used.length === 0) throw new RangeError('a choice model needs at least one list with items');
    const choices = used.reduce((n, list) => n + Math.max(list.clicks.length, 1), 0);
    const theta = new Float64Array(DIM);
    theta[0] = 1;
    theta[1] = Math.log(POSITION_TERMS);
    let current = objective(theta, used);
    for (let iteration = 0; iteration < MAX_ITERATIONS; iteration++) {
      // Newton's step on a concave objective: solve (−H) step = g.
      const step = solve(
        current.hessian.map((row) => row.map((v) => -v)),
        current.gradient,
      );
      let size = 1;
      let next = current;
      let candidate = theta;
      for (; size > 1e-6; size /= 2) {
        candidate = theta.map((v, d) => v + size * step[d]!);
        next = objective(candidate, used);
        if (next.value >= current.value) break;
      }
      if (size <= 1e-6) break;
      const moved = step.reduce((m, v) => Math.max(m, Math.abs(v * size)), 0);
      theta.set(candidate);
      current = next;
      if (moved < 1e-9) break;
    }
    return new ChoiceModel(theta, choices);
  }

  /** Each position's click probability for a list of items with these ranker probabilities and session shows. */
  clickProbabilities(probabilities: readonly number[], shown: readonly number[]): Float64Array {
    return choiceProbabilities(this.theta, utilities(this.theta, { probabilities, shown })).items;
  }

  get parameters(): ChoiceParameters {
    return {
      scale: this.theta[0]!,
      noClick: this.theta[1]!,
      fatigue: this.theta[2]!,
      position: [0, ...this.theta.slice(3)],
      choices: this.choices,
    };
  }
}
