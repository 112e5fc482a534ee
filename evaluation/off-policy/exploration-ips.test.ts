/**
 * The propensities the final ordering logs when it explores support an
 * unbiased estimate of another ranking: lists served with ε-greedy
 * exploration, clicked under a position-based model (a click depends on
 * the item and its position only), give an IPS estimate of a ranking the
 * responder never serves as such that matches its value in closed form.
 * The policy keeps each item of the deterministic page at its slot or
 * replaces it, so a ranking that moves a page item to another slot is
 * outside the log's support, and the estimators say so.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../lib/random.js';
import { finalOrder, type RankedItem } from '../../responders/recommend/final-ordering.js';
import { catalogItem, NOW } from '../../responders/recommend/items.fixture.js';
import type { Item } from '../../schemas/generated/types.js';
import { estimateOffPolicy, type LoggedDecision } from './estimators.js';

const IDS = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
/** How attractive each item is, and how likely each position is examined. */
const ATTRACTION: Record<string, number> = { a: 0.3, b: 0.25, c: 0.2, d: 0.6, e: 0.1, f: 0.15, g: 0.05 };
const EXAMINED = [1, 0.6, 0.35];
/** The deterministic page, and the ranking evaluated: d and e, from below the page, in its first and last slots. */
const PAGE = ['a', 'b', 'c'];
const TARGET = ['d', 'b', 'e'];

const CATALOG = new Map<string, Item>(IDS.map((id) => [id, catalogItem(id)]));

const ITEMS: RankedItem[] = IDS.map((id, i) => ({
  item_id: id,
  score: 10 - i,
  reason: 'retrieved',
  propensity: 1,
}));

/** Lists served with ε 0.3 and clicked, each position one decision seen from `target`. */
function explored(target: readonly string[]): LoggedDecision[] {
  const settings = {
    freshnessBoost: 0,
    freshnessWindowMs: 86_400_000,
    promotions: true,
    maxCategoryShare: 1,
    explorationEpsilon: 0.3,
    explorationFreshWeight: 2,
    explorationPolicy: 'epsilon_greedy' as const,
    explorationTemperature: 0,
    explorationPoolSize: 20,
  };
  const clicks = Rng.derive(7, 1);
  const decisions: LoggedDecision[] = [];
  for (let r = 0; r < 40_000; r++) {
    const page = finalOrder({
      items: ITEMS,
      k: 3,
      now: NOW,
      settings,
      catalog: CATALOG,
      seen: new Set(),
      minor: false,
      seed: `request-${r}`,
    }).items;
    page.forEach((placed, position) => {
      const reward = clicks.next() < ATTRACTION[placed.item_id]! * EXAMINED[position]! ? 1 : 0;
      // The target's item here can be logged here only if it is this slot's page item or from below the page.
      const wanted = target[position]!;
      const supported = PAGE.indexOf(wanted) === position || !PAGE.includes(wanted);
      decisions.push({
        propensity: placed.propensity,
        reward,
        target: wanted === placed.item_id ? 1 : 0,
        unsupported: supported ? 0 : 1,
      });
    });
  }
  return decisions;
}

test('IPS over explored lists recovers the click-through of a ranking they were not served by', () => {
  const decisions = explored(TARGET);
  // Per decision (one list position): the target's expected clicks per list over its three positions.
  const truth = TARGET.reduce((sum, id, position) => sum + ATTRACTION[id]! * EXAMINED[position]!, 0) / 3;
  const result = estimateOffPolicy(decisions);
  assert.ok(result.supported);
  const { ips, snips } = result;
  assert.ok(Math.abs(ips.value - truth) < 3 * ips.stderr, `IPS ${ips.value} ± ${ips.stderr}, truth ${truth}`);
  assert.ok(Math.abs(snips.value - truth) < 3 * snips.stderr + 0.005, `SNIPS ${snips.value}, truth ${truth}`);
  // The logging policy's own click-through differs: the estimate is not just what was served.
  const served = decisions.reduce((sum, d) => sum + d.reward, 0) / decisions.length;
  assert.ok(Math.abs(served - truth) > 5 * ips.stderr, `served ${served}, target ${truth}`);
});

test('a ranking that moves an item of the page to another slot is outside the support, and no estimate is given', () => {
  const result = estimateOffPolicy(explored(['d', 'a', 'b']));
  assert.equal(result.supported, false);
  assert.ok(Math.abs(result.unsupportedMass - 2 / 3) < 1e-12);
});
