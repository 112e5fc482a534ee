import assert from 'node:assert/strict';
import { copyFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { OffsetOutOfRangeError } from '../../errors.js';
import type { LogRecord } from '../log.js';
import { captureLogger, scratchDir } from './embedded-log.fixture.js';
import { EmbeddedLog } from './embedded-log.js';
import type { EmbeddedLogOptions } from './options.js';
import { segmentFileName } from './segment.js';

async function withLog(
  options: EmbeddedLogOptions,
  body: (log: EmbeddedLog, dir: string) => Promise<void>,
): Promise<void> {
  const { dir, cleanup } = await scratchDir();
  const log = await EmbeddedLog.open(dir, {
    maintenanceIntervalMs: 0,
    fsync: 'never',
    logger: captureLogger(),
    ...options,
  });
  try {
    await body(log, dir);
  } finally {
    await log.close();
    await cleanup();
  }
}

async function readAll(log: EmbeddedLog, topic: string): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  let offset = (await log.offsets(topic))[0]!.start;
  for (;;) {
    const batch = await log.read(topic, 0, offset, 500);
    if (batch.length === 0) return out;
    out.push(...batch);
    offset = batch[batch.length - 1]!.offset + 1;
  }
}

async function segmentFiles(dir: string, topic: string): Promise<string[]> {
  return (await readdir(join(dir, 'topics', topic, '0'))).sort();
}

/** Appends `rounds` rounds of one record per key `k0..k<keys-1>` (value `k<i>@<round>`), one append per round; returns the offset of each key's last write. */
async function writeRounds(
  log: EmbeddedLog,
  topic: string,
  keys: number,
  rounds: number,
): Promise<Map<string, number>> {
  const last = new Map<string, number>();
  for (let round = 0; round < rounds; round++) {
    const [ack] = await log.append(
      topic,
      Array.from({ length: keys }, (_, i) => ({ key: `k${i}`, value: Buffer.from(`k${i}@${round}`) })),
    );
    for (let i = 0; i < keys; i++) last.set(`k${i}`, ack!.baseOffset + i);
  }
  return last;
}

describe('EmbeddedLog retention', () => {
  test('size retention deletes the oldest whole segments and advances the start offset', async () => {
    const logger = captureLogger();
    await withLog({ segmentBytes: 1024, logger }, async (log, dir) => {
      await log.ensureTopic({ name: 'r', partitions: 1, retentionBytes: 2048 });
      const consumer = await log.consumer({ topics: ['r'], from: 'earliest' });
      await writeRounds(log, 'r', 5, 40);
      const before = (await segmentFiles(dir, 'r')).length;
      const deleted = await log.enforceRetention('r');
      assert.ok(deleted > 0);
      const [range] = await log.offsets('r');
      assert.equal(range!.end, 200);
      assert.equal(range!.start, 200 - (await readAll(log, 'r')).length);
      assert.ok(range!.start > 0 && range!.start % 5 === 0, `start ${range!.start} is a batch boundary`);
      assert.ok((await segmentFiles(dir, 'r')).length < before);
      await assert.rejects(log.read('r', 0, range!.start - 1, 1), OffsetOutOfRangeError);
      assert.equal((await log.read('r', 0, range!.start, 1))[0]!.offset, range!.start);

      const records = await consumer.poll({ maxRecords: 1 });
      assert.equal(records[0]!.offset, range!.start, 'a consumer behind the start skips to it');
      assert.ok(logger.warnings.some((w) => /deleted by retention/.test(w.message)));
      await consumer.close();
    });
  });

  test('time retention deletes closed segments older than retentionMs but never the active one', async () => {
    await withLog({ segmentBytes: 1024 }, async (log) => {
      await log.ensureTopic({ name: 'tr', partitions: 1, retentionMs: 50 });
      await writeRounds(log, 'tr', 5, 20);
      await sleep(80);
      await log.roll('tr');
      assert.equal(await log.enforceRetention('tr'), 100);
      assert.deepEqual(await log.offsets('tr'), [{ partition: 0, start: 100, end: 100 }]);
      const [ack] = await log.append('tr', [{ key: 'k', value: Buffer.from('fresh') }]);
      assert.equal(ack!.baseOffset, 100);
      assert.equal(await log.enforceRetention('tr'), 0);
    });
  });
});

describe('EmbeddedLog compaction', () => {
  test('keeps the last record per key at its original offset, across segments and a reopen', async () => {
    const { dir, cleanup } = await scratchDir();
    try {
      const options = { segmentBytes: 1024, maintenanceIntervalMs: 0, fsync: 'never' as const };
      const log = await EmbeddedLog.open(dir, options);
      await log.ensureTopic({ name: 'table', partitions: 1, compacted: true });
      const last = await writeRounds(log, 'table', 10, 20);
      const [tomb] = await log.append('table', [{ key: 'k3', value: null }]);
      last.set('k3', tomb!.baseOffset);
      await log.roll('table');
      const filesBefore = (await segmentFiles(dir, 'table')).length;
      const result = await log.compact('table');
      assert.equal(result.recordsBefore, 201);
      assert.equal(result.recordsAfter, 10);
      assert.ok((await segmentFiles(dir, 'table')).length < filesBefore, 'small cleaned segments are merged');

      const check = async (l: EmbeddedLog) => {
        const records = await readAll(l, 'table');
        assert.deepEqual(
          records.map((r) => [r.key, r.offset, r.value?.toString() ?? null]),
          [...last]
            .sort((a, b) => a[1] - b[1])
            .map(([key, offset]) => [key, offset, key === 'k3' ? null : `${key}@19`]),
        );
        assert.deepEqual(await l.offsets('table'), [{ partition: 0, start: 0, end: 201 }]);
      };
      await check(log);
      await log.close();

      const reopened = await EmbeddedLog.open(dir, options);
      try {
        assert.deepEqual(reopened.warnings, []);
        await check(reopened);
        const [ack] = await reopened.append('table', [{ key: 'k0', value: Buffer.from('new') }]);
        assert.equal(ack!.baseOffset, 201);
      } finally {
        await reopened.close();
      }
    } finally {
      await cleanup();
    }
  });

  test('never compacts the active segment', async () => {
    await withLog({}, async (log) => {
      await log.ensureTopic({ name: 'active', partitions: 1, compacted: true });
      await writeRounds(log, 'active', 3, 5);
      assert.deepEqual(await log.compact('active'), { recordsBefore: 0, recordsAfter: 0 });
      assert.equal((await readAll(log, 'active')).length, 15);
    });
  });

  test('drops tombstones once they are older than deleteRetentionMs', async () => {
    await withLog({ deleteRetentionMs: 30 }, async (log) => {
      await log.ensureTopic({ name: 'tomb', partitions: 1, compacted: true });
      await writeRounds(log, 'tomb', 2, 2);
      await log.append('tomb', [{ key: 'k0', value: null }]);
      await log.roll('tomb');
      await log.compact('tomb');
      assert.deepEqual(
        (await readAll(log, 'tomb')).map((r) => [r.key, r.value?.toString() ?? null]),
        [
          ['k1', 'k1@1'],
          ['k0', null],
        ],
      );
      await sleep(50);
      await log.compact('tomb');
      assert.deepEqual(
        (await readAll(log, 'tomb')).map((r) => [r.key, r.offset]),
        [['k1', 3]],
      );
    });
  });

  test('runs in the background after segments roll', async () => {
    await withLog({ segmentBytes: 1024, maintenanceIntervalMs: 20 }, async (log) => {
      await log.ensureTopic({ name: 'bg', partitions: 1, compacted: true });
      await writeRounds(log, 'bg', 4, 60);
      const deadline = Date.now() + 5000;
      let count = (await readAll(log, 'bg')).length;
      while (count >= 200 && Date.now() < deadline) {
        await sleep(20);
        count = (await readAll(log, 'bg')).length;
      }
      assert.ok(count < 200, `background compaction left ${count} of 240 records`);
    });
  });

  test('open finishes a compaction swap that a crash interrupted', async () => {
    const { dir, cleanup } = await scratchDir();
    try {
      const options = { segmentBytes: 1024, maintenanceIntervalMs: 0, fsync: 'never' as const };
      const log = await EmbeddedLog.open(dir, options);
      await log.ensureTopic({ name: 'swap', partitions: 1, compacted: true });
      await writeRounds(log, 'swap', 5, 30);
      const all = await readAll(log, 'swap');
      await log.close();
      const files = (await segmentFiles(dir, 'swap')).filter((f) => f.endsWith('.log'));
      assert.ok(files.length >= 4);
      const bases = files.map((f) => Number(f.slice(0, 20)));
      const partDir = join(dir, 'topics', 'swap', '0');
      // A finished cleaned copy of [bases[0], bases[2]) that kept only the first segment, and an unfinished one.
      await copyFile(
        join(partDir, files[0]!),
        join(partDir, `${files[0]!.slice(0, 20)}-${String(bases[2]).padStart(20, '0')}.swap`),
      );
      await writeFile(join(partDir, `${String(bases[2]).padStart(20, '0')}.cleaned`), 'partial');

      const reopened = await EmbeddedLog.open(dir, options);
      try {
        assert.deepEqual(reopened.warnings, []);
        assert.deepEqual(
          await segmentFiles(dir, 'swap'),
          files.filter((f) => f !== segmentFileName(bases[1]!)),
        );
        const expected = all
          .filter((r) => r.offset < bases[1]! || r.offset >= bases[2]!)
          .map((r) => r.offset);
        assert.deepEqual(
          (await readAll(reopened, 'swap')).map((r) => r.offset),
          expected,
        );
      } finally {
        await reopened.close();
      }
    } finally {
      await cleanup();
    }
  });
});
