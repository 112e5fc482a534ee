import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../lib/random.js';
import { type ChoiceList, ChoiceModel } from './choice-model.js';
import { estimateOffPolicy, type LoggedDecision } from './estimators.js';
import { listDecisions } from './replay-decisions.js';

/** The users' true choice: the model's own form, so its fit can be checked against known parameters. */
const TRUE = { scale: 1.2, noClick: 0.5, fatigue: 0.5, decay: 0.6 };

function logit(p: number): number {
  return Math.log(p / (1 - p));
}

/** Each position's true click probability in a list of items with these probabilities and shows. */
function trueChoice(probabilities: readonly number[], shown: readonly number[]): number[] {
  const weights = probabilities.map((p, k) =>
    Math.exp(TRUE.scale * logit(p) - TRUE.decay * Math.log(1 + k) - TRUE.fatigue * shown[k]!),
  );
  const total = Math.exp(TRUE.noClick) + weights.reduce((a, b) => a + b, 0);
  return weights.map((w) => w / total);
}

function choose(rng: Rng, probabilities: readonly number[]): number[] {
  let u = rng.next();
  for (let k = 0; k < probabilities.length; k++) {
    u -= probabilities[k]!;
    if (u < 0) return [k];
  }
  return [];
}

test('the choice model recovers the scale, the no-click utility, the fatigue and the position terms it was drawn from', () => {
  const rng = Rng.derive(11, 1);
  const lists: ChoiceList[] = [];
  for (let i = 0; i < 20_000; i++) {
    const probabilities = Array.from({ length: 6 }, () => 0.01 + 0.4 * rng.next());
    const shown = Array.from({ length: 6 }, () => rng.int(3));
    lists.push({ probabilities, shown, clicks: choose(rng, trueChoice(probabilities, shown)) });
  }
  const fitted = ChoiceModel.fit(lists).parameters;
  assert.ok(Math.abs(fitted.scale - TRUE.scale) < 0.1, `scale ${fitted.scale}`);
  assert.ok(Math.abs(fitted.noClick - TRUE.noClick) < 0.2, `no-click ${fitted.noClick}`);
  assert.ok(Math.abs(fitted.fatigue - TRUE.fatigue) < 0.1, `fatigue ${fitted.fatigue}`);
  for (let k = 1; k < 6; k++)
    assert.ok(
      Math.abs(fitted.position[k]! + TRUE.decay * Math.log(1 + k)) < 0.15,
      `position ${k}: ${fitted.position[k]} against ${-TRUE.decay * Math.log(1 + k)}`,
    );
  assert.equal(fitted.choices, 20_000);
});

test('a list without items cannot be fitted, and says so', () => {
  assert.throws(() => ChoiceModel.fit([{ probabilities: [], shown: [], clicks: [] }]), /at least one list/);
});

/**
 * A world where the user picks among the list: 10 items a request, the
 * candidate's page their top 3 by click probability, the logging policy
 * that page half the time and a uniformly drawn ordered 3 of the 10 the
 * other half (every item's marginal at a slot is known). Explored lists
 * hold weaker items, so each of the page's items clicks more there than on
 * the page: DR read from the items alone runs above the page's value, DR
 * read from the choice model does not.
 */
function choiceWorld(lists: number, seed: number) {
  const rng = Rng.derive(seed, 2);
  const slots = 3;
  const pool = 10;
  let truth = 0;
  const replayed: Parameters<typeof listDecisions>[0][] = [];
  const fitted: ChoiceList[] = [];
  for (let i = 0; i < lists; i++) {
    const probabilities = Array.from({ length: pool }, () => 0.02 + 0.9 * rng.next() ** 2);
    const items = probabilities.map((_, j) => `r${i}i${j}`);
    const order = [...items.keys()].sort((a, b) => probabilities[b]! - probabilities[a]!);
    const page = order.slice(0, slots);
    const explore = rng.next() < 0.5;
    const shown: number[] = [];
    if (explore) {
      const left = [...items.keys()];
      for (let s = 0; s < slots; s++) shown.push(left.splice(rng.int(left.length), 1)[0]!);
    } else shown.push(...page);
    const zeros = shown.map(() => 0);
    const clicked = choose(
      rng,
      trueChoice(
        shown.map((j) => probabilities[j]!),
        zeros,
      ),
    );
    truth +=
      trueChoice(
        page.map((j) => probabilities[j]!),
        zeros,
      ).reduce((a, b) => a + b, 0) / slots;
    const click = new Map(items.map((id, j) => [id, probabilities[j]!] as const));
    replayed.push({
      logged: shown.map((j, position) => ({
        item_id: items[j]!,
        position,
        propensity: 0.5 * (page[position] === j ? 1 : 0) + 0.5 / pool,
        reason: 'explored' as const,
      })),
      clicked: new Set(clicked.map((k) => items[shown[k]!]!)),
      candidate: page.map((j) => items[j]!),
      click,
    });
    fitted.push({ probabilities: shown.map((j) => probabilities[j]!), shown: zeros, clicks: clicked });
  }
  return { truth: truth / lists, replayed, fitted };
}

test("DR read from the choice model holds the page's value where the user picks among the list", () => {
  const { truth, replayed, fitted } = choiceWorld(20_000, 3);
  const model = ChoiceModel.fit(fitted);
  const decisions: LoggedDecision[] = [];
  const itemLevel: LoggedDecision[] = [];
  for (const list of replayed) {
    const probability = (ids: readonly string[]) => ids.map((id) => list.click!.get(id)!);
    const logged = list.logged.map((item) => item.item_id);
    decisions.push(
      ...listDecisions({
        ...list,
        choice: {
          logged: model.clickProbabilities(probability(logged), [0, 0, 0]),
          candidate: model.clickProbabilities(probability(list.candidate), [0, 0, 0]),
        },
      }),
    );
    itemLevel.push(...listDecisions(list));
  }
  const result = estimateOffPolicy(decisions);
  const items = estimateOffPolicy(itemLevel);
  assert.ok(result.supported && items.supported);
  const dr = result.dr!;
  assert.ok(dr.ci[0] <= truth && truth <= dr.ci[1], `DR ${dr.value} [${dr.ci}] against a true ${truth}`);
  assert.ok(Math.abs(dr.value - truth) < 0.005, `DR ${dr.value} against a true ${truth}`);
  // The item-level reading's error, for contrast: what the choice model takes away.
  assert.ok(
    items.dr!.value - truth > 3 * Math.abs(dr.value - truth),
    `item-level DR ${items.dr!.value}, choice DR ${dr.value}, truth ${truth}`,
  );
});
