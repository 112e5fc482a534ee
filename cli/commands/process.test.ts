/**
 * `recstream process --once --end-of-input` on a finite import: a plain
 * `--once` leaves what waits for later events open (as a live pipeline
 * does), `--end-of-input` closes it, so every interaction is an example in
 * a closed snapshot; without `--once` the flag is refused.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { besideRunningProcess, runCli, runCliOk } from '../../test/cli.js';
import { withTestPlatform } from '../../test/platform.js';
import { readSnapshots } from '../../trainer/training-set.js';

const ENV = { RECSTREAM_SNAPSHOT_EVERY_EXAMPLES: '20', RECSTREAM_LOG_FSYNC: 'never' };

async function inSnapshots(data: string): Promise<number> {
  return withTestPlatform(data, async (platform) =>
    (await readSnapshots(platform.log, platform.serde)).reduce((n, s) => n + s.example_count, 0),
  );
}

test('process --once --end-of-input: every interaction of a finite import ends in a closed snapshot', {
  timeout: 120_000,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-process-'));
  try {
    const data = join(dir, 'data');
    const file = join(dir, 'train.txt');
    // 30 users × 10 items, one second apart: 300 interactions.
    const lines = Array.from({ length: 30 }, (_, u) =>
      [`u${u}`, ...Array.from({ length: 10 }, (_, i) => `i${(u * 3 + i * 7) % 41}`)].join(' '),
    );
    await writeFile(file, `${lines.join('\n')}\n`);
    await runCliOk(['import', 'lines', file, '--data-dir', data], ENV);

    const refused = await runCli(['process', '--end-of-input', '--data-dir', data], ENV);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /--end-of-input ends a --once run/);
    for (const args of [
      ['--threads', '2'],
      ['--once', '--end-of-input', '--threads', '2'],
    ]) {
      const live = await runCli(['process', ...args, '--data-dir', data], ENV);
      assert.notEqual(live.code, 0);
      assert.match(live.stderr, /--threads N runs `process --once` without --end-of-input/);
    }

    // The setting asks for threads: a --once run takes them (auto: the cores, at most the 4
    // partitions); a live run stays on one thread whatever it says, and says so.
    const threadsEnv = { ...ENV, RECSTREAM_PROCESS_THREADS: 'auto', RECSTREAM_LOG_LEVEL: 'info' };
    const { stderr } = await runCliOk(['process', '--once', '--data-dir', data], threadsEnv);
    const finished = stderr.split('\n').find((line) => line.includes('"process finished"'));
    assert.ok(finished, stderr.slice(-2000));
    assert.equal(JSON.parse(finished).threads, Math.min(availableParallelism(), 4));
    const live = await besideRunningProcess(data, 'features', threadsEnv, async () => undefined);
    assert.match(
      live.process.stderr,
      /RECSTREAM_PROCESS_THREADS applies to `process --once`; this process runs on one thread/,
    );
    const open = await inSnapshots(data);
    assert.ok(open < 300, `a plain --once leaves the tail open (${open} of 300 in closed snapshots)`);

    await runCliOk(['process', '--once', '--end-of-input', '--data-dir', data], ENV);
    assert.equal(await inSnapshots(data), 300);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
