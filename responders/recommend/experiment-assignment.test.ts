/**
 * The assignment the responder serves by, over many users: shares held to
 * ±1 %, traffic slices, independence between experiments' salts, and the
 * same answer in another process.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { assignVariant, variantOf } from '../../registry/experiments/assignment.js';
import type { Experiment } from '../../schemas/generated/types.js';

const USERS = Array.from({ length: 100_000 }, (_, i) => `u${i}`);

function experiment(
  id: string,
  salt: string,
  shares: number[],
  overrides: Partial<Experiment> = {},
): Experiment {
  return {
    id,
    description: '',
    status: 'running',
    salt,
    traffic_start: 0,
    traffic_end: 1,
    variants: shares.map((share, i) => ({
      name: `v${i}`,
      model: 'promoted',
      share,
      shadow: false,
      ordering: null,
    })),
    primary_metric: 'ctr',
    guardrails: [],
    canary: null,
    reason: null,
    created_ts: 1,
    updated_ts: 1,
    ...overrides,
  };
}

function counts(assign: (userId: string) => string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const user of USERS) {
    const name = assign(user) ?? 'none';
    out.set(name, (out.get(name) ?? 0) + 1);
  }
  return out;
}

test('100,000 users split within ±1 % of the configured shares, a shadow variant taking none', () => {
  const shares = [0.5, 0.3, 0.15, 0.05];
  const ab = experiment('ab', 'salt-a', shares);
  ab.variants.push({ name: 'shadow', model: 'recstream@2', share: 0, shadow: true, ordering: null });
  const split = counts((u) => assignVariant([ab], u)?.variant.name);
  shares.forEach((share, i) => {
    const observed = (split.get(`v${i}`) ?? 0) / USERS.length;
    assert.ok(Math.abs(observed - share) < 0.01, `v${i}: ${observed} for a share of ${share}`);
  });
  assert.equal(split.get('shadow'), undefined);
  assert.equal(split.get('none'), undefined);
});

test('a traffic slice holds its share of users, and the users outside it are in no experiment', () => {
  const half = experiment('half', 'salt-h', [0.5, 0.5], { traffic_start: 0.2, traffic_end: 0.45 });
  const split = counts((u) => assignVariant([half], u)?.variant.name);
  const inside = USERS.length - (split.get('none') ?? 0);
  assert.ok(Math.abs(inside / USERS.length - 0.25) < 0.01, `${inside} users in a 25 % slice`);
  for (const name of ['v0', 'v1']) assert.ok(Math.abs((split.get(name) ?? 0) / inside - 0.5) < 0.01, name);
  assert.equal(
    assignVariant([{ ...half, status: 'stopped' }], 'u1'),
    undefined,
    'a stopped experiment holds nobody',
  );
});

test('two experiments with different salts split users independently (chi-square, 1 degree of freedom)', () => {
  const first = experiment('first', 'salt-1', [0.5, 0.5]);
  const second = experiment('second', 'salt-2', [0.3, 0.7]);
  const joint = [
    [0, 0],
    [0, 0],
  ];
  for (const user of USERS) {
    const a = variantOf(first, user).name === 'v0' ? 0 : 1;
    const b = variantOf(second, user).name === 'v0' ? 0 : 1;
    joint[a]![b]!++;
  }
  const rows = joint.map((row) => row[0]! + row[1]!);
  const cols = [joint[0]![0]! + joint[1]![0]!, joint[0]![1]! + joint[1]![1]!];
  let chi2 = 0;
  for (let a = 0; a < 2; a++)
    for (let b = 0; b < 2; b++) {
      const expected = (rows[a]! * cols[b]!) / USERS.length;
      chi2 += (joint[a]![b]! - expected) ** 2 / expected;
    }
  // 10.83 is the 0.1 % critical value: dependence would push chi2 far past it.
  assert.ok(chi2 < 10.83, `chi2 ${chi2.toFixed(2)} with joint counts ${JSON.stringify(joint)}`);
  // And the same salt would not be independent at all: every v0 of one is a v0 of the other.
  const sameSalt = experiment('same', 'salt-1', [0.5, 0.5]);
  assert.ok(USERS.slice(0, 1000).every((u) => variantOf(first, u).name === variantOf(sameSalt, u).name));
});

test('another process assigns the same 100,000 users alike: no per-process state in the hash', () => {
  const ab = experiment('ab', 'salt-a', [0.5, 0.3, 0.2], { traffic_start: 0.1, traffic_end: 0.9 });
  const digestOf = (names: Iterable<string>) => {
    const hash = createHash('sha256');
    for (const name of names) hash.update(`${name}\n`);
    return hash.digest('hex');
  };
  const here = digestOf(USERS.map((u) => assignVariant([ab], u)?.variant.name ?? '-'));
  const module = fileURLToPath(new URL('../../registry/experiments/assignment.js', import.meta.url));
  const script = `
    import { createHash } from 'node:crypto';
    import { assignVariant } from ${JSON.stringify(module)};
    const ab = JSON.parse(process.argv[1]);
    const hash = createHash('sha256');
    for (let i = 0; i < 100000; i++) hash.update((assignVariant([ab], 'u' + i)?.variant.name ?? '-') + '\\n');
    process.stdout.write(hash.digest('hex'));`;
  const there = execFileSync(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(ab)], {
    encoding: 'utf8',
  });
  assert.equal(there, here);
});
