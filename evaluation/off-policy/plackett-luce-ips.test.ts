/**
 * Lists explored by Plackett–Luce support an estimate of any reordering of
 * their pool: served with temperature 1 over a pool of five, clicked under
 * a cascade-free position-based model, their prefix decisions
 * (./replay-decisions.ts) give IPS, SNIPS and DR estimates of a ranking
 * that moves the page's items to other slots — which ε-greedy's log cannot
 * support — and the estimates' 95 % intervals hold its value in closed form.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { finalOrder, type RankedItem } from '../../responders/recommend/final-ordering.js';
import { catalogItem, NOW } from '../../responders/recommend/items.fixture.js';
import type { Item } from '../../schemas/generated/types.js';
import { Rng } from '../../sim/random.js';
import { estimateOffPolicy, type LoggedDecision } from './estimators.js';
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

/** Lists served and clicked, their decisions seen from `target`, with a reward model off by `bias`. */
function logged(target: readonly string[], lists: number, bias: number): LoggedDecision[] {
  const clicks = Rng.derive(11, 2);
  const model = new Map(IDS.map((id) => [id, Math.min(1, ATTRACTION[id]! * 0.6 + bias)]));
  const decisions: LoggedDecision[] = [];
  for (let r = 0; r < lists; r++) {
    const page = finalOrder({
      items: ITEMS,
      k: 3,
      now: NOW,
      settings: SETTINGS,
      catalog: CATALOG,
      seen: new Set(),
      minor: false,
      seed: `pl-${r}`,
    }).items;
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
      }),
    );
  }
  return decisions;
}

test('IPS, SNIPS and DR over Plackett–Luce lists hold the value of a ranking that reorders the page', () => {
  const truth = TARGET.reduce((sum, id, position) => sum + ATTRACTION[id]! * EXAMINED[position]!, 0) / 3;
  const result = estimateOffPolicy(logged(TARGET, 40_000, 0.05));
  assert.ok(result.supported, 'every order of the pool can be logged');
  assert.equal(result.unsupportedMass, 0);
  for (const [name, estimate] of [
    ['IPS', result.ips],
    ['SNIPS', result.snips],
    ['DR', result.dr!],
  ] as const)
    assert.ok(
      estimate.ci[0] <= truth && truth <= estimate.ci[1],
      `${name} ${estimate.value} [${estimate.ci[0]}, ${estimate.ci[1]}], truth ${truth}`,
    );
});

test('a Plackett–Luce decision weighs the prefix: the product of its slots, matched only while the orders agree', () => {
  const decisions = listDecisions({
    logged: [
      { item_id: 'b', position: 0, propensity: 0.3, reason: 'explored' },
      { item_id: 'promo', position: 1, propensity: 1, reason: 'promoted' },
      { item_id: 'a', position: 2, propensity: 0.5, reason: 'explored' },
    ],
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
