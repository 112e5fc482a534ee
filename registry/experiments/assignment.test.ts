import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Experiment, ExperimentVariant } from '../../schemas/generated/types.js';
import { assignVariant, inTraffic, unitHash, variantOf } from './assignment.js';

const USERS = Array.from({ length: 100_000 }, (_, i) => `u${i}`);

function served(name: string, share: number, model = 'promoted'): ExperimentVariant {
  return { name, model, share, shadow: false, ordering: null };
}

function experiment(id: string, salt: string, variants: ExperimentVariant[], slice = [0, 1]): Experiment {
  return {
    id,
    description: '',
    status: 'running',
    salt,
    traffic_start: slice[0]!,
    traffic_end: slice[1]!,
    variants,
    primary_metric: 'ctr',
    guardrails: [],
    canary: null,
    reason: null,
    created_ts: 0,
    updated_ts: 0,
  };
}

function split(e: Experiment): Map<string, number> {
  const counts = new Map<string, number>();
  for (const user of USERS) {
    const name = variantOf(e, user).name;
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return counts;
}

function assertShares(counts: Map<string, number>, shares: Record<string, number>): void {
  for (const [name, share] of Object.entries(shares)) {
    const observed = (counts.get(name) ?? 0) / USERS.length;
    assert.ok(Math.abs(observed - share) <= 0.01, `${name}: ${observed} of users, configured ${share}`);
  }
}

test('100,000 users split within ±1 % of the configured shares (0.5/0.3/0.2 and 0.05/0.95)', () => {
  const three = experiment('three', 's3', [served('a', 0.5), served('b', 0.3), served('c', 0.2)]);
  assertShares(split(three), { a: 0.5, b: 0.3, c: 0.2 });
  const canary = experiment('canary', 's2', [
    served('candidate', 0.05, 'recstream@3'),
    served('control', 0.95),
  ]);
  assertShares(split(canary), { candidate: 0.05, control: 0.95 });
});

test('the split is deterministic: the same variant for a user on every call', () => {
  const e = experiment('ab', 'salt-1', [served('a', 0.5), served('b', 0.5)]);
  const first = USERS.slice(0, 5000).map((u) => variantOf(e, u).name);
  const again = USERS.slice(0, 5000).map((u) => variantOf({ ...e }, u).name);
  assert.deepEqual(again, first);
  // Pinned: another language recomputing sha256(salt + "\0" + user)[:6] / 2**48 gets this.
  // Python: int(hashlib.sha256(b'salt-1\0u0').hexdigest()[:12], 16) / 2**48
  assert.equal(unitHash('salt-1', 'u0'), 0.7780385214295187);
  assert.equal(unitHash('recstream-traffic', 'u42'), 0.6127516607404857);
});

test('two experiments with different salts split users independently (joint counts, chi-square)', () => {
  const first = experiment('x', 'salt-x', [served('a', 0.5), served('b', 0.5)]);
  const second = experiment('y', 'salt-y', [served('c', 0.3), served('d', 0.7)]);
  const joint = new Map<string, number>();
  for (const user of USERS) {
    const key = `${variantOf(first, user).name}${variantOf(second, user).name}`;
    joint.set(key, (joint.get(key) ?? 0) + 1);
  }
  let chiSquare = 0;
  for (const [a, pa] of [
    ['a', 0.5],
    ['b', 0.5],
  ] as const)
    for (const [c, pc] of [
      ['c', 0.3],
      ['d', 0.7],
    ] as const) {
      const observed = joint.get(`${a}${c}`) ?? 0;
      const expected = pa * pc * USERS.length;
      assert.ok(
        Math.abs(observed / USERS.length - pa * pc) <= 0.01,
        `${a}×${c}: ${observed} users, ${expected} expected`,
      );
      chiSquare += (observed - expected) ** 2 / expected;
    }
  // One degree of freedom: 10.83 is the 0.1 % critical value.
  assert.ok(chiSquare < 10.83, `chi-square ${chiSquare.toFixed(2)}`);
});

test('a canary growing 0.05 → 0.25 keeps every user that was in the candidate', () => {
  const at = (share: number) =>
    experiment('canary', 'grow', [served('candidate', share, 'recstream@3'), served('control', 1 - share)]);
  const small = USERS.filter((u) => variantOf(at(0.05), u).name === 'candidate');
  const large = new Set(USERS.filter((u) => variantOf(at(0.25), u).name === 'candidate'));
  assert.ok(small.length > 4000, `${small.length} users in the 5 % candidate`);
  for (const user of small) assert.ok(large.has(user), `${user} left the candidate when it grew`);
  assertShares(new Map([['candidate', large.size]]), { candidate: 0.25 });
});

test('users outside the traffic slice are in no experiment; inside, in the one holding the slice', () => {
  const low = experiment('low', 'l', [served('a', 1)], [0.2, 0.5]);
  const high = experiment('high', 'h', [served('b', 1)], [0.5, 0.6]);
  let inLow = 0;
  let inHigh = 0;
  for (const user of USERS) {
    const at = assignVariant([low, high], user);
    if (at === undefined) {
      assert.ok(!inTraffic(low, user) && !inTraffic(high, user));
      continue;
    }
    assert.equal(at.experiment.id === 'low', inTraffic(low, user));
    if (at.experiment.id === 'low') inLow++;
    else inHigh++;
  }
  assertShares(
    new Map([
      ['low', inLow],
      ['high', inHigh],
    ]),
    { low: 0.3, high: 0.1 },
  );
  assert.equal(assignVariant([], 'u1'), undefined);
  assert.equal(
    assignVariant([{ ...low, traffic_start: 0, traffic_end: 1, status: 'stopped' }], 'u1'),
    undefined,
  );
});

test('shadow variants take no users; shares that sum to 1 only within rounding leave nobody unassigned', () => {
  const e = experiment('shadowed', 'sh', [
    served('a', 0.1),
    { name: 'shadow', model: 'recstream@2', share: 0.5, shadow: true, ordering: null },
    served('b', 0.2),
    served('c', 0.7 - 1e-12),
  ]);
  const counts = split(e);
  assert.equal(counts.get('shadow'), undefined);
  assertShares(counts, { a: 0.1, b: 0.2, c: 0.7 });
});
