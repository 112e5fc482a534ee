/**
 * `recstream replay` end to end, as an operator runs it: simulate → process
 * → digest, then replay from earliest (alone, and beside a running
 * `recstream process`) must give byte-identical stores; a replay from an
 * offset or a time must count exactly the input records from there.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { besideRunningProcess, runCli, runCliOk, stateDigests } from '../../test/cli.js';
import { countedInteractions } from '../../test/interaction-counts.js';
import { withTestPlatform, writeInteractions } from '../../test/platform.js';

const ENV = { RECSTREAM_COMMIT_INTERVAL_MS: '50', RECSTREAM_LOG_FSYNC: 'never' };

async function cli(args: string[], env: Record<string, string> = {}): Promise<string> {
  return (await runCliOk(args, { ...ENV, ...env })).stdout;
}

/**
 * Digests of the applications a replay must restore byte for byte. The
 * snapshots application is not among them: its stores hold offsets of
 * rec.training-examples (lineage), and a replay of features re-emits the
 * examples at new offsets.
 */
function digest(dataDir: string): Promise<Record<string, string>> {
  return stateDigests(dataDir, ['interaction-counts', 'features'], ENV);
}

async function simulated(root: string): Promise<string> {
  const dataDir = join(root, 'data');
  await cli([
    'simulate',
    '--users',
    '300',
    '--items',
    '100',
    '--events',
    '12000',
    '--seed',
    '5',
    '--data-dir',
    dataDir,
  ]);
  // One application after the other: each downstream one then reads everything its upstream wrote.
  for (const app of ['interaction-counts', 'features', 'snapshots'])
    await cli(['process', '--app', app, '--once', '--data-dir', dataDir]);
  return dataDir;
}

test('replay from earliest, run alone, rebuilds byte-identical stores that also restore from the changelogs', {
  timeout: 120_000,
}, async () => {
  const root = await mkdtemp(join(tmpdir(), 'recstream-replay-'));
  try {
    const dataDir = await simulated(root);
    const expected = await digest(dataDir);
    assert.ok(Object.keys(expected).some((s) => s.startsWith('features/user-view/')));
    assert.ok(Object.keys(expected).some((s) => s.startsWith('features/item-view/')));

    const out = await cli(['replay', '--processor', 'all', '--from', 'earliest', '--data-dir', dataDir]);
    const replayed = new Map(
      [...out.matchAll(/(\S+): replayed (\d+) input records/g)].map((m) => [m[1], Number(m[2])]),
    );
    assert.ok(replayed.get('features')! >= 12_000, out);
    assert.equal(replayed.get('interaction-counts'), 12_000, out);
    assert.ok(replayed.has('snapshots'), out);
    assert.deepEqual(await digest(dataDir), expected);

    // The reset went through the changelogs (wipe marker, then the rebuild's commits): a lost disk restores the same stores.
    await rm(join(dataDir, 'state'), { recursive: true, force: true });
    assert.deepEqual(await digest(dataDir), expected);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('replay from an offset or a time counts exactly the input records from there', {
  timeout: 120_000,
}, async () => {
  const root = await mkdtemp(join(tmpdir(), 'recstream-replay-from-'));
  const dataDir = join(root, 'data');
  const partitions = 4;
  try {
    const events = await writeInteractions(dataDir, partitions, {
      seed: 11,
      users: 500,
      items: 200,
      count: 8_000,
    });
    await cli(['process', '--app', 'interaction-counts', '--once', '--data-dir', dataDir]);
    assert.equal(await countedInteractions(dataDir, partitions), events.length);

    const ends = await withTestPlatform(dataDir, async ({ log }) => log.offsets('rec.interactions'));
    const fromOffset = 1_000;
    await cli([
      'replay',
      '--processor',
      'interaction-counts',
      '--from',
      String(fromOffset),
      '--data-dir',
      dataDir,
    ]);
    const expectedFromOffset = ends.reduce(
      (n, p) => n + Math.max(0, p.end - Math.max(fromOffset, p.start)),
      0,
    );
    assert.ok(expectedFromOffset > 0 && expectedFromOffset < events.length);
    assert.equal(await countedInteractions(dataDir, partitions), expectedFromOffset);

    // A time: every record of a partition from the first one stamped at or after it.
    const sorted = events.map((e) => e.ts).sort((a, b) => a - b);
    const at = sorted[Math.floor(sorted.length / 2)]!;
    const expectedFromTime = await withTestPlatform(dataDir, async ({ log }) => {
      let n = 0;
      for (const p of ends) {
        for (let offset = p.start; offset < p.end; ) {
          const records = await log.read('rec.interactions', p.partition, offset, p.end - offset);
          const first = records.findIndex((r) => r.timestamp >= at);
          if (first !== -1) {
            n += p.end - (offset + first);
            break;
          }
          offset += records.length;
        }
      }
      return n;
    });
    assert.ok(expectedFromTime > 0 && expectedFromTime < events.length);
    const iso = new Date(at).toISOString();
    await cli(['replay', '--processor', 'interaction-counts', '--from', iso, '--data-dir', dataDir]);
    assert.equal(await countedInteractions(dataDir, partitions), expectedFromTime);

    await cli(['replay', '--processor', 'interaction-counts', '--from', 'earliest', '--data-dir', dataDir]);
    assert.equal(await countedInteractions(dataDir, partitions), events.length);

    const bad = await runCli(
      ['replay', '--processor', 'interaction-counts', '--from', 'yesterday', '--data-dir', dataDir],
      ENV,
    );
    assert.equal(bad.code === 0, false);
    assert.match(bad.stderr, /--from "yesterday" is not earliest/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('replay beside a running `recstream process` resets and rebuilds in that process, which keeps running', {
  timeout: 120_000,
}, async () => {
  const root = await mkdtemp(join(tmpdir(), 'recstream-replay-beside-'));
  try {
    const dataDir = await simulated(root);
    const expected = await digest(dataDir);
    const { process: result } = await besideRunningProcess(dataDir, 'features', ENV, async () => {
      const out = await cli(['replay', '--processor', 'features', '--data-dir', dataDir]);
      assert.match(out, /features: replayed (\d+) input records \(beside process \d+\)/);
      assert.ok(Number(/replayed (\d+)/.exec(out)![1]) >= 12_000, out);
    });
    assert.match(result.stderr, /tasks reset for a replay/);
    assert.match(result.stderr, /replay finished/);
    assert.deepEqual(await digest(dataDir), expected);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
