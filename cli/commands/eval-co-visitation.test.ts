/**
 * `recstream eval` with the co-visitation candidates on, on a small
 * generated `lines` data set: the co-visitation counts of the evaluated
 * pipeline are those of the training part and nothing else. Every item's
 * neighbours are exactly the items some user had beside it in training
 * (every training line lies within one window); an item only the holdout
 * has is nowhere, and items held out together are not neighbours for it.
 * The merged and `alone` modes both serve and score every holdout user.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCliOk } from '../../test/cli.js';

const ENV = {
  RECSTREAM_COMMIT_INTERVAL_MS: '50',
  RECSTREAM_LOG_FSYNC: 'never',
  RECSTREAM_TRAIN_CONFIG: JSON.stringify({
    epochs: 4,
    ranker_epochs: 1,
    dim: 16,
    threads: 2,
    refit: false,
    uniform_negatives: 64,
    batch_size: 256,
  }),
  RECSTREAM_GATE_POPULARITY_MARGIN: '1',
  RECSTREAM_SERVE_CO_VISITATION: '50',
  // No eviction: every pair stays, so the lists can be compared with the training part's pairs.
  RECSTREAM_CO_VISITATION_NEIGHBOURS: '1000',
};

const USERS = 120;
const ITEMS = 60;
const HOLDOUT_ONLY = 'i_only_in_holdout';

/** Each user 6 training items and 3 held out, from a band of 15 items, seeded. */
function world(): { train: string[][]; test: string[][] } {
  let seed = 7;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const train: string[][] = [];
  const test: string[][] = [];
  for (let u = 0; u < USERS; u++) {
    const items = new Set<string>();
    while (items.size < 9) items.add(`i${(u + Math.floor(random() * 15)) % ITEMS}`);
    const list = [...items];
    train.push([`u${u}`, ...list.slice(0, 6)]);
    test.push([`u${u}`, ...list.slice(6), ...(u === 5 ? [HOLDOUT_ONLY] : [])]);
  }
  return { train, test };
}

test('the co-visitation counts recstream eval serves from hold the training part only, never the holdout', {
  timeout: 240_000,
}, async () => {
  const root = await mkdtemp(join(tmpdir(), 'recstream-eval-co-visitation-'));
  try {
    const { train, test: holdout } = world();
    const lines = (rows: string[][]) => `${rows.map((r) => r.join(' ')).join('\n')}\n`;
    await writeFile(join(root, 'train.txt'), lines(train));
    await writeFile(join(root, 'test.txt'), lines(holdout));
    const dataDir = join(root, 'data');
    const args = ['eval', '--train', join(root, 'train.txt'), '--holdout', join(root, 'test.txt')];
    args.push('--format', 'lines', '--json', '--data-dir', dataDir);

    const merged = JSON.parse((await runCliOk(args, ENV)).stdout);
    assert.equal(merged.users, USERS);
    assert.deepEqual(merged.co_visitation, { candidates: 50, mode: 'merge', weight: 0.1 });
    assert.ok(merged.recstream.hr > 0);

    const expected = new Map<string, Set<string>>();
    for (const [, ...items] of train)
      for (const a of items) {
        const set = expected.get(a) ?? new Set();
        for (const b of items) if (b !== a) set.add(b);
        expected.set(a, set);
      }
    // The holdout pairs something no training line does, or the comparison would prove nothing.
    const heldPairs = holdout.flatMap(([, ...items]) => items.flatMap((a) => items.map((b) => [a, b])));
    assert.ok(heldPairs.some(([a, b]) => a !== b && !expected.get(a!)?.has(b!)));

    const keys = [...Array.from({ length: ITEMS }, (_, i) => `i${i}`), HOLDOUT_ONLY];
    const got = (
      await runCliOk(['online', 'get', 'co_visitation', ...keys, '--data-dir', dataDir], ENV)
    ).stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { key: string; value: { items: string[] } | null });
    assert.equal(got.length, keys.length);
    for (const { key, value } of got) {
      const want = [...(expected.get(key) ?? [])].sort();
      const have = [...(value?.items ?? [])].sort();
      assert.deepEqual(have, want, `the neighbours of ${key} are its training co-visits`);
      assert.ok(!have.includes(HOLDOUT_ONLY), `${key} has no holdout-only neighbour`);
    }
    assert.equal(got.at(-1)!.value, null, 'an item only the holdout has has no neighbours');

    const alone = JSON.parse(
      (await runCliOk(args, { ...ENV, RECSTREAM_SERVE_CO_VISITATION_MODE: 'alone' })).stdout,
    );
    assert.equal(alone.users, USERS);
    assert.equal(alone.co_visitation.mode, 'alone');
    assert.equal(alone.imported, false);
    assert.ok(alone.recstream.hr > 0);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
