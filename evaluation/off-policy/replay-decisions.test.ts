/**
 * The decisions of served lists seen from a candidate's page, on a small
 * hand-made log: which target each (list, position) gets, when the
 * candidate's choice is outside what the logging policy could have shown,
 * the reward model's terms, and the estimates they give.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ServedReason } from '../../schemas/generated/types.js';
import { estimateOffPolicy } from './estimators.js';
import { listDecisions } from './replay-decisions.js';

const item = (item_id: string, position: number, propensity = 1, reason: ServedReason = 'retrieved') => ({
  item_id,
  position,
  propensity,
  reason,
});

/** An explored list: a and c kept their slots, x was drawn into slot 1 from below the page. */
const EXPLORED = [item('a', 0, 0.8), item('x', 1, 0.02, 'explored'), item('c', 2, 0.7)];

test("each position is one decision: the candidate's item there is the logged one or not", () => {
  const decisions = listDecisions({ logged: EXPLORED, clicked: new Set(['x']), candidate: ['a', 'x', 'd'] });
  assert.deepEqual(
    decisions.map((d) => [d.propensity, d.reward, d.target, d.unsupported]),
    [
      [0.8, 0, 1, 0],
      [0.02, 1, 1, 0],
      // d from below the page could have been drawn into an explorable slot.
      [0.7, 0, 0, 0],
    ],
  );
});

test('the log is given in any order: decisions follow the positions', () => {
  const shuffled = [EXPLORED[2]!, EXPLORED[0]!, EXPLORED[1]!];
  const decisions = listDecisions({ logged: shuffled, clicked: new Set(), candidate: ['a', 'x', 'c'] });
  assert.deepEqual(
    decisions.map((d) => d.propensity),
    [0.8, 0.02, 0.7],
  );
});

test('a page item moved to another slot is unsupported: exploration keeps page items at their slots', () => {
  const decisions = listDecisions({ logged: EXPLORED, clicked: new Set(), candidate: ['c', 'x', 'a'] });
  assert.deepEqual(
    decisions.map((d) => d.unsupported),
    [1, 0, 1],
  );
  // An explored item is from the pool, which any explorable slot draws from.
  const drawn = listDecisions({ logged: EXPLORED, clicked: new Set(), candidate: ['x', 'b', 'c'] });
  assert.deepEqual(
    drawn.map((d) => d.unsupported),
    [0, 0, 0],
  );
});

test('a slot logged with propensity 1 supports only its own item', () => {
  const deterministic = [item('a', 0), item('b', 1), item('c', 2, 1, 'promoted')];
  const decisions = listDecisions({
    logged: deterministic,
    clicked: new Set(['b']),
    candidate: ['a', 'd', 'e'],
  });
  assert.deepEqual(
    decisions.map((d) => [d.target, d.unsupported]),
    [
      [1, 0],
      [0, 1],
      [0, 1],
    ],
  );
});

test('a shorter candidate page shows nothing at the positions past it: no target mass, nothing unsupported', () => {
  const decisions = listDecisions({ logged: EXPLORED, clicked: new Set(), candidate: ['a'] });
  assert.deepEqual(
    decisions.map((d) => [d.target, d.unsupported]),
    [
      [1, 0],
      [0, 0],
      [0, 0],
    ],
  );
});

test("DR's terms come from the reward model for the logged and the candidate's item, and are IPS terms where it lacks one", () => {
  const click = new Map([
    ['a', 0.3],
    ['x', 0.1],
    ['c', 0.2],
    ['d', 0.4],
  ]);
  const decisions = listDecisions({
    logged: EXPLORED,
    clicked: new Set(),
    candidate: ['a', 'x', 'd'],
    click,
  });
  assert.deepEqual(
    decisions.map((d) => [d.modelReward, d.modelValue]),
    [
      [0.3, 0.3],
      [0.1, 0.1],
      [0.2, 0.4],
    ],
  );
  const partial = listDecisions({
    logged: EXPLORED,
    clicked: new Set(),
    candidate: ['a', 'x', 'e'],
    click,
  });
  assert.equal(partial[2]!.modelValue, undefined, 'e has no probability: no reward model there');
  const result = estimateOffPolicy(partial);
  assert.ok(result.supported);
  assert.equal(result.withoutModel, 1);
  assert.ok(result.dr !== undefined, 'DR is still given, with that decision as its IPS term');
});

test('on a small log the estimates are the closed-form weighted means', () => {
  // Two explored lists; the candidate agrees with slot 0 of both and with slot 1 of the first.
  const lists = [
    { logged: [item('a', 0, 0.5), item('b', 1, 0.25)], clicked: new Set(['a', 'b']), candidate: ['a', 'b'] },
    {
      logged: [item('c', 0, 0.5), item('y', 1, 0.5, 'explored')],
      clicked: new Set(['y']),
      candidate: ['c', 'z'],
    },
  ];
  const decisions = lists.flatMap(listDecisions);
  const result = estimateOffPolicy(decisions);
  assert.ok(result.supported);
  // Weights 2, 4, 2, 0; rewards 1, 1, 0, 1.
  assert.equal(result.ips.value, (2 + 4) / 4);
  assert.equal(result.snips.value, (2 + 4) / 8);
  assert.equal(result.effectiveSampleSize, 64 / 24);
});

test('a log without exploration estimates the policy that wrote it, and refuses one that differs', () => {
  const logged = [item('a', 0), item('b', 1), item('c', 2)];
  const lists = Array.from({ length: 10 }, (_, i) => ({
    logged,
    clicked: new Set(i % 3 === 0 ? ['b'] : []),
  }));
  const same = estimateOffPolicy(lists.flatMap((l) => listDecisions({ ...l, candidate: ['a', 'b', 'c'] })));
  assert.ok(same.supported);
  assert.equal(same.ips.value, 4 / 30, "the logging policy's own observed click-through");
  const other = estimateOffPolicy(lists.flatMap((l) => listDecisions({ ...l, candidate: ['a', 'c', 'b'] })));
  assert.equal(other.supported, false);
  assert.match(other.reason, /never takes/);
});
