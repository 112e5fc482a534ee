import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../lib/random.js';
import type { Interaction } from '../../schemas/generated/types.js';
import { Behaviour } from '../behaviour.js';
import { STREAM } from '../streams.js';
import { World } from '../world.js';

const world = new World({ seed: 5, users: 300, items: 200, events: 1000, days: 2 });
const context = { device: 'tv', country: 'US', session_id: 's', surface: 'home', request_id: 'r1' };

function visit(seq: number, items: readonly number[]) {
  const behaviour = new Behaviour(world, Rng.derive(5, STREAM.closedLoop, seq), 'cl-test-');
  const t = world.options.start + 86_400_000;
  const s = behaviour.startSession(seq, 3, t);
  s.shown = new Map();
  const first = behaviour.respondToServed(s, items, t, context);
  const events: Interaction[] = [];
  while (s.pending) events.push(s.shift());
  const again = behaviour.respondToServed(s, items, s.nextRequestTs, context);
  return { first, again, events };
}

test('the same served list gives the same response, and its click probabilities are a distribution', () => {
  const items = [1, 5, 9, 13, 17, 21];
  const a = visit(7, items);
  const b = visit(7, items);
  assert.deepEqual(a.events, b.events);
  assert.deepEqual(Array.from(a.first), Array.from(b.first));
  const total = a.first.reduce((sum, p) => sum + p, 0);
  assert.ok(total > 0 && total < 1, `P(click) = ${total}`);
  assert.equal(a.events.filter((e) => e.type === 'impression').length, items.length);
  for (const e of a.events) assert.equal(e.context.request_id, 'r1');
});

test('an item shown again in the visit is less likely to be clicked (fatigue)', () => {
  const { first, again } = visit(8, [2, 4, 6, 8, 10, 12]);
  for (let k = 0; k < first.length; k++) assert.ok(again[k]! < first[k]!, `position ${k}`);
});

test('the user prefers the list the truth ranks higher: their best items beat their worst', () => {
  const taste = world.population.taste(
    world.population.tasteModel(world.population.profile(3)),
    world.options.start,
  );
  const scored = Array.from({ length: 200 }, (_, item) => ({
    item,
    score: world.preference(world.population.profile(3), taste, item),
  })).sort((x, y) => y.score - x.score);
  const best = visit(
    9,
    scored.slice(0, 6).map((s) => s.item),
  ).first.reduce((sum, p) => sum + p, 0);
  const worst = visit(
    9,
    scored.slice(-6).map((s) => s.item),
  ).first.reduce((sum, p) => sum + p, 0);
  assert.ok(best > 2 * worst, `best ${best} vs worst ${worst}`);
});
