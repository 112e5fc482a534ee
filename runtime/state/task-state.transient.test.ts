/**
 * A key put and deleted within one commit interval (a pending-queue entry)
 * never reached the engine or the changelog: its delete is dropped instead
 * of costing a tombstone — except right after a failed commit, whose partial
 * changelog append the next commit must overwrite key by key.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EventLog } from '../log/log.js';
import { COUNTS_TOPIC, withFixture } from './task-state.fixture.js';

const keysIn = (records: { key: string | null; value: Buffer | null }[]) =>
  records
    .filter((r) => r.key !== null && !r.key.startsWith('\u0000'))
    .map((r) => `${r.key}=${r.value === null ? 'tombstone' : 'put'}`);

test('deleting a key that was never committed writes no tombstone', () =>
  withFixture(async (fx) => {
    const state = await fx.open('a');
    const counts = state.store<number>('counts');
    counts.put('kept', 1);
    counts.put('transient', 2);
    counts.delete('transient');
    await state.commit(new Map([['rec.interactions', 1]]));
    assert.deepEqual(keysIn(await fx.changelog(COUNTS_TOPIC)), ['kept=put']);

    counts.delete('kept');
    counts.delete('never-seen');
    await state.commit(new Map([['rec.interactions', 2]]));
    assert.deepEqual(keysIn(await fx.changelog(COUNTS_TOPIC)), ['kept=put', 'kept=tombstone']);
    assert.equal(state.approximateCount('counts'), 0);
  }));

test('after a failed commit the next one rewrites every key it touched, deletes included', () =>
  withFixture(async (fx) => {
    let failNext = false;
    const flaky: EventLog = new Proxy(fx.log, {
      get(target, name, receiver) {
        if (name !== 'append') return Reflect.get(target, name, receiver);
        return async (topic: string, records: Parameters<EventLog['append']>[1]) => {
          const acks = await target.append(topic, records);
          // The batch reached the log but the caller sees a failure: the worst case for orphans.
          if (failNext && topic === COUNTS_TOPIC) {
            failNext = false;
            throw new Error('acknowledgement lost');
          }
          return acks;
        };
      },
    });
    const state = await fx.open('a', { log: flaky });
    const counts = state.store<number>('counts');
    counts.put('orphan', 7);
    failNext = true;
    await assert.rejects(state.commit(new Map([['rec.interactions', 1]])), /acknowledgement lost/);
    counts.delete('orphan');
    await state.commit(new Map([['rec.interactions', 2]]));
    assert.deepEqual(keysIn(await fx.changelog(COUNTS_TOPIC)), ['orphan=put', 'orphan=tombstone']);
    assert.deepEqual(
      await fx.lastValues(COUNTS_TOPIC),
      new Map(),
      'a restore from the changelog finds no orphan',
    );
  }));
