/**
 * The always-valid test on simulated Bernoulli streams (seeded): peeking
 * every 100 impressions keeps the false-positive rate of A/A tests at α,
 * a real lift is found, and the intervals cover.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from './random.js';
import {
  DEFAULT_SEQUENTIAL,
  differenceTest,
  mixtureP,
  type Proportion,
  rateVariance,
  verdict,
  wilsonInterval,
} from './sequential-test.js';

interface Run {
  /** Whether the test rejected θ = 0 at any peek. */
  rejected: boolean;
  /** Whether the true difference fell outside the confidence sequence at any peek. */
  missed: boolean;
  minP: number;
}

/** One experiment: `n` impressions per arm, peeked every `every`. */
function run(rng: Rng, pa: number, pb: number, n: number, every: number): Run {
  let xa = 0;
  let xb = 0;
  let minP = 1;
  let missed = false;
  for (let i = 1; i <= n; i++) {
    if (rng.next() < pa) xa++;
    if (rng.next() < pb) xb++;
    if (i % every !== 0) continue;
    const t = differenceTest({ successes: xa, trials: i }, { successes: xb, trials: i });
    if (t === undefined) continue;
    minP = Math.min(minP, t.p);
    if (pb - pa < t.interval[0] || pb - pa > t.interval[1]) missed = true;
  }
  return { rejected: minP <= DEFAULT_SEQUENTIAL.alpha, missed, minP };
}

test('A/A tests peeked every 100 impressions reject no more often than α (1000 runs)', () => {
  const rng = Rng.derive(7, 1);
  let falsePositives = 0;
  let missed = 0;
  const runs = 1000;
  for (let r = 0; r < runs; r++) {
    const out = run(rng, 0.05, 0.05, 10_000, 100);
    if (out.rejected) falsePositives++;
    if (out.missed) missed++;
  }
  // α plus two binomial standard deviations of 1000 runs.
  assert.ok(falsePositives / runs <= 0.05 + 0.014, `false-positive rate ${falsePositives / runs}`);
  assert.ok(missed / runs <= 0.05 + 0.014, `the confidence sequence missed 0 in ${missed / runs} of runs`);
});

test('a fixed-horizon z-test peeked the same way would reject far more often (the problem the mSPRT solves)', () => {
  const rng = Rng.derive(7, 2);
  let naive = 0;
  const runs = 300;
  for (let r = 0; r < runs; r++) {
    let xa = 0;
    let xb = 0;
    let hit = false;
    for (let i = 1; i <= 10_000 && !hit; i++) {
      if (rng.next() < 0.05) xa++;
      if (rng.next() < 0.05) xb++;
      if (i % 100 !== 0 || xa < 10 || xb < 10) continue;
      const pa = xa / i;
      const pb = xb / i;
      const z = (pb - pa) / Math.sqrt((pa * (1 - pa) + pb * (1 - pb)) / i);
      hit = Math.abs(z) > 1.96;
    }
    if (hit) naive++;
  }
  assert.ok(naive / runs > 0.15, `naive peeking rejected in ${naive / runs} of A/A runs`);
});

test('a real lift (5 % → 6.5 % click-through) is found with power above 0.8, and the confidence sequence covers it', () => {
  const rng = Rng.derive(7, 3);
  let found = 0;
  let missed = 0;
  const runs = 200;
  for (let r = 0; r < runs; r++) {
    const out = run(rng, 0.05, 0.065, 10_000, 100);
    if (out.rejected) found++;
    if (out.missed) missed++;
  }
  assert.ok(found / runs >= 0.8, `power ${found / runs}`);
  assert.ok(
    missed / runs <= 0.05 + 0.03,
    `the confidence sequence missed the lift in ${missed / runs} of runs`,
  );
});

test('the Wilson interval of a click-through covers the true rate in about 95 % of samples', () => {
  const rng = Rng.derive(7, 4);
  let covered = 0;
  const samples = 2000;
  for (let s = 0; s < samples; s++) {
    let x = 0;
    for (let i = 0; i < 400; i++) if (rng.next() < 0.08) x++;
    const [lo, hi] = wilsonInterval({ successes: x, trials: 400 });
    if (lo <= 0.08 && 0.08 <= hi) covered++;
  }
  assert.ok(covered / samples >= 0.93 && covered / samples <= 0.97, `coverage ${covered / samples}`);
  assert.deepEqual(wilsonInterval({ successes: 0, trials: 0 }), [0, 1]);
});

test('the mixture p-value is 1 at no difference and falls with the evidence; a weight tests a tolerance', () => {
  assert.equal(mixtureP(0, 0, 1e-5, 0.02), 1);
  assert.ok(mixtureP(0.01, 0, 1e-5, 0.02) < mixtureP(0.005, 0, 1e-5, 0.02));
  assert.equal(differenceTest({ successes: 5, trials: 99 }, { successes: 50, trials: 100 }), undefined);
  assert.equal(differenceTest({ successes: 2, trials: 100 }, { successes: 7, trials: 100 }), undefined);
  const a = { successes: 500, trials: 10_000 };
  const b = { successes: 470, trials: 10_000 };
  assert.ok(differenceTest(a, b)!.estimate < 0);
  // 4.7 % is above 90 % of 5 %: within a 10 % tolerance.
  assert.ok(differenceTest(a, b, DEFAULT_SEQUENTIAL, 0.9)!.estimate > 0);
});

test('verdicts name the variant, the control and the always-valid p-value', () => {
  assert.equal(
    verdict('candidate', 'control', 0.003, 0.01, 0.05),
    'candidate better than control (always-valid p=0.003)',
  );
  assert.equal(
    verdict('candidate', 'control', 0.0001, -0.01, 0.05),
    'candidate worse than control (always-valid p=<0.001)',
  );
  assert.equal(
    verdict('candidate', 'control', 0.41, 0.001, 0.05),
    'no significant difference yet between candidate and control (always-valid p=0.410)',
  );
  assert.match(verdict('candidate', 'control', null, null, 0.05), /^not enough data yet/);
});

/**
 * One arm of an A/A test whose users differ: a tenth are heavy users, twenty
 * times as active and clicking 30 % of what they see, the rest click 2 %.
 * Each list shows 6 items to one user drawn by activity; `lift` multiplies
 * every user's click-through.
 */
class ClusteredArm {
  private readonly heavy: boolean[];
  private readonly clicks: Int32Array;
  private readonly shown: Int32Array;
  private readonly weights: number[];
  private readonly total: number;

  constructor(
    private readonly rng: Rng,
    users: number,
    private readonly lift = 1,
  ) {
    this.heavy = Array.from({ length: users }, () => rng.next() < 0.1);
    this.weights = this.heavy.map((h) => (h ? 20 : 1));
    this.total = this.weights.reduce((a, b) => a + b, 0);
    this.clicks = new Int32Array(users);
    this.shown = new Int32Array(users);
  }

  serveList(): void {
    let x = this.rng.next() * this.total;
    let u = 0;
    while (x >= this.weights[u]! && u < this.weights.length - 1) x -= this.weights[u++]!;
    const p = (this.heavy[u] ? 0.3 : 0.02) * this.lift;
    for (let i = 0; i < 6; i++) if (this.rng.next() < p) this.clicks[u]!++;
    this.shown[u]! += 6;
  }

  proportion(withUnits: boolean): Proportion {
    let successes = 0;
    let trials = 0;
    let count = 0;
    let successesSq = 0;
    let trialsSq = 0;
    let cross = 0;
    for (let u = 0; u < this.shown.length; u++) {
      const x = this.clicks[u]!;
      const n = this.shown[u]!;
      if (n === 0) continue;
      successes += x;
      trials += n;
      count++;
      successesSq += x * x;
      trialsSq += n * n;
      cross += x * n;
    }
    return withUnits
      ? { successes, trials, units: { count, successesSq, trialsSq, cross } }
      : { successes, trials };
  }
}

/** Shares of `runs` experiments of 3000 lists per arm, peeked every 50, rejected by the test over impressions and over users. */
function clusteredRuns(
  rng: Rng,
  runs: number,
  users: number,
  lift: number,
): { impressions: number; users: number } {
  let overImpressions = 0;
  let overUsers = 0;
  for (let r = 0; r < runs; r++) {
    const a = new ClusteredArm(rng, users);
    const b = new ClusteredArm(rng, users, lift);
    let minImpressions = 1;
    let minUsers = 1;
    for (let list = 1; list <= 3000; list++) {
      a.serveList();
      b.serveList();
      if (list % 50 !== 0) continue;
      const naive = differenceTest(a.proportion(false), b.proportion(false));
      const byUser = differenceTest(a.proportion(true), b.proportion(true));
      if (naive !== undefined) minImpressions = Math.min(minImpressions, naive.p);
      if (byUser !== undefined) minUsers = Math.min(minUsers, byUser.p);
    }
    if (minImpressions <= DEFAULT_SEQUENTIAL.alpha) overImpressions++;
    if (minUsers <= DEFAULT_SEQUENTIAL.alpha) overUsers++;
  }
  return { impressions: overImpressions / runs, users: overUsers / runs };
}

test('with heavy users, A/A tests over impressions reject too often; over users they hold α (300 runs)', () => {
  const rejected = clusteredRuns(Rng.derive(7, 6), 300, 200, 1);
  assert.ok(rejected.impressions > 0.1, `over impressions: false positives in ${rejected.impressions}`);
  // α plus two binomial standard deviations of 300 runs.
  assert.ok(rejected.users <= 0.05 + 0.025, `over users: false positives in ${rejected.users}`);
});

test('with heavy users, the test over users still finds a real lift of a third with 2,000 users an arm (100 runs)', () => {
  const found = clusteredRuns(Rng.derive(7, 7), 100, 2000, 4 / 3);
  assert.ok(found.users >= 0.8, `over users: found in ${found.users} of runs`);
});

test("the variance over users is the delta method's, and never below the binomial one", () => {
  // Three users: (clicks, impressions) = (0, 10), (1, 10), (8, 10): R = 0.3, every user 10 impressions.
  const units = { count: 3, successesSq: 0 + 1 + 64, trialsSq: 300, cross: 0 + 10 + 80 };
  const p = { successes: 9, trials: 30, units };
  // With equal impressions the delta method is the variance of the users' rates over k: s² = ((0−.3)² + (.1−.3)² + (.8−.3)²)/2 = 0.19, / 3.
  assert.ok(Math.abs(rateVariance(p) - 0.19 / 3) < 1e-12, String(rateVariance(p)));
  const binomial = rateVariance({ successes: 9, trials: 30 });
  // Three users alike (3 clicks of 10 each): the spread over users is 0, the binomial one stays.
  const alike = { successes: 9, trials: 30, units: { count: 3, successesSq: 27, trialsSq: 300, cross: 90 } };
  assert.equal(rateVariance(alike), binomial);
  assert.equal(rateVariance({ ...p, units: { ...units, count: 1 } }), binomial);
});
