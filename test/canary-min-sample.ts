/**
 * How often the canary controller rolls back a candidate equal to the
 * control, by the minimum of effective users per arm it decides on: the
 * measurement `RECSTREAM_CANARY_MIN_USERS` was chosen from
 * (docs/decisions.md §51). Seeded simulated steps through the controller
 * itself (`decideCanary`, the `ctr` guardrail at the default tolerance):
 * two arms of users drawn alike, each user with their own click-through
 * (Beta, mean 5 %) and activity (log-normal, σ 1.5: the top 5 % of users
 * make about a third of the lists, as in the live canary's world); lists
 * of 6 items arrive one at a time, each by a user drawn by activity, the
 * controller deciding after each. A step ends when both arms hold
 * `STEP_IMPRESSIONS`; a rollback before is a false one.
 *
 * ```sh
 * npm run build && node dist/test/canary-min-sample.js
 * ```
 */

import { Rng } from '../lib/random.js';
import { decideCanary } from '../processors/experiment-metrics/canary.js';
import {
  addUserCounts,
  emptyFigures,
  type VariantFigures,
} from '../processors/experiment-metrics/figures.js';
import type { Experiment } from '../schemas/generated/types.js';

const STEP_IMPRESSIONS = 8000;
const ITEMS = 6;
const RUNS = Number(process.env.RUNS ?? 400);

function experiment(minUsers: number): Experiment {
  return {
    id: 'aa',
    description: '',
    status: 'running',
    salt: 'aa',
    traffic_start: 0,
    traffic_end: 1,
    variants: [
      { name: 'candidate', model: 'm@2', share: 0.5, shadow: false, ordering: null },
      { name: 'control', model: 'promoted', share: 0.5, shadow: false, ordering: null },
    ],
    primary_metric: 'ctr',
    guardrails: [{ metric: 'ctr', tolerance: 0.05 }],
    canary: {
      candidate: 'candidate',
      steps: [0.5, 1],
      step: 0,
      step_started_ts: 0,
      min_impressions: 200,
      min_users: minUsers,
      min_step_ms: 1,
    },
    reason: null,
    created_ts: 0,
    updated_ts: 0,
  };
}

function normal(rng: Rng): number {
  return Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
}

/** A Beta(a, b) draw by two Gamma draws (Marsaglia–Tsang, shape ≥ 1 after the boost). */
function beta(rng: Rng, a: number, b: number): number {
  const gamma = (shape: number): number => {
    const boost = shape < 1 ? rng.next() ** (1 / shape) : 1;
    const d = (shape < 1 ? shape + 1 : shape) - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      const x = normal(rng);
      const v = (1 + c * x) ** 3;
      if (v > 0 && Math.log(rng.next()) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v * boost;
    }
  };
  const x = gamma(a);
  return x / (x + gamma(b));
}

interface Arm {
  readonly ctr: number[];
  readonly cumulative: number[];
  readonly figures: VariantFigures;
  readonly counts: Map<number, { clicks: number; impressions: number }>;
}

function arm(rng: Rng, users: number): Arm {
  const ctr = Array.from({ length: users }, () => beta(rng, 1, 19));
  const weights = Array.from({ length: users }, () => Math.exp(1.5 * normal(rng)));
  let sum = 0;
  const cumulative = weights.map((w) => (sum += w));
  return { ctr, cumulative: cumulative.map((c) => c / sum), figures: emptyFigures(), counts: new Map() };
}

function serve(rng: Rng, a: Arm): void {
  const draw = rng.next();
  const user = Math.max(
    0,
    a.cumulative.findIndex((c) => c >= draw),
  );
  let clicks = 0;
  for (let i = 0; i < ITEMS; i++) if (rng.next() < a.ctr[user]!) clicks++;
  const before = a.counts.get(user);
  addUserCounts(a.figures, before, clicks, ITEMS);
  a.counts.set(user, {
    clicks: (before?.clicks ?? 0) + clicks,
    impressions: (before?.impressions ?? 0) + ITEMS,
  });
  a.figures.requests += 1;
  a.figures.impressions += ITEMS;
  a.figures.clicks += clicks;
}

/** How one simulated A/A step ended: rolled back, or held to its end with or without its minimum sample. */
function step(seed: number, users: number, minUsers: number): 'rollback' | 'sampled' | 'short' {
  const rng = Rng.derive(seed, 47);
  // Both arms' users are drawn from one population: equal models, different users.
  const candidate = arm(rng, users);
  const control = arm(rng, users);
  const plan = experiment(minUsers);
  while (candidate.figures.impressions < STEP_IMPRESSIONS || control.figures.impressions < STEP_IMPRESSIONS) {
    serve(rng, rng.next() < 0.5 ? candidate : control);
    const decision = decideCanary(plan, { candidate: candidate.figures, control: control.figures }, 0);
    if (decision.action === 'rollback') return 'rollback';
  }
  const last = decideCanary(plan, { candidate: candidate.figures, control: control.figures }, 1);
  return last.action === 'hold' ? 'short' : 'sampled';
}

for (const users of [100, 300, 1000])
  for (const minUsers of [0, 10, 20, 30, 50, 100]) {
    let rolledBack = 0;
    let short = 0;
    for (let seed = 0; seed < RUNS; seed++) {
      const end = step(seed, users, minUsers);
      if (end === 'rollback') rolledBack++;
      if (end === 'short') short++;
    }
    const rate = rolledBack / RUNS;
    const se = Math.sqrt((rate * (1 - rate)) / RUNS);
    console.log(
      `${users} users per arm, min_users ${minUsers}: ${rolledBack} of ${RUNS} A/A steps rolled back (${(100 * rate).toFixed(1)} % ± ${(196 * se).toFixed(1)}), ${short} ended without the minimum sample`,
    );
  }
