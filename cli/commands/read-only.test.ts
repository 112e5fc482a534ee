/**
 * Operators' read-only tools work beside a running processor, as Kafka's do:
 * `recstream topics` and `recstream dlq list` open the embedded log
 * read-only while a `recstream process` child holds its lock, and report
 * what that child has written so far.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { interactionStream } from '../../bench/interaction-load.js';
import { loadConfig } from '../../runtime/config.js';
import { silentLogger } from '../../runtime/observability/logger.js';
import { openPlatform } from '../../schemas/platform.js';
import { finished, runCli, startCli } from '../../test/cli.js';

const ENV = { RECSTREAM_COMMIT_INTERVAL_MS: '25', RECSTREAM_LOG_FSYNC: 'never' };
const GOOD = 2000;

interface TopicRow {
  readonly topic: string;
  readonly partitions: number;
  readonly compacted: boolean;
  readonly records: number;
  readonly offsets: { partition: number; start: number; end: number }[];
}

interface Letter {
  readonly dlq_partition: number;
  readonly source_topic: string;
  readonly source_partition: number;
  readonly source_offset: number;
  readonly error_code: string;
  readonly value: string;
}

/** Writes GOOD interactions over 2 partitions, then 3 undecodable records to partition 0; returns the bad ones' offsets. */
async function produce(dataDir: string): Promise<number[]> {
  const platform = await openPlatform(loadConfig({}, { dataDir }), { logger: silentLogger() });
  try {
    const { log, serde } = platform;
    await log.ensureTopic({ name: 'rec.interactions', partitions: 2 });
    const encoder = await serde.encoder('rec.interactions-value');
    const good = [...interactionStream({ seed: 5, users: 50, items: 20, count: GOOD })].map((e) => ({
      key: e.user_id,
      value: encoder.encode(e),
      timestamp: e.ts,
    }));
    await log.append('rec.interactions', good);
    const [ack] = await log.append(
      'rec.interactions',
      ['not avro', 'nope', '{}'].map((text) => ({ key: 'u-bad', value: Buffer.from(text), partition: 0 })),
    );
    return [ack!.baseOffset, ack!.baseOffset + 1, ack!.baseOffset + 2];
  } finally {
    await platform.close();
  }
}

test('topics and dlq list run beside a running `recstream process` on the same data dir', {
  timeout: 120_000,
}, async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'recstream-read-only-'));
  try {
    const badOffsets = await produce(dataDir);
    const child = startCli(['process', '--app', 'interaction-counts', '--data-dir', dataDir], ENV);
    const done = finished(child);
    try {
      // The dead letters show up once the child has processed its input; every listing must succeed meanwhile.
      const deadline = Date.now() + 60_000;
      let letters: Letter[] = [];
      while (letters.length < badOffsets.length) {
        assert.ok(Date.now() < deadline, 'the running process never wrote its dead letters');
        assert.equal(child.exitCode, null, 'the process child is still running');
        const listed = await runCli(['dlq', 'list', '--json', '--data-dir', dataDir], ENV);
        assert.equal(listed.code, 0, listed.stderr);
        letters = JSON.parse(listed.stdout) as Letter[];
        if (letters.length < badOffsets.length) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.deepEqual(
        letters.map((l) => [l.source_topic, l.source_partition, l.source_offset, l.error_code]),
        badOffsets.map((offset) => ['rec.interactions', 0, offset, 'DESERIALIZATION_FAILED']),
      );
      assert.deepEqual(
        letters.map((l) => Buffer.from(l.value, 'base64').toString()),
        ['not avro', 'nope', '{}'],
      );

      const listed = await runCli(['topics', '--json', '--data-dir', dataDir], ENV);
      assert.equal(listed.code, 0, listed.stderr);
      const rows = new Map((JSON.parse(listed.stdout) as TopicRow[]).map((r) => [r.topic, r]));
      const input = rows.get('rec.interactions');
      assert.ok(input, listed.stdout);
      assert.equal(input.partitions, 2);
      assert.equal(input.records, GOOD + badOffsets.length);
      assert.equal(input.offsets[0]!.end, badOffsets[2]! + 1);
      assert.equal(rows.get('rec.dlq')?.records, badOffsets.length);
      assert.equal(rows.get('rec.interaction-counts.counts.changelog')?.compacted, true);

      assert.equal(child.exitCode, null, 'the process child ran throughout');
      const lock = await readFile(join(dataDir, 'log', 'LOCK'), 'utf8');
      assert.equal(lock.trim(), String(child.pid), 'the child still holds the log');
    } finally {
      child.kill('SIGTERM');
    }
    const result = await done;
    assert.equal(result.code, 0, result.stderr);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
