import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { GroundTruth, TRUTH_FORMAT } from './truth.js';
import { PREFERENCE_WEIGHTS, World } from './world.js';

const world = new World({ seed: 9, users: 120, items: 90, events: 1000, days: 10 });
const truth = new GroundTruth(world);
const { start, spanMs } = world.options;
const late = start + spanMs;

test('topItems ranks the available items by preference, best first', () => {
  const all = truth.topItems('u3', late, world.catalog.count);
  const available = [...Array(world.catalog.count).keys()].filter((i) =>
    world.catalog.isAvailableAt(i, late),
  );
  assert.equal(all.length, available.length);
  assert.ok(available.length < world.catalog.count, 'some items are retired or unreleased at the end');
  for (let k = 1; k < all.length; k++) assert.ok(all[k - 1]!.score >= all[k]!.score);
  for (const s of all.slice(0, 10)) assert.equal(s.score, truth.preference('u3', s.item_id, late));
  assert.deepEqual(
    truth.topItems(3, late, 5).map((s) => s.item_id),
    all.slice(0, 5).map((s) => s.item_id),
  );
  const before = truth.topItems('u3', start, world.catalog.count);
  assert.ok(
    before.every((s) => world.catalog.releaseTs[s.item]! <= start),
    'no item before its release',
  );
});

test('a drifting user prefers other items at the end than at the start', () => {
  const { population } = world;
  const drifting = [...Array(population.count).keys()].find(
    (u) => population.tasteModel(population.profile(u)).drift !== null,
  );
  assert.ok(drifting !== undefined);
  const early = truth.taste(drifting, start);
  const later = truth.taste(drifting, late);
  assert.notDeepEqual(Array.from(early), Array.from(later));
});

test('unknown users and items are refused, naming the valid range', () => {
  assert.throws(() => truth.preference('u120', 'i0', start), /u0 … u119/);
  assert.throws(() => truth.preference('x1', 'i0', start), /no simulated user "x1"/);
  assert.throws(() => truth.preference('u0', 'i90', start), /i0 … i89/);
});

test('the truth file holds vectors that reproduce every preference by its documented formula', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-truth-'));
  try {
    const path = join(dir, 'truth.jsonl');
    const at = start + spanMs / 2;
    const counts = await truth.writeFile(path, { at, top: 7 });
    assert.deepEqual(counts, { users: 120, items: 90 });
    const lines = (await readFile(path, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const [header, ...rest] = lines;
    assert.equal(header.format, TRUTH_FORMAT);
    assert.equal(header.at, at);
    assert.deepEqual(header.weights, PREFERENCE_WEIGHTS);
    const items = new Map(rest.filter((l) => l.kind === 'item').map((l) => [l.item_id, l]));
    const users = rest.filter((l) => l.kind === 'user');
    assert.equal(items.size, 90);
    assert.equal(users.length, 120);
    for (const user of users.slice(0, 20)) {
      assert.deepEqual(
        user.top.map((t: [string, number]) => t[0]),
        truth.topItems(user.user_id, at, 7).map((s) => s.item_id),
      );
      for (const [itemId, score] of user.top as [string, number][]) {
        const item = items.get(itemId);
        assert.equal(item.available, true);
        const dot = user.taste.reduce((s: number, x: number, k: number) => s + x * item.vector[k], 0);
        const language =
          user.language === item.language
            ? header.weights.language
            : item.language === 'en'
              ? header.weights.english
              : 0;
        const fromFile = header.weights.taste * dot + header.weights.quality * item.quality + language;
        assert.ok(Math.abs(fromFile - score) < 1e-3, `${user.user_id}/${itemId}: ${fromFile} vs ${score}`);
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
