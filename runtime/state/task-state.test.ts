import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { StateStoreError } from '../errors.js';
import type { EventLog } from '../log/log.js';
import {
  COUNTS_TOPIC,
  entries,
  PARTITION,
  PROFILES_TOPIC,
  type Profile,
  STORES,
  withFixture,
} from './task-state.fixture.js';
import type { TaskState } from './task-state.js';

const EMPTY_DIGEST = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** A few commits over both stores, with overwrites and deletes. */
async function writeHistory(state: TaskState): Promise<void> {
  const counts = state.store<number>('counts');
  const profiles = state.store<Profile>('profiles');
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 40; i++) {
      const key = `u${i}`;
      counts.put(key, ((await counts.get(key)) ?? 0) + i);
      if (i % 3 === round) profiles.put(key, { name: `user ${i} round ${round}`, tags: [`t${round}`] });
    }
    counts.delete(`u${round}`);
    profiles.delete(`u${round + 10}`);
    await state.commit(new Map([['rec.interactions', 100 * (round + 1)]]));
  }
}

describe('TaskState: commit and reopen', () => {
  test('committed state and input offsets survive a reopen of the same dir', () =>
    withFixture(async (fx) => {
      const state = await fx.open('a');
      assert.equal(state.recovery.mode, 'restored');
      assert.equal(state.committedInputOffsets().size, 0);
      await writeHistory(state);
      const digest = await state.digest();
      const counts = await entries(state, 'counts');
      await state.close();

      const again = await fx.open('a');
      assert.equal(again.recovery.mode, 'local');
      assert.deepEqual(again.recovery, { mode: 'local', restoredRecords: 0, correctedKeys: 0 });
      assert.deepEqual(await again.digest(), digest);
      assert.deepEqual(await entries(again, 'counts'), counts);
      assert.deepEqual([...again.committedInputOffsets()], [['rec.interactions', 300]]);
      assert.equal(again.commitSeq(), 3);
      assert.equal(await again.store<number>('counts').get('u5'), 15);
      assert.equal(await again.store<number>('counts').get('u2'), undefined);
      assert.equal(await again.store<number>('counts').get('u1'), 1);
      assert.equal(again.approximateCount('counts'), 39);
      assert.equal(again.store('counts').approximateCount(), 39);
    }));

  test('uncommitted writes are gone after close, as after a crash', () =>
    withFixture(async (fx) => {
      const state = await fx.open('a');
      state.store<number>('counts').put('kept', 1);
      await state.commit(new Map([['in', 1]]));
      state.store<number>('counts').put('lost', 1);
      assert.equal(state.pendingWrites(), 1);
      await state.close();
      const again = await fx.open('a');
      assert.equal(await again.store<number>('counts').get('kept'), 1);
      assert.equal(await again.store<number>('counts').get('lost'), undefined);
    }));

  test('each commit appends one batch per store ending in a marker, and deletes as tombstones', () =>
    withFixture(async (fx) => {
      const state = await fx.open('a');
      state.store<number>('counts').put('a', 1);
      state.store<number>('counts').put('b', 2);
      await state.commit(new Map([['in', 5]]));
      state.store<number>('counts').delete('a');
      await state.commit(new Map([['in', 6]]));
      const records = await fx.changelog(COUNTS_TOPIC);
      assert.deepEqual(
        records.map((r) => [
          r.key,
          r.value === null
            ? null
            : r.headers?.['recstream.marker']
              ? JSON.parse(r.value.toString())
              : r.value.readDoubleBE(0),
        ]),
        [
          ['a', 1],
          ['b', 2],
          [
            '\u0000commit',
            { inputOffsets: { in: 5 }, kind: 'commit', seq: 1, stores: ['counts', 'profiles'] },
          ],
          ['a', null],
          [
            '\u0000commit',
            { inputOffsets: { in: 6 }, kind: 'commit', seq: 2, stores: ['counts', 'profiles'] },
          ],
        ],
      );
      assert.ok(records.every((r) => r.partition === PARTITION));
      // The store without writes still gets the marker, so that both changelogs end at the same commit.
      assert.deepEqual(
        (await fx.changelog(PROFILES_TOPIC)).map((r) => r.key),
        ['\u0000commit', '\u0000commit'],
      );
      assert.equal(state.approximateCount('counts'), 1);
    }));

  test('a commit without writes records the offsets in the engine only', () =>
    withFixture(async (fx) => {
      const state = await fx.open('a');
      state.store<number>('counts').put('a', 1);
      await state.commit(new Map([['in', 5]]));
      const before = (await fx.changelog(COUNTS_TOPIC)).length;
      await state.commit(new Map([['in', 9]]));
      await state.commit(new Map([['in', 9]]));
      assert.equal((await fx.changelog(COUNTS_TOPIC)).length, before);
      assert.deepEqual([...state.committedInputOffsets()], [['in', 9]]);
      await state.close();
      assert.deepEqual([...(await fx.open('a')).committedInputOffsets()], [['in', 9]]);
      // The changelogs only know the last commit that changed something; resuming from there is consistent.
      assert.deepEqual([...(await fx.open('fresh')).committedInputOffsets()], [['in', 5]]);
    }));

  test('writes made during a commit belong to the next one; a second concurrent commit is refused', () =>
    withFixture(async (fx) => {
      const state = await fx.open('a');
      const counts = state.store<number>('counts');
      counts.put('a', 1);
      const first = state.commit(new Map([['in', 1]]));
      counts.put('a', 2);
      counts.put('b', 1);
      assert.equal(await counts.get('a'), 2);
      await assert.rejects(state.commit(new Map([['in', 2]])), /already in progress/);
      await first;
      assert.equal(state.pendingWrites(), 2);
      await state.close();
      const again = await fx.open('a');
      assert.equal(await again.store<number>('counts').get('a'), 1);
      assert.equal(await again.store<number>('counts').get('b'), undefined);
    }));

  test('a failed commit keeps its writes pending and a later commit writes them', () =>
    withFixture(async (fx) => {
      let failNext = false;
      // The real log, with one append failing on demand (a full disk, a broker timeout).
      const append: EventLog['append'] = (topic, records) => {
        if (failNext && topic === PROFILES_TOPIC) {
          failNext = false;
          return Promise.reject(new StateStoreError('injected append failure', undefined, true));
        }
        return fx.log.append(topic, records);
      };
      const flaky = new Proxy(fx.log as EventLog, {
        get(target, prop) {
          if (prop === 'append') return append;
          const value = Reflect.get(target, prop, target);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      const state = await fx.open('a', { log: flaky });
      state.store<number>('counts').put('a', 1);
      state.store<Profile>('profiles').put('a', { name: 'A', tags: [] });
      failNext = true;
      await assert.rejects(state.commit(new Map([['in', 1]])), /injected append failure/);
      assert.equal(state.pendingWrites(), 2);
      assert.equal(await state.store<number>('counts').get('a'), 1);
      await state.commit(new Map([['in', 1]]));
      await state.close();
      const restored = await fx.open('fresh');
      assert.equal(await restored.store<number>('counts').get('a'), 1);
      assert.deepEqual(await restored.store<Profile>('profiles').get('a'), { name: 'A', tags: [] });
      assert.deepEqual([...restored.committedInputOffsets()], [['in', 1]]);
    }));

  test('prefetch loads committed values so that gets need no engine read', () =>
    withFixture(async (fx) => {
      const state = await fx.open('a');
      for (let i = 0; i < 60_100; i++) state.store<number>('counts').put(`u${i}`, i);
      await state.commit(new Map([['in', 1]]));
      await state.close();
      // Above the key-scan limit, so cold keys would each need an engine read.
      const again = await fx.open('a');
      await again.prefetch(['u1', 'u2', 'missing', 'u1'], ['counts']);
      assert.equal(await again.store<number>('counts').get('u2'), 2);
      assert.equal(await again.store<number>('counts').get('missing'), undefined);
      await again.prefetch(['u3']);
      assert.equal(await again.store<number>('counts').get('u3'), 3);
      // Blind writes to keys the cache knows nothing of still keep the entry count exact.
      again.store<number>('counts').put('u500', 0);
      again.store<number>('counts').put('new', 0);
      again.store<number>('counts').delete('u600');
      again.store<number>('counts').delete('never-existed');
      await again.commit(new Map([['in', 2]]));
      assert.equal(again.approximateCount('counts'), 60_100);
    }));
});

describe('TaskState: restore from changelogs', () => {
  for (const engine of ['rocksdb', 'memory'] as const) {
    test(`a fresh ${engine} engine is restored to the same digest and input offsets`, () =>
      withFixture(async (fx) => {
        const original = await fx.open('a');
        await writeHistory(original);
        const digest = await original.digest();
        await original.close();

        const progress: [string, number, number][] = [];
        const restored = await fx.open('b', {
          engine,
          onRestoreProgress: (store, done, total) => progress.push([store, done, total]),
        });
        assert.equal(restored.recovery.mode, 'restored');
        assert.ok(restored.recovery.restoredRecords > 0);
        assert.deepEqual(await restored.digest(), digest);
        assert.deepEqual([...restored.committedInputOffsets()], [['rec.interactions', 300]]);
        assert.equal(restored.commitSeq(), 3);
        assert.equal(restored.approximateCount('counts'), 39);
        assert.equal(restored.approximateCount('profiles'), 39);
        assert.equal(await restored.store<number>('counts').get('u2'), undefined);
        for (const store of ['counts', 'profiles']) {
          const last = progress.filter(([s]) => s === store).at(-1);
          assert.ok(
            last !== undefined && last[1] === last[2] && last[2] > 0,
            `progress of ${store}: ${JSON.stringify(last)}`,
          );
        }
      }));
  }

  test('deleted keys stay deleted after a restore, in get, range and counts', () =>
    withFixture(async (fx) => {
      const state = await fx.open('a');
      const counts = state.store<number>('counts');
      for (const k of ['a', 'b', 'c', 'd']) counts.put(k, 1);
      await state.commit(new Map([['in', 1]]));
      counts.delete('b');
      counts.delete('d');
      counts.put('e', 2);
      await state.commit(new Map([['in', 2]]));
      await state.close();
      const restored = await fx.open('b');
      assert.equal(await restored.store<number>('counts').get('b'), undefined);
      assert.deepEqual([...(await entries(restored, 'counts')).keys()], ['a', 'c', 'e']);
      assert.equal(restored.approximateCount('counts'), 3);
    }));

  test('digests depend on contents only, not on write order, commit boundaries or engine', () =>
    withFixture(async (fx) => {
      const one = await fx.open('one');
      one.store<Profile>('profiles').put('x', { name: 'X', tags: ['a'] });
      one.store<number>('counts').put('x', 1);
      one.store<number>('counts').put('y', 2);
      await one.commit(new Map([['in', 3]]));
      const digest = await one.digest();
      assert.deepEqual(await one.digest(), digest);
      assert.notEqual(digest.counts, EMPTY_DIGEST);
      await one.wipe();

      const two = await fx.open('two', { engine: 'memory' });
      two.store<number>('counts').put('y', 5);
      await two.commit(new Map([['in', 1]]));
      two.store<number>('counts').put('y', 2);
      two.store<number>('counts').put('z', 9);
      await two.commit(new Map([['in', 2]]));
      two.store<number>('counts').delete('z');
      two.store<number>('counts').put('x', 1);
      two.store<Profile>('profiles').put('x', { tags: ['a'], name: 'X' });
      await two.commit(new Map([['in', 3]]));
      assert.deepEqual(await two.digest(), digest);
    }));

  test('wipe empties the state durably, for a reopen and for a restore', () =>
    withFixture(async (fx) => {
      const state = await fx.open('a');
      await writeHistory(state);
      state.store<number>('counts').put('pending', 1);
      await state.wipe();
      assert.deepEqual(await state.digest(), { counts: EMPTY_DIGEST, profiles: EMPTY_DIGEST });
      assert.equal(state.committedInputOffsets().size, 0);
      assert.equal(state.approximateCount('counts'), 0);
      assert.equal(await state.store<number>('counts').get('u5'), undefined);
      assert.equal(state.pendingWrites(), 0);
      await state.close();

      const reopened = await fx.open('a');
      assert.deepEqual(await reopened.digest(), { counts: EMPTY_DIGEST, profiles: EMPTY_DIGEST });
      assert.equal(reopened.committedInputOffsets().size, 0);
      reopened.store<number>('counts').put('after', 1);
      await reopened.commit(new Map([['in', 1]]));
      const digest = await reopened.digest();
      await reopened.close();

      const restored = await fx.open('b');
      assert.deepEqual(await restored.digest(), digest);
      assert.deepEqual([...(await entries(restored, 'counts')).keys()], ['after']);
    }));
});

describe('TaskState: misuse', () => {
  test('a dir of another task, an unknown store and use after close are StateStoreErrors', () =>
    withFixture(async (fx) => {
      const state = await fx.open('a');
      assert.throws(() => state.store('nope'), StateStoreError);
      await assert.rejects(state.commit(new Map([['in', -1]])), /invalid input offset -1 for in/);
      await assert.rejects(state.commit(new Map([['in', 1.5]])), /invalid input offset/);
      state.store<number>('counts').put('a', 1);
      await state.commit(new Map());
      await state.close();
      await assert.rejects(fx.open('a', { partition: 0 }), /belongs to task app\/1, not app\/0/);
      await assert.rejects(fx.open('a', { applicationId: 'other' }), /belongs to task app\/1, not other\/1/);
      await assert.rejects(state.commit(new Map()), StateStoreError);
      assert.throws(() => state.store<number>('counts').put('b', 1), StateStoreError);
      await assert.rejects(state.store<number>('counts').get('a'), StateStoreError);
      await assert.rejects(state.digest(), StateStoreError);
    }));

  test('invalid declarations are refused before anything is opened', () =>
    withFixture(async (fx) => {
      await assert.rejects(
        fx.open('a', { stores: [STORES[0], STORES[0]] as typeof STORES }),
        /declares store counts twice/,
      );
      await assert.rejects(fx.open('a', { partition: -1 }), /invalid task partition/);
      await assert.rejects(
        fx.open('a', { stores: [{ ...STORES[0], name: 'bad\u0000' }] as typeof STORES }),
        /invalid store name/,
      );
    }));

  test('a changelog topic without the task partition is a StateStoreError', () =>
    withFixture(async (fx) => {
      await fx.log.ensureTopic({ name: 'rec.app.small.changelog', partitions: 1, compacted: true });
      const stores = [{ ...STORES[0], changelogTopic: 'rec.app.small.changelog' }] as typeof STORES;
      await assert.rejects(fx.open('a', { stores }), /has no partition 1/);
    }));
});

describe('TaskState: committed reads', () => {
  test('readCommitted sees what the last commit wrote, never pending writes, and fails once closed', () =>
    withFixture(async (fx) => {
      const state = await fx.open('a');
      const counts = state.store<number>('counts');
      counts.put('u1', 1);
      counts.put('u2', 2);
      await state.commit(new Map([['in', 1]]));
      counts.put('u1', 10);
      counts.delete('u2');
      counts.put('u3', 3);
      assert.deepEqual(await state.readCommitted<number>('counts', ['u1', 'u2', 'u3', 'u1']), [
        1,
        2,
        undefined,
        1,
      ]);
      assert.equal(await counts.get('u1'), 10);
      await state.commit(new Map([['in', 2]]));
      assert.deepEqual(await state.readCommitted<number>('counts', ['u1', 'u2', 'u3']), [10, undefined, 3]);
      await assert.rejects(state.readCommitted('nope', ['u1']), /has no store nope/);
      await state.close();
      await assert.rejects(state.readCommitted('counts', ['u1']), StateStoreError);
    }));
});
