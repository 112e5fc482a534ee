/**
 * The always-valid test on simulated Bernoulli streams (seeded): peeking
 * every 100 impressions keeps the false-positive rate of A/A tests at α,
 * a real lift is found, and the intervals cover.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../sim/random.js';
import { DEFAULT_SEQUENTIAL, differenceTest, mixtureP, verdict, wilsonInterval } from './sequential-test.js';

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
