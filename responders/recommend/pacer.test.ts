import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Pacer } from './pacer.js';

/** A clock that moves only when told to, and a wait that records its length and moves the clock. */
function fakeTime() {
  let now = 0;
  const waits: number[] = [];
  return {
    waits,
    advance: (ms: number) => {
      now += ms;
    },
    clock: () => now,
    wait: async (ms: number) => {
      waits.push(ms);
      now += ms;
    },
  };
}

test('after each turn a pacer waits so the work takes its share of the time', async () => {
  const time = fakeTime();
  const pacer = new Pacer({ share: 0.25, maxPauseMs: 50, clock: time.clock, wait: time.wait });
  time.advance(2);
  await pacer.pause();
  time.advance(4);
  await pacer.pause();
  assert.deepEqual(time.waits, [6, 12], 'three times as long as the turn: the work takes a quarter');
});

test('a long turn waits at most the longest pause; the next turn is timed from the end of the wait', async () => {
  const time = fakeTime();
  const pacer = new Pacer({ share: 0.2, maxPauseMs: 20, clock: time.clock, wait: time.wait });
  time.advance(30);
  await pacer.pause();
  time.advance(1);
  await pacer.pause();
  assert.deepEqual(time.waits, [20, 4]);
});

test('at a share of 1 a pacer only yields to the event loop', async () => {
  const time = fakeTime();
  const pacer = new Pacer({ share: 1, maxPauseMs: 20, clock: time.clock, wait: time.wait });
  let ran = false;
  setImmediate(() => {
    ran = true;
  });
  time.advance(5);
  await pacer.pause();
  assert.deepEqual(time.waits, []);
  assert.ok(ran, 'what was queued behind the turn ran');
});

test('a share outside (0, 1] is refused', () => {
  assert.throws(() => new Pacer({ share: 0, maxPauseMs: 10 }), /share must be in \(0, 1\], got 0/);
  assert.throws(() => new Pacer({ share: 1.5, maxPauseMs: 10 }), /got 1.5/);
});

test('closing cuts a pause short', async () => {
  const stop = new AbortController();
  const pacer = new Pacer({ share: 0.001, maxPauseMs: 60_000, signal: stop.signal });
  await new Promise((resolve) => setTimeout(resolve, 10));
  // The turn took 10 ms or more, so the pause would be 10 s or more.
  const paused = pacer.pause().then(() => 'ended');
  stop.abort();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise((resolve) => {
    timer = setTimeout(resolve, 5_000, 'still waiting');
  });
  assert.equal(await Promise.race([paused, late]), 'ended');
  clearTimeout(timer);
});
