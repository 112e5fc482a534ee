import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withScratchLog } from '../test/platform.js';
import { historyProcessed, tallyOf } from './demo-progress.js';

const HISTORY = 'rec.interactions';

test('the history counts as processed only as far as the slowest application has committed it', () => {
  const counts = { sources: [{ topic: HISTORY, committed: 300_000, end: 300_000 }] };
  const features = {
    sources: [
      { topic: HISTORY, committed: 240_000, end: 300_000 },
      { topic: 'rec.interactions.enriched', committed: 100_000, end: 200_000 },
    ],
  };
  assert.equal(historyProcessed([counts, features], HISTORY, 300_000), 150_000);
  assert.equal(historyProcessed([counts], HISTORY, 300_000), 300_000);
});

test('live events past the history do not count, and a topic nothing was written to yet holds nothing back', () => {
  const live = { sources: [{ topic: HISTORY, committed: 310_000, end: 320_000 }] };
  const idle = { sources: [{ topic: 'rec.training-examples', committed: 0, end: 0 }] };
  assert.equal(historyProcessed([live, idle], HISTORY, 300_000), 300_000);
  const behind = { sources: [{ topic: HISTORY, committed: 12_000, end: 320_000 }] };
  assert.equal(historyProcessed([behind, idle], HISTORY, 300_000), 12_000);
});

test("an application's tally sums its committed offsets and the topics' ends over partitions", async () => {
  await withScratchLog('demo-progress-', async ({ log }) => {
    await log.ensureTopic({ name: HISTORY, partitions: 2, compacted: false });
    const value = Buffer.from('x');
    await log.append(HISTORY, [
      { key: null, value, partition: 0 },
      { key: null, value, partition: 0 },
      { key: null, value, partition: 1 },
    ]);
    const tally = await tallyOf(
      log,
      [HISTORY],
      [
        { topic: HISTORY, partition: 0, offset: 1 },
        { topic: HISTORY, partition: 1, offset: 1 },
        { topic: 'rec.users', partition: 0, offset: 9 },
      ],
    );
    assert.deepEqual(tally, { sources: [{ topic: HISTORY, committed: 2, end: 3 }] });
  });
});
