import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../lib/random.js';
import type { Interaction } from '../schemas/generated/types.js';
import { Behaviour } from './behaviour.js';
import {
  CASCADE_CONTINUE,
  CASCADE_THRESHOLD,
  type ClickModel,
  clickProbabilities,
  drawClick,
  EXAMINE,
  NO_CLICK,
} from './click-models.js';
import { STREAM } from './streams.js';
import { World } from './world.js';

const VALUES = [2.9, 1.2, 3.8, 0.4, 2.2, 1.7];

function probabilities(model: ClickModel, values: readonly number[]): number[] {
  const out = new Float64Array(values.length);
  clickProbabilities(model, values, values.length, out);
  return Array.from(out);
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

test('cascade: the click is at k when positions above did not attract and the user went on, and k did', () => {
  const p = probabilities('cascade', VALUES);
  const a = VALUES.map((v) => sigmoid(v - CASCADE_THRESHOLD));
  assert.ok(Math.abs(p[0]! - a[0]!) < 1e-15);
  assert.ok(Math.abs(p[1]! - (1 - a[0]!) * CASCADE_CONTINUE * a[1]!) < 1e-15);
  assert.ok(
    Math.abs(p[2]! - (1 - a[0]!) * (1 - a[1]!) * CASCADE_CONTINUE ** 2 * a[2]!) < 1e-15,
    'position 2',
  );
  const total = p.reduce((s, x) => s + x, 0);
  assert.ok(total > 0 && total < 1, `P(click) = ${total}`);
});

test('choice: each position weighs examination × exp(value) against clicking nothing', () => {
  const p = probabilities('choice', VALUES);
  const weights = VALUES.map((v, k) => EXAMINE[k]! * Math.exp(v));
  const total = Math.exp(NO_CLICK) + weights.reduce((s, x) => s + x, 0);
  for (let k = 0; k < VALUES.length; k++) assert.ok(Math.abs(p[k]! - weights[k]! / total) < 1e-15);
});

test('cascade: only the items above a position take clicks from it; under choice every item does', () => {
  const better = [...VALUES.slice(0, 5), 6];
  const cascade = [probabilities('cascade', VALUES), probabilities('cascade', better)];
  const choice = [probabilities('choice', VALUES), probabilities('choice', better)];
  for (let k = 0; k < 5; k++) {
    assert.equal(cascade[1]![k], cascade[0]![k], `cascade position ${k}`);
    assert.ok(choice[1]![k]! < choice[0]![k]!, `choice position ${k}`);
  }
});

test('a seeded top-down scan clicks each position as often as the cascade says', () => {
  const rng = Rng.derive(17, STREAM.closedLoop);
  const attraction = VALUES.map((v) => sigmoid(v - CASCADE_THRESHOLD));
  const counts = new Array<number>(VALUES.length + 1).fill(0);
  const n = 200_000;
  for (let i = 0; i < n; i++) {
    let clicked = -1;
    for (let k = 0; k < VALUES.length; k++) {
      if (rng.next() < attraction[k]!) {
        clicked = k;
        break;
      }
      if (rng.next() >= CASCADE_CONTINUE) break;
    }
    counts[clicked + 1]!++;
  }
  const p = probabilities('cascade', VALUES);
  for (let k = 0; k < VALUES.length; k++) {
    const se = Math.sqrt((p[k]! * (1 - p[k]!)) / n);
    assert.ok(
      Math.abs(counts[k + 1]! / n - p[k]!) < 4 * se,
      `position ${k}: ${counts[k + 1]! / n} vs ${p[k]}`,
    );
  }
});

test('drawClick draws each position with its probability, and no click with the rest', () => {
  const p = probabilities('cascade', VALUES);
  const rng = Rng.derive(3, STREAM.closedLoop);
  const counts = new Array<number>(VALUES.length + 1).fill(0);
  const n = 200_000;
  for (let i = 0; i < n; i++) counts[drawClick(p, p.length, rng.next()) + 1]!++;
  const none = 1 - p.reduce((s, x) => s + x, 0);
  for (const [k, q] of [[-1, none] as const, ...p.map((q, k) => [k, q] as const)]) {
    const se = Math.sqrt((q * (1 - q)) / n);
    assert.ok(Math.abs(counts[k + 1]! / n - q) < 4 * se, `position ${k}`);
  }
});

const world = new World({ seed: 5, users: 300, items: 200, events: 1000, days: 2 });
const context = { device: 'tv', country: 'US', session_id: 's', surface: 'home', request_id: 'r1' };

function served(model: ClickModel, seq: number, items: readonly number[]) {
  const behaviour = new Behaviour(world, Rng.derive(5, STREAM.closedLoop, seq), 'cl-test-', model);
  const t = world.options.start + 86_400_000;
  const s = behaviour.startSession(seq, 3, t);
  s.shown = new Map();
  const p = behaviour.respondToServed(s, items, t, context);
  const events: Interaction[] = [];
  while (s.pending) events.push(s.shift());
  return { p: Array.from(p), events, s };
}

test('a closed-loop user under the cascade: seeded, and the truth is the cascade of their values', () => {
  const items = [1, 5, 9, 13, 17, 21];
  const a = served('cascade', 7, items);
  assert.deepEqual(a, served('cascade', 7, items));
  const taste = a.s.taste;
  const values = items.map(
    (item) => world.preference(a.s.profile, taste, item) + 0.35 * world.catalog.popularityZ[item]!,
  );
  const expected = probabilities('cascade', values);
  for (let k = 0; k < items.length; k++) assert.ok(Math.abs(a.p[k]! - expected[k]!) < 1e-12, `position ${k}`);
  assert.notDeepEqual(a.p, served('choice', 7, items).p);
});

test('over many seeded visits, the cascade user clicks each position as often as the truth says', () => {
  const items = [1, 5, 9, 13, 17, 21];
  const clicks = new Array<number>(items.length).fill(0);
  let truth: number[] = [];
  const n = 4000;
  for (let seq = 0; seq < n; seq++) {
    const { p, events } = served('cascade', seq, items);
    truth = p;
    const click = events.find((e) => e.type === 'click');
    if (click !== undefined) clicks[items.indexOf(Number(click.item_id.slice(1)))]!++;
  }
  for (let k = 0; k < items.length; k++) {
    const se = Math.sqrt((truth[k]! * (1 - truth[k]!)) / n);
    assert.ok(
      Math.abs(clicks[k]! / n - truth[k]!) < 4 * se,
      `position ${k}: ${clicks[k]! / n} vs ${truth[k]}`,
    );
  }
});
