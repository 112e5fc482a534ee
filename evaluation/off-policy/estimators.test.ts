import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../lib/random.js';
import { compareOffPolicy, estimateOffPolicy, type LoggedDecision } from './estimators.js';

/**
 * A world with two contexts and three actions whose click probabilities are
 * known, so a target policy's value is known in closed form:
 * V(π) = Σ_x P(x) Σ_a π(a|x) p(x, a).
 */
const P_CONTEXT = [0.6, 0.4];
const CLICK = [
  [0.1, 0.3, 0.05],
  [0.4, 0.05, 0.2],
];
const LOGGING = [
  [0.5, 0.25, 0.25],
  [0.2, 0.4, 0.4],
];
const TARGET = [
  [0.1, 0.8, 0.1],
  [0.7, 0.1, 0.2],
];

function trueValue(policy: number[][]): number {
  let value = 0;
  P_CONTEXT.forEach((px, x) => {
    policy[x]!.forEach((pa, a) => {
      value += px * pa * CLICK[x]![a]!;
    });
  });
  return value;
}

function pick(rng: Rng, probabilities: readonly number[]): number {
  let u = rng.next();
  for (let i = 0; i < probabilities.length; i++) {
    u -= probabilities[i]!;
    if (u < 0) return i;
  }
  return probabilities.length - 1;
}

/** A log of `n` decisions by `logging`, seen from `target`, with a reward model off by `modelBias`. */
function log(
  n: number,
  seed: number,
  logging: number[][],
  target: number[][],
  modelBias = 0,
): LoggedDecision[] {
  const rng = Rng.derive(seed, 1);
  const decisions: LoggedDecision[] = [];
  for (let i = 0; i < n; i++) {
    const x = pick(rng, P_CONTEXT);
    const a = pick(rng, logging[x]!);
    const reward = rng.next() < CLICK[x]![a]! ? 1 : 0;
    const model = CLICK[x]!.map((p) => Math.min(1, Math.max(0, p + modelBias)));
    let unsupported = 0;
    target[x]!.forEach((pa, b) => {
      if (logging[x]![b] === 0) unsupported += pa;
    });
    decisions.push({
      propensity: logging[x]![a]!,
      reward,
      target: target[x]![a]!,
      unsupported,
      modelReward: model[a]!,
      modelValue: target[x]!.reduce((sum, pa, b) => sum + pa * model[b]!, 0),
    });
  }
  return decisions;
}

test('IPS, SNIPS and DR cover the closed-form value of a target policy', () => {
  const truth = trueValue(TARGET);
  let covered = { ips: 0, snips: 0, dr: 0 };
  const runs = 40;
  for (let seed = 1; seed <= runs; seed++) {
    const result = estimateOffPolicy(log(4000, seed, LOGGING, TARGET, 0.05));
    assert.ok(result.supported);
    for (const name of ['ips', 'snips', 'dr'] as const) {
      const e = result[name]!;
      if (e.ci[0] <= truth && truth <= e.ci[1]) covered = { ...covered, [name]: covered[name] + 1 };
    }
  }
  // 95 % intervals: at least 33 of 40 cover (the chance of fewer is below 1 % for a true 95 %).
  for (const [name, count] of Object.entries(covered))
    assert.ok(count >= 33, `${name} covered ${count}/${runs}`);
});

test('the estimates converge on the truth and DR with a good model is the tightest', () => {
  const truth = trueValue(TARGET);
  const result = estimateOffPolicy(log(100_000, 7, LOGGING, TARGET, 0));
  assert.ok(result.supported);
  assert.ok(Math.abs(result.ips.value - truth) < 0.006, `ips ${result.ips.value} vs ${truth}`);
  assert.ok(Math.abs(result.snips.value - truth) < 0.006, `snips ${result.snips.value} vs ${truth}`);
  assert.ok(Math.abs(result.dr!.value - truth) < 0.004, `dr ${result.dr!.value} vs ${truth}`);
  assert.ok(result.dr!.stderr < result.ips.stderr);
});

test('DR over decisions of which some have no reward model takes their IPS terms, and still covers the truth', () => {
  const truth = trueValue(TARGET);
  let covered = 0;
  const runs = 40;
  for (let seed = 1; seed <= runs; seed++) {
    const decisions = log(4000, seed, LOGGING, TARGET, 0.05).map((d, i) =>
      i % 5 === 0
        ? { propensity: d.propensity, reward: d.reward, target: d.target, unsupported: d.unsupported }
        : d,
    );
    const result = estimateOffPolicy(decisions);
    assert.ok(result.supported && result.dr !== undefined);
    assert.equal(result.withoutModel, 800);
    if (result.dr.ci[0] <= truth && truth <= result.dr.ci[1]) covered++;
  }
  assert.ok(covered >= 33, `DR covered ${covered}/${runs}`);
  const one = log(10, 1, LOGGING, TARGET).map((d, i) => (i === 0 ? { ...d, modelReward: undefined } : d));
  const result = estimateOffPolicy(one);
  assert.ok(result.supported);
  const terms = one.map((d) =>
    d.modelReward === undefined
      ? (d.target / d.propensity) * d.reward
      : d.modelValue! + (d.target / d.propensity) * (d.reward - d.modelReward),
  );
  assert.ok(Math.abs(result.dr!.value - terms.reduce((a, b) => a + b, 0) / terms.length) < 1e-12);
});

test('with heavy-tailed weights the intervals still cover: the Wilson floor at the effective sample size', () => {
  // The target always takes an action the logging policy takes once in 50: a few matches a log, and
  // often none of them clicked, where the sample variance alone gives an interval of width 0.
  const rare = [
    [0.96, 0.02, 0.02],
    [0.96, 0.02, 0.02],
  ];
  const target = [
    [0, 1, 0],
    [0, 0, 1],
  ];
  const truth = trueValue(target);
  const runs = 40;
  const covered = { ips: 0, snips: 0, dr: 0 };
  let normalCovered = 0;
  for (let seed = 1; seed <= runs; seed++) {
    const result = estimateOffPolicy(log(150, seed, rare, target, 0.05));
    assert.ok(result.supported);
    for (const name of ['ips', 'snips', 'dr'] as const) {
      const e = result[name]!;
      if (e.ci[0] <= truth && truth <= e.ci[1]) covered[name]++;
    }
    if (Math.abs(result.snips.value - truth) <= 1.96 * result.snips.stderr) normalCovered++;
  }
  assert.ok(normalCovered < 33, `the normal interval alone covered ${normalCovered}/${runs}`);
  for (const [name, count] of Object.entries(covered))
    assert.ok(count >= 33, `${name} covered ${count}/${runs}`);
});

test('the effective sample size is (Σw)² / Σw²', () => {
  const decisions: LoggedDecision[] = [
    { propensity: 0.5, reward: 1, target: 1 },
    { propensity: 0.25, reward: 0, target: 0.5 },
    { propensity: 1, reward: 1, target: 0 },
  ];
  const result = estimateOffPolicy(decisions);
  assert.ok(result.supported);
  assert.equal(result.effectiveSampleSize, 16 / 8);
  assert.equal(result.ips.value, 2 / 3);
  assert.equal(result.snips.value, 0.5);
  assert.equal(result.dr, undefined);
  assert.equal(result.withoutModel, 3);
});

test('a deterministic logging policy cannot value a policy that differs from it', () => {
  const deterministic = [
    [0, 1, 0],
    [1, 0, 0],
  ];
  const other = [
    [1, 0, 0],
    [0, 0, 1],
  ];
  const result = estimateOffPolicy(log(2000, 3, deterministic, other));
  assert.equal(result.supported, false);
  assert.ok(!result.supported && result.unsupportedMass === 1 && /never/.test(result.reason));
  const same = estimateOffPolicy(log(2000, 3, deterministic, deterministic));
  assert.ok(same.supported);
  assert.ok(Math.abs(same.snips.value - trueValue(deterministic)) < 0.03);
});

test('a propensity outside (0, 1] is refused with the decision named', () => {
  assert.throws(() => estimateOffPolicy([{ propensity: 0, reward: 1, target: 1 }]), /decision 0: propensity/);
});

/** A target close to TARGET: a tenth of each context's mass moved to the action it clicks most on. */
const NEAR_TARGET = [
  [0.1, 0.85, 0.05],
  [0.75, 0.1, 0.15],
];

test('the paired difference of two targets covers its closed-form value, narrower than the two intervals apart', () => {
  // The same seed draws the same contexts, actions and clicks whatever the target: one log, two views.
  const truth = trueValue(NEAR_TARGET) - trueValue(TARGET);
  let covered = 0;
  let narrower = 0;
  const runs = 40;
  for (let seed = 1; seed <= runs; seed++) {
    const near = log(4000, seed, LOGGING, NEAR_TARGET, 0.05);
    const target = log(4000, seed, LOGGING, TARGET, 0.05);
    const result = compareOffPolicy(near, target);
    assert.ok(result.supported);
    assert.equal(result.estimator, 'dr');
    const d = result.difference;
    if (d.ci[0] <= truth && truth <= d.ci[1]) covered++;
    if (d.stderr < Math.hypot(result.candidate.stderr, result.baseline.stderr) / 2) narrower++;
  }
  assert.ok(covered >= 33, `the difference covered ${covered}/${runs}`);
  assert.equal(narrower, runs, 'what the two estimates share cancels');
});

test('a target compared with itself differs by exactly 0; without reward models the terms are IPS', () => {
  const decisions = log(500, 2, LOGGING, TARGET).map(({ propensity, reward, target }) => ({
    propensity,
    reward,
    target,
  }));
  const result = compareOffPolicy(decisions, decisions);
  assert.ok(result.supported);
  assert.equal(result.estimator, 'ips');
  assert.deepEqual([result.difference.value, ...result.difference.ci], [0, 0, 0]);
});

test('a comparison the log cannot support says which policy, and two logs of different lengths are refused', () => {
  const deterministic = [
    [0, 1, 0],
    [1, 0, 0],
  ];
  const result = compareOffPolicy(
    log(500, 3, deterministic, TARGET),
    log(500, 3, deterministic, deterministic),
  );
  assert.ok(!result.supported && /^the candidate: .*never takes/.test(result.reason), JSON.stringify(result));
  assert.throws(() => compareOffPolicy(log(3, 1, LOGGING, TARGET), log(4, 1, LOGGING, TARGET)), /3 and 4/);
});
