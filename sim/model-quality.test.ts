/**
 * Users' choices follow their latent tastes, so a model trained on the
 * simulator's output must beat popularity — on held-out later clicks and
 * against the ground truth. The same evaluation on the same events with the
 * items shuffled across events (popularity kept, tastes destroyed) must not
 * beat popularity: the test can fail.
 *
 * The model is plain item-item co-occurrence (cosine over users' click
 * histories); the baseline ranks by click count. Both leave out what the
 * user already clicked.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../lib/random.js';
import type { Interaction } from '../schemas/generated/types.js';
import { Simulator } from './simulator.js';
import { GroundTruth } from './truth.js';

const USERS = 1500;
const ITEMS = 400;
const K = 20;
const sim = new Simulator({ seed: 5, users: USERS, items: ITEMS, events: 150_000, days: 28 });
const events: Interaction[] = [];
for (const r of sim.records()) if (r.topic === 'rec.interactions') events.push(r.value);
const truth = new GroundTruth(sim.world);

interface Evaluation {
  readonly users: number;
  readonly recall: { readonly model: number; readonly popularity: number };
  /** Overlap of the top-K with the user's true top-K (items not clicked before the split). */
  readonly truth: { readonly model: number; readonly popularity: number };
}

const index = (id: string) => Number(id.slice(1));

function evaluate(stream: readonly Interaction[]): Evaluation {
  const clicks = stream.filter((e) => e.type === 'click');
  const split = clicks[Math.floor(clicks.length * 0.8)]!.ts;
  const history = new Map<number, Set<number>>();
  const heldOut = new Map<number, Set<number>>();
  const popularity = new Float64Array(ITEMS);
  for (const e of clicks) {
    const target = e.ts < split ? history : heldOut;
    const user = index(e.user_id);
    const item = index(e.item_id);
    (target.get(user) ?? target.set(user, new Set()).get(user)!).add(item);
    if (e.ts < split) popularity[item]!++;
  }
  const clickers = new Float64Array(ITEMS);
  const together = new Float64Array(ITEMS * ITEMS);
  for (const items of history.values()) {
    for (const i of items) {
      clickers[i]!++;
      for (const j of items) if (i !== j) together[i * ITEMS + j]!++;
    }
  }
  const topK = (scores: Float64Array, seen: Set<number>) =>
    [...scores.keys()]
      .filter((i) => !seen.has(i))
      .sort((a, b) => scores[b]! - scores[a]! || a - b)
      .slice(0, K);
  const overlap = (list: number[], wanted: Set<number>) => list.filter((i) => wanted.has(i)).length;
  let users = 0;
  const recall = { model: 0, popularity: 0 };
  const ofTruth = { model: 0, popularity: 0 };
  for (const [user, later] of heldOut) {
    const seen = history.get(user);
    if (seen === undefined) continue;
    const wanted = new Set([...later].filter((i) => !seen.has(i)));
    if (wanted.size === 0) continue;
    const scores = new Float64Array(ITEMS);
    for (const i of seen)
      for (let j = 0; j < ITEMS; j++) {
        const both = together[i * ITEMS + j]!;
        if (both > 0) scores[j]! += both / Math.sqrt(clickers[i]! * clickers[j]!);
      }
    const model = topK(scores, seen);
    const popular = topK(popularity, seen);
    recall.model += overlap(model, wanted) / wanted.size;
    recall.popularity += overlap(popular, wanted) / wanted.size;
    const best = new Set(
      truth
        .topItems(user, split, K + seen.size)
        .map((s) => s.item)
        .filter((i) => !seen.has(i))
        .slice(0, K),
    );
    ofTruth.model += overlap(model, best) / K;
    ofTruth.popularity += overlap(popular, best) / K;
    users++;
  }
  return {
    users,
    recall: { model: recall.model / users, popularity: recall.popularity / users },
    truth: { model: ofTruth.model / users, popularity: ofTruth.popularity / users },
  };
}

function shuffledItems(stream: readonly Interaction[]): Interaction[] {
  const rng = Rng.derive(1, 1);
  const items = stream.map((e) => e.item_id);
  for (let k = items.length - 1; k > 0; k--) {
    const j = rng.int(k + 1);
    [items[k], items[j]] = [items[j]!, items[k]!];
  }
  return stream.map((e, k) => ({ ...e, item_id: items[k]! }));
}

const MARGIN = 1.25;
let real: Evaluation | undefined;
const onSimulated = () => {
  real ??= evaluate(events);
  return real;
};

test('a co-occurrence model trained on earlier clicks beats popularity on later clicks', () => {
  const result = onSimulated();
  assert.ok(result.users >= 200, `${result.users} users evaluated`);
  assert.ok(
    result.recall.model > MARGIN * result.recall.popularity,
    `recall@${K}: model ${result.recall.model.toFixed(3)}, popularity ${result.recall.popularity.toFixed(3)}`,
  );
});

test('the model is closer than popularity to what users truly prefer', () => {
  const result = onSimulated();
  assert.ok(
    result.truth.model > MARGIN * result.truth.popularity,
    `overlap with the true top-${K}: model ${result.truth.model.toFixed(3)}, popularity ${result.truth.popularity.toFixed(3)}`,
  );
});

test('with tastes destroyed (items shuffled across events) the same model does not beat popularity', () => {
  const result = evaluate(shuffledItems(events));
  assert.ok(
    result.recall.model < MARGIN * result.recall.popularity,
    `shuffled recall@${K}: model ${result.recall.model.toFixed(3)}, popularity ${result.recall.popularity.toFixed(3)}`,
  );
});
