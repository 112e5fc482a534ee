/**
 * The end of a bounded input in the `features` application, on the
 * embedded log with RocksDB: a plain catch-up holds the last interactions
 * (within the lateness, and impressions within their label window); ended,
 * every interaction becomes one example, an impression labelled by what
 * the input held, and ending it again adds nothing.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Interaction } from '../schemas/generated/types.js';
import { event } from '../test/features.js';
import { catchUp, examples, MIN, PARTITIONS, runner, T0 } from '../test/features-runner.js';
import { withTestPlatform } from '../test/platform.js';

const EVENTS: Interaction[] = [
  event('e1', 'u1', 'i1', 'impression', T0),
  event('e2', 'u2', 'i2', 'impression', T0 + MIN / 2),
  event('e3', 'u1', 'i1', 'click', T0 + 2 * MIN),
  event('e4', 'u3', 'i3', 'like', T0 + 3 * MIN),
];

test('features: the end of the input turns every interaction into an example, impressions labelled by what came', {
  timeout: 60_000,
}, async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'recstream-end-of-input-'));
  try {
    await withTestPlatform(dataDir, async (platform) => {
      await platform.log.ensureTopic({ name: 'rec.interactions', partitions: PARTITIONS });
      const encoder = await platform.serde.encoder('rec.interactions-value');
      await platform.log.append(
        'rec.interactions',
        EVENTS.map((e) => ({ key: e.user_id, value: encoder.encode(e), timestamp: e.ts })),
      );
      await catchUp(platform, dataDir);
      const held = (await examples(platform)).length;
      assert.ok(held < EVENTS.length, `a live catch-up holds the tail (${held} examples)`);

      await (await runner(platform, dataDir)).runUntilCaughtUp({ endOfInput: true });
      const all = await examples(platform);
      assert.deepEqual(all.map((x) => x.type).sort(), ['click', 'impression', 'impression', 'like']);
      const impression = (user: string) => all.find((x) => x.user_id === user && x.type === 'impression')!;
      assert.equal(impression('u1').labels.clicked, true);
      assert.equal(impression('u2').labels.clicked, false);

      await (await runner(platform, dataDir)).runUntilCaughtUp({ endOfInput: true });
      assert.equal((await examples(platform)).length, EVENTS.length, 'nothing was left open to end again');
    });
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
