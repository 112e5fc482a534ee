import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { StateStoreError } from '../errors.js';
import { EmbeddedLog } from '../log/embedded/embedded-log.js';
import type { OutgoingRecord } from '../log/log.js';
import { type CommitMarker, markerRecord } from './changelog/marker.js';
import { jsonCodec } from './codecs/json-codec.js';
import { numberCodec } from './codecs/number-codec.js';
import {
  COUNTS_TOPIC,
  entries,
  type Fixture,
  PARTITION,
  PROFILES_TOPIC,
  type Profile,
  STORES,
  withFixture,
} from './task-state.fixture.js';

const num = (n: number): Buffer => numberCodec.encode(n);
const profile = (p: Profile): Buffer => jsonCodec<Profile>().encode(p);

/** What a commit that crashed after its changelog append (and before its engine write) leaves in one changelog. */
async function appendBatch(
  fx: Fixture,
  topic: string,
  writes: [string, Buffer | null][],
  marker?: Omit<CommitMarker, 'stores' | 'kind'>,
): Promise<void> {
  const records: OutgoingRecord[] = writes.map(([key, value]) => ({ key, value, partition: PARTITION }));
  if (marker)
    records.push(markerRecord(PARTITION, { kind: 'commit', stores: ['counts', 'profiles'], ...marker }));
  await fx.log.append(topic, records);
}

/** Opens task `a`, commits a small state over both stores at input offset 10, closes it; returns its digest. */
async function committedState(fx: Fixture): Promise<Record<string, string>> {
  const state = await fx.open('a');
  state.store<number>('counts').put('a', 1);
  state.store<number>('counts').put('b', 2);
  state.store<Profile>('profiles').put('x', { name: 'X', tags: ['t'] });
  await state.commit(new Map([['in', 10]]));
  const digest = await state.digest();
  await state.close();
  return digest;
}

async function compactAll(fx: Fixture): Promise<void> {
  for (const topic of [COUNTS_TOPIC, PROFILES_TOPIC]) {
    await fx.log.roll(topic);
    await fx.log.compact(topic);
  }
}

describe('TaskState: crash between the changelog append and the engine write', () => {
  test('with the local state intact, the orphans are rolled back and the changelogs match the committed state again', () =>
    withFixture(async (fx) => {
      const digest = await committedState(fx);
      await appendBatch(
        fx,
        COUNTS_TOPIC,
        [
          ['a', num(99)],
          ['c', num(5)],
          ['b', null],
        ],
        { seq: 2, inputOffsets: { in: 20 } },
      );
      await appendBatch(fx, PROFILES_TOPIC, [['x', profile({ name: 'uncommitted', tags: [] })]], {
        seq: 2,
        inputOffsets: { in: 20 },
      });

      const state = await fx.open('a');
      assert.deepEqual(state.recovery, { mode: 'local', restoredRecords: 0, correctedKeys: 4 });
      assert.deepEqual(await state.digest(), digest);
      assert.deepEqual([...state.committedInputOffsets()], [['in', 10]]);
      assert.equal(state.commitSeq(), 1);
      assert.deepEqual(await fx.lastValues(COUNTS_TOPIC), await entries(state, 'counts'));
      assert.deepEqual(await fx.lastValues(PROFILES_TOPIC), await entries(state, 'profiles'));
      await state.close();

      const restored = await fx.open('fresh');
      assert.deepEqual(await restored.digest(), digest);
      assert.deepEqual([...restored.committedInputOffsets()], [['in', 10]]);
      await restored.close();

      await compactAll(fx);
      const afterCompaction = await fx.open('fresh-after-compaction');
      assert.deepEqual(await afterCompaction.digest(), digest);

      // The task goes on normally after the rollback.
      const resumed = await fx.open('a');
      assert.equal(resumed.recovery.correctedKeys, 0);
      resumed.store<number>('counts').put('c', 7);
      await resumed.commit(new Map([['in', 11]]));
      const next = await resumed.digest();
      await resumed.close();
      assert.deepEqual(await (await fx.open('fresh-later')).digest(), next);
    }));

  test('with the local state lost, a restore yields the crashed commit, which reached every changelog whole', () =>
    withFixture(async (fx) => {
      await committedState(fx);
      await appendBatch(fx, COUNTS_TOPIC, [['a', num(99)]], { seq: 2, inputOffsets: { in: 20 } });
      await appendBatch(fx, PROFILES_TOPIC, [['x', null]], { seq: 2, inputOffsets: { in: 20 } });
      const restored = await fx.open('fresh');
      assert.equal(await restored.store<number>('counts').get('a'), 99);
      assert.equal(await restored.store<Profile>('profiles').get('x'), undefined);
      assert.deepEqual([...restored.committedInputOffsets()], [['in', 20]]);
      assert.equal(restored.commitSeq(), 2);
    }));

  test('records after the last marker are rolled back when restoring onto a fresh disk, however long the tail', () =>
    withFixture(async (fx) => {
      const digest = await committedState(fx);
      const tail: [string, Buffer | null][] = Array.from({ length: 3000 }, (_, i) => [`orphan${i}`, num(i)]);
      tail.push(['a', num(50)], ['b', null]);
      await appendBatch(fx, COUNTS_TOPIC, tail.slice(0, 1500));
      await appendBatch(fx, COUNTS_TOPIC, tail.slice(1500));

      const restored = await fx.open('fresh');
      assert.equal(restored.recovery.correctedKeys, 3002);
      assert.deepEqual(await restored.digest(), digest);
      assert.deepEqual([...restored.committedInputOffsets()], [['in', 10]]);
      assert.deepEqual(await fx.lastValues(COUNTS_TOPIC), await entries(restored, 'counts'));
      await restored.close();

      await compactAll(fx);
      const again = await fx.open('fresh-again');
      assert.equal(again.recovery.correctedKeys, 0);
      assert.deepEqual(await again.digest(), digest);
    }));

  test('stores whose last commits disagree cannot be restored onto a fresh disk, while the local state recovers', () =>
    withFixture(async (fx) => {
      const digest = await committedState(fx);
      await appendBatch(fx, COUNTS_TOPIC, [['a', num(99)]], { seq: 2, inputOffsets: { in: 20 } });

      await assert.rejects(fx.open('fresh'), (err: unknown) => {
        assert.ok(err instanceof StateStoreError);
        assert.match(
          err.message,
          /the last commit \(2\) reached the changelogs of some stores but not of profiles \(commit 1\)/,
        );
        assert.match(err.message, /Reset the task/);
        return true;
      });

      const local = await fx.open('a');
      assert.equal(local.recovery.correctedKeys, 1);
      assert.deepEqual(await local.digest(), digest);
      await local.close();
      const restored = await fx.open('fresh-after-local');
      assert.deepEqual(await restored.digest(), digest);
    }));

  test('a rollback after commits that changed nothing keeps their input offsets, also for a later restore', () =>
    withFixture(async (fx) => {
      const digest = await committedState(fx);
      const idle = await fx.open('a');
      await idle.commit(new Map([['in', 15]]));
      await idle.close();
      await appendBatch(fx, COUNTS_TOPIC, [['a', num(99)]], { seq: 2, inputOffsets: { in: 20 } });

      const local = await fx.open('a');
      assert.deepEqual([...local.committedInputOffsets()], [['in', 15]]);
      await local.close();
      const restored = await fx.open('fresh');
      assert.deepEqual(await restored.digest(), digest);
      assert.deepEqual([...restored.committedInputOffsets()], [['in', 15]]);
      assert.equal(restored.commitSeq(), 1);
    }));
});

describe('TaskState: changelogs that do not match the local state', () => {
  test('a changelog that lost acknowledged records is refused', () =>
    withFixture(async (fx) => {
      await committedState(fx);
      const otherLog = await EmbeddedLog.open(join(fx.root, 'other-log'), {
        fsync: 'never',
        maintenanceIntervalMs: 0,
      });
      try {
        for (const topic of [COUNTS_TOPIC, PROFILES_TOPIC])
          await otherLog.ensureTopic({ name: topic, partitions: 2, compacted: true });
        await assert.rejects(fx.open('a', { log: otherLog }), /the changelog lost acknowledged records/);
      } finally {
        await otherLog.close();
      }
    }));

  test('a store added later starts empty, unless its changelog already holds records', () =>
    withFixture(async (fx) => {
      const onlyCounts = [STORES[0]] as typeof STORES;
      const first = await fx.open('a', { stores: onlyCounts });
      first.store<number>('counts').put('a', 1);
      await first.commit(new Map([['in', 1]]));
      await first.close();

      const grown = await fx.open('a');
      assert.equal(await grown.store<number>('counts').get('a'), 1);
      assert.equal(grown.approximateCount('profiles'), 0);
      grown.store<Profile>('profiles').put('p', { name: 'P', tags: [] });
      await grown.commit(new Map([['in', 2]]));
      const digest = await grown.digest();
      await grown.close();
      assert.deepEqual(await (await fx.open('fresh')).digest(), digest);

      const other = await fx.open('b', { stores: onlyCounts });
      await other.close();
      await assert.rejects(fx.open('b'), /store profiles is new to the local state .* already holds records/);
    }));

  test('a store moved to another changelog topic is refused', () =>
    withFixture(async (fx) => {
      await committedState(fx);
      await fx.log.ensureTopic({ name: 'rec.app.moved.changelog', partitions: 2, compacted: true });
      const moved = [{ ...STORES[0], changelogTopic: 'rec.app.moved.changelog' }, STORES[1]] as typeof STORES;
      await assert.rejects(
        fx.open('a', { stores: moved }),
        /was committed to changelog rec\.app\.counts\.changelog, now declared with rec\.app\.moved\.changelog/,
      );
    }));
});
