/**
 * Lists explored by Plackett–Luce support an estimate of any reordering of
 * their pool: served with temperature 1 over a pool of five, clicked under
 * a cascade-free position-based model, their prefix decisions
 * (./replay-decisions.ts) give IPS, SNIPS and DR estimates of a ranking
 * that moves the page's items to other slots — which ε-greedy's log cannot
 * support — and the estimates' 95 % intervals hold its value in closed form.
 * Read position by position, each item at its marginal probability from
 * the pool the list logged, the same lists hold it with a far larger
 * effective sample size.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../lib/random.js';
import { finalOrder, type RankedItem } from '../../responders/recommend/final-ordering.js';
import { catalogItem, NOW } from '../../responders/recommend/items.fixture.js';
import { requestRandom } from '../../responders/recommend/request-random.js';
import type { Item } from '../../schemas/generated/types.js';
import { estimateOffPolicy, type LoggedDecision } from './estimators.js';
import { placementMarginals } from './placement-marginals.js';
import { listDecisions } from './replay-decisions.js';

const IDS = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
const ATTRACTION: Record<string, number> = { a: 0.3, b: 0.25, c: 0.2, d: 0.6, e: 0.1, f: 0.15, g: 0.05 };
const EXAMINED = [1, 0.6, 0.35];
/** The ranking evaluated: the deterministic page is a, b, c; this reorders two of its items and takes d from below. */
const TARGET = ['b', 'd', 'a'];

const CATALOG = new Map<string, Item>(IDS.map((id) => [id, catalogItem(id)]));
const ITEMS: RankedItem[] = IDS.map((id, i) => ({
  item_id: id,
  score: 2 - i / 4,
  reason: 'retrieved',
  propensity: 1,
}));
const SETTINGS = {
  freshnessBoost: 0,
  freshnessWindowMs: 86_400_000,
  promotions: true,
  maxCategoryShare: 1,
  explorationEpsilon: 0,
  explorationFreshWeight: 1,
  explorationPolicy: 'plackett_luce' as const,
  explorationTemperature: 1,
  explorationPoolSize: 5,
};

/**
 * Lists served and clicked, their decisions seen from `target`, with a reward model off by `bias`;
 * `byPosition` reads each list from the pool it logged.
 */
function logged(
  target: readonly string[],
  lists: number,
  bias: number,
  byPosition = false,
): LoggedDecision[] {
  const clicks = Rng.derive(11, 2);
  const model = new Map(IDS.map((id) => [id, Math.min(1, ATTRACTION[id]! * 0.6 + bias)]));
  const decisions: LoggedDecision[] = [];
  for (let r = 0; r < lists; r++) {
    const { items: page, pool } = finalOrder({
      items: ITEMS,
      k: 3,
      now: NOW,
      settings: SETTINGS,
      catalog: CATALOG,
      seen: new Set(),
      minor: false,
      seed: `pl-${r}`,
    });
    const marginals = byPosition
      ? placementMarginals(pool!, page.length, { random: requestRandom(`pl-${r}/marginals`), samples: 500 })
      : undefined;
    const clicked = new Set<string>();
    page.forEach((placed, position) => {
      if (clicks.next() < ATTRACTION[placed.item_id]! * EXAMINED[position]!) clicked.add(placed.item_id);
    });
    decisions.push(
      ...listDecisions({
        logged: page.map((placed, position) => ({ ...placed, position })),
        clicked,
        candidate: target,
        click: model,
        exploration: 'plackett_luce',
        marginals,
      }),
    );
  }
  return decisions;
}

const TRUTH = TARGET.reduce((sum, id, position) => sum + ATTRACTION[id]! * EXAMINED[position]!, 0) / 3;

/** Each of IPS, SNIPS and DR holds the closed-form value in its interval. */
function assertHoldsTruth(result: ReturnType<typeof estimateOffPolicy>): void {
  assert.ok(result.supported);
  for (const [name, estimate] of [
    ['IPS', result.ips],
    ['SNIPS', result.snips],
    ['DR', result.dr!],
  ] as const)
    assert.ok(
      estimate.ci[0] <= TRUTH && TRUTH <= estimate.ci[1],
      `${name} ${estimate.value} [${estimate.ci[0]}, ${estimate.ci[1]}], truth ${TRUTH}`,
    );
}

test('IPS, SNIPS and DR over Plackett–Luce lists hold the value of a ranking that reorders the page', () => {
  const result = estimateOffPolicy(logged(TARGET, 40_000, 0.05));
  assert.ok(result.supported, 'every order of the pool can be logged');
  assert.equal(result.unsupportedMass, 0);
  assertHoldsTruth(result);
});

/** A logged list of three: b drawn first, a promoted slot, then a. */
const PROMOTED_AT_1 = [
  { item_id: 'b', position: 0, propensity: 0.3, reason: 'explored' },
  { item_id: 'promo', position: 1, propensity: 1, reason: 'promoted' },
  { item_id: 'a', position: 2, propensity: 0.5, reason: 'explored' },
] as const;

test('a Plackett–Luce decision weighs the prefix: the product of its slots, matched only while the orders agree', () => {
  const decisions = listDecisions({
    logged: PROMOTED_AT_1,
    clicked: new Set(['a']),
    candidate: ['b', 'x', 'a'],
    exploration: 'plackett_luce',
  });
  assert.deepEqual(
    decisions.map((d) => [d.propensity, d.reward, d.target, d.unsupported]),
    [
      [0.3, 0, 1, 0],
      // The candidate wants x where the policy always places the promoted item: unsupported, and the prefix breaks.
      [0.3, 0, 0, 1],
      [0.15, 1, 0, 0],
    ],
  );
});

test('read position by position from the logged pool, the same lists hold the value with a far larger effective sample size', () => {
  const byPrefix = estimateOffPolicy(logged(TARGET, 10_000, 0.05));
  const byPosition = estimateOffPolicy(logged(TARGET, 10_000, 0.05, true));
  assert.ok(byPrefix.supported && byPosition.supported);
  assert.equal(byPosition.unsupportedMass, 0);
  assertHoldsTruth(byPosition);
  assert.ok(
    byPosition.effectiveSampleSize > 2 * byPrefix.effectiveSampleSize,
    `effective sample size ${byPosition.effectiveSampleSize} by position, ${byPrefix.effectiveSampleSize} by prefix`,
  );
  assert.ok(byPosition.snips.ci[1] - byPosition.snips.ci[0] < byPrefix.snips.ci[1] - byPrefix.snips.ci[0]);
});

test('a decision read by position weighs its item at its slot, and an item the pool did not hold is unsupported', () => {
  const pool = [
    { item_id: 'a', logit: 1 },
    { item_id: 'b', logit: 0 },
    { item_id: 'c', logit: -1 },
  ];
  const marginals = placementMarginals(pool, 2, { random: requestRandom('unit'), samples: 200 });
  const decisions = listDecisions({
    logged: PROMOTED_AT_1,
    clicked: new Set(['a']),
    candidate: ['a', 'promo', 'zz'],
    exploration: 'plackett_luce',
    marginals,
  });
  assert.deepEqual(
    decisions.map((d) => [d.propensity, d.reward, d.target, d.unsupported]),
    [
      // The candidate's a was in the pool: supported, but not what the log holds at 0.
      [marginals.at('b', 0), 0, 0, 0],
      [1, 0, 1, 0],
      // zz was not in the pool: the policy could not have put it at the second drawn slot.
      [marginals.at('a', 1), 1, 0, 1],
    ],
  );
  assert.ok(Math.abs(marginals.at('b', 0) - Math.exp(0) / (Math.E + 1 + Math.exp(-1))) < 1e-12);
});
