/**
 * `processForTraining` on a finite import: every interaction becomes a
 * training example and every example ends in a closed snapshot, the tail
 * of each partition included (the end of the input closes what waits for
 * later events: interactions within the lateness of the last one, the open
 * snapshot); running it again on the same data dir closes nothing more.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { withTestPlatform } from '../test/platform.js';
import { readSnapshots } from '../trainer/training-set.js';
import { processForTraining } from './eval-data.js';
import { trainingPart } from './training-part.js';

const QUIET = { note: () => {}, progress: () => ({ update: () => {}, done: () => {} }) };

/** 60 users × 12 items, `user item item …` lines: 720 interactions one second apart (the lines clock). */
function lines(): string {
  const out: string[] = [];
  for (let u = 0; u < 60; u++) {
    const items = Array.from({ length: 12 }, (_, i) => `i${(u * 7 + i * 13) % 97}`);
    out.push(`u${u} ${items.join(' ')}`);
  }
  return `${out.join('\n')}\n`;
}

test('processForTraining: every interaction of the training part is an example in a closed snapshot', {
  timeout: 120_000,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-eval-data-'));
  try {
    const file = join(dir, 'train.txt');
    await writeFile(file, lines());
    await withTestPlatform(join(dir, 'data'), async (platform) => {
      const { sets } = await trainingPart(platform, { format: 'lines', train: [file] }, QUIET);
      assert.equal(sets.interactions, 720);
      // 25 per snapshot: each partition ends inside an open snapshot unless the input is ended.
      await processForTraining(platform, undefined, 25);

      const ends = new Map<number, number>();
      let examples = 0;
      for (const p of await platform.log.offsets('rec.training-examples')) {
        ends.set(p.partition, p.end);
        examples += p.end - p.start;
      }
      assert.equal(examples, sets.interactions, 'every interaction became an example');

      const snapshots = await readSnapshots(platform.log, platform.serde);
      const inSnapshots = snapshots.reduce((n, s) => n + s.example_count, 0);
      assert.equal(inSnapshots, examples, 'every example is in a closed snapshot');
      for (const [partition, end] of ends) {
        const ranges = snapshots
          .map((s) => s.ranges[0]!)
          .filter((r) => r.partition === partition)
          .sort((a, b) => a.start_offset - b.start_offset);
        assert.ok(ranges.length >= 2, `partition ${partition}: snapshots closed by count, then the tail`);
        for (const [i, r] of ranges.entries())
          assert.equal(r.start_offset, i === 0 ? 0 : ranges[i - 1]!.end_offset);
        assert.equal(
          ranges.at(-1)!.end_offset,
          end,
          `partition ${partition}: the last snapshot ends at the log's end`,
        );
        const last = snapshots.find((s) => s.ranges[0] === ranges.at(-1))!;
        assert.equal(
          last.created_ts,
          last.event_time_end,
          'a snapshot the end closed is dated by its last example',
        );
      }

      // Nothing is open any more: a second run over the same data dir publishes nothing new.
      await processForTraining(platform, undefined, 25);
      assert.equal((await readSnapshots(platform.log, platform.serde)).length, snapshots.length);
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
