import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { appendFile, chmod, mkdir, readFile, rm, stat, symlink, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { missingService } from '../../../test/skips.js';
import { CorruptDataError, StorageError } from '../../errors.js';
import type { LogRecord } from '../log.js';
import { partitionForKey } from '../partitioner.js';
import { captureLogger, scratchDir } from './embedded-log.fixture.js';
import { EmbeddedLog } from './embedded-log.js';
import { segmentFileName } from './segment.js';

const quiet = { maintenanceIntervalMs: 0, fsync: 'never' as const };

function segmentPath(dir: string, topic: string, partition: number, base = 0): string {
  return join(dir, 'topics', topic, String(partition), segmentFileName(base));
}

/** Writes `batches` appends of 5 records (values `v<i>`) to a one-partition topic and closes; returns each batch's byte position. */
async function writeBatches(dir: string, batches: number, options = {}): Promise<number[]> {
  const log = await EmbeddedLog.open(dir, { ...quiet, ...options });
  await log.ensureTopic({ name: 't', partitions: 1 });
  const positions: number[] = [];
  for (let b = 0; b < batches; b++) {
    positions.push((await stat(segmentPath(dir, 't', 0))).size);
    await log.append(
      't',
      Array.from({ length: 5 }, (_, i) => ({ key: `k${b * 5 + i}`, value: Buffer.from(`v${b * 5 + i}`) })),
    );
  }
  await log.close();
  return positions;
}

async function readAll(log: EmbeddedLog, topic: string, partition: number): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  let offset = (await log.offsets(topic))[partition]!.start;
  for (;;) {
    const batch = await log.read(topic, partition, offset, 500);
    if (batch.length === 0) return out;
    out.push(...batch);
    offset = batch[batch.length - 1]!.offset + 1;
  }
}

async function flipByte(path: string, position: number): Promise<void> {
  const bytes = await readFile(path);
  bytes[position] = bytes[position]! ^ 0xff;
  await writeFile(path, bytes);
}

describe('EmbeddedLog recovery', () => {
  const tornCases: [string, (path: string, positions: number[]) => Promise<void>][] = [
    ['a batch cut short', async (path) => truncate(path, (await stat(path)).size - 7)],
    ['zeros after the last batch', async (path) => appendFile(path, Buffer.alloc(300))],
    ['a last batch with a bad CRC', async (path, positions) => flipByte(path, positions[2]! + 70)],
  ];
  for (const [name, damage] of tornCases) {
    test(`a torn tail (${name}) is cut off on open; earlier batches stay and appends continue`, async () => {
      const { dir, cleanup } = await scratchDir();
      try {
        const positions = await writeBatches(dir, 3);
        await damage(segmentPath(dir, 't', 0), positions);
        const logger = captureLogger();
        const log = await EmbeddedLog.open(dir, { ...quiet, logger });
        try {
          const expectedEnd = name.startsWith('zeros') ? 15 : 10;
          const tornAt = name.startsWith('zeros')
            ? (await stat(segmentPath(dir, 't', 0))).size
            : positions[2];
          assert.deepEqual(
            log.warnings.map((w) => [w.kind, w.topic, w.partition, w.position]),
            [['torn', 't', 0, tornAt]],
          );
          assert.equal(logger.warnings.length, 1);
          assert.equal((await log.offsets('t'))[0]!.end, expectedEnd);
          const [ack] = await log.append('t', [{ key: 'after', value: Buffer.from('after') }]);
          assert.equal(ack!.baseOffset, expectedEnd);
          const all = await readAll(log, 't', 0);
          assert.deepEqual(
            all.map((r) => r.value!.toString()),
            [...Array.from({ length: expectedEnd }, (_, i) => `v${i}`), 'after'],
          );
        } finally {
          await log.close();
        }
      } finally {
        await cleanup();
      }
    });
  }

  test('a corrupt batch in the middle is reported as CorruptDataError with its position; others stay readable', async () => {
    const { dir, cleanup } = await scratchDir();
    try {
      const positions = await writeBatches(dir, 3);
      await flipByte(segmentPath(dir, 't', 0), positions[1]! + 70);
      const log = await EmbeddedLog.open(dir, { ...quiet, logger: captureLogger() });
      try {
        assert.deepEqual(
          log.warnings.map((w) => [w.kind, w.position]),
          [['corrupt', positions[1]]],
        );
        assert.equal(
          (await log.offsets('t'))[0]!.end,
          15,
          'a corrupt batch in the middle is not a torn tail: nothing is cut',
        );
        assert.deepEqual(
          (await log.read('t', 0, 0, 5)).map((r) => r.offset),
          [0, 1, 2, 3, 4],
        );
        await assert.rejects(log.read('t', 0, 5, 5), (err: unknown) => {
          assert.ok(err instanceof CorruptDataError);
          assert.match(err.message, new RegExp(`batch at byte ${positions[1]} fails its CRC check`));
          return true;
        });
        const consumer = await log.consumer({ topics: ['t'], from: 'earliest' });
        await assert.rejects(consumer.poll({ maxRecords: 100 }), CorruptDataError);
        await consumer.close();
        assert.deepEqual(
          (await log.read('t', 0, 10, 5)).map((r) => r.value!.toString()),
          ['v10', 'v11', 'v12', 'v13', 'v14'],
        );
      } finally {
        await log.close();
      }
    } finally {
      await cleanup();
    }
  });

  test('an unreadable header in a closed segment fails reads that reach it', async () => {
    const { dir, cleanup } = await scratchDir();
    try {
      const positions = await writeBatches(dir, 6, { segmentBytes: 1024 });
      const first = segmentPath(dir, 't', 0);
      assert.ok(existsSync(segmentPath(dir, 't', 0, 20)), 'the batches span several segments');
      await flipByte(first, positions[1]! + 8);
      const log = await EmbeddedLog.open(dir, { ...quiet, logger: captureLogger() });
      try {
        assert.equal(log.warnings[0]!.kind, 'corrupt');
        await assert.rejects(log.read('t', 0, 0, 100), /unreadable batch header at byte/);
      } finally {
        await log.close();
      }
    } finally {
      await cleanup();
    }
  });

  test('kill -9 while appending loses no acknowledged record', async () => {
    const { dir, cleanup } = await scratchDir();
    try {
      const helper = fileURLToPath(new URL('./crash-appender.js', import.meta.url));
      const child = spawn(process.execPath, [helper, dir, 'crash', '3'], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const exited = once(child, 'exit');
      const acked: {
        first: number;
        count: number;
        parts: { partition: number; base: number; count: number }[];
      }[] = [];
      const lines = createInterface({ input: child.stdout });
      const enough = new Promise<void>((resolve) => {
        lines.on('line', (line) => {
          if (line === 'ready') return;
          const [first, count, parts] = line.split(' ');
          acked.push({
            first: Number(first),
            count: Number(count),
            parts: parts!.split(',').map((p) => {
              const [partition, base, n] = p.split(':').map(Number);
              return { partition: partition!, base: base!, count: n! };
            }),
          });
          if (acked.length >= 400) resolve();
        });
      });
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([enough, new Promise((resolve) => (timer = setTimeout(resolve, 5000)))]);
      clearTimeout(timer);
      child.kill('SIGKILL');
      const [code, signal] = await exited;
      assert.equal(signal, 'SIGKILL', `the child should still be appending, exited with ${code}`);
      assert.ok(acked.length >= 50, `only ${acked.length} acknowledgements before the kill`);

      const log = await EmbeddedLog.open(dir, { ...quiet, logger: captureLogger() });
      try {
        const byPartition = await Promise.all([0, 1, 2].map((p) => readAll(log, 'crash', p)));
        for (const ack of acked) {
          const keys = Array.from({ length: ack.count }, (_, i) => ack.first + i);
          for (const part of ack.parts) {
            const seqs = keys.filter((s) => partitionForKey(`k${s % 101}`, 3) === part.partition);
            assert.equal(seqs.length, part.count);
            seqs.forEach((s, i) => {
              const r = byPartition[part.partition]![part.base + i];
              assert.ok(r, `acknowledged offset ${part.partition}:${part.base + i} is missing`);
              assert.equal(r.offset, part.base + i);
              assert.equal(r.value!.toString(), `v${s}`);
              assert.equal(r.key, `k${s % 101}`);
            });
          }
        }
        assert.ok(log.warnings.every((w) => w.kind === 'torn'));
      } finally {
        await log.close();
      }
    } finally {
      await cleanup();
    }
  });
});

describe('EmbeddedLog exclusivity and storage errors', () => {
  test('a second open of the same dir fails while the first holds the lock', async () => {
    const { dir, cleanup } = await scratchDir();
    try {
      const log = await EmbeddedLog.open(dir, quiet);
      await assert.rejects(
        EmbeddedLog.open(dir, quiet),
        (err: unknown) => err instanceof StorageError && /already open/.test(err.message),
      );
      await log.close();
      await (await EmbeddedLog.open(dir, quiet)).close();
    } finally {
      await cleanup();
    }
  });

  test('a lock held by another live process is refused; a dead owner is stale and taken over', async () => {
    const { dir, cleanup } = await scratchDir();
    try {
      await writeFile(join(dir, 'LOCK'), `${process.ppid}\n`);
      await assert.rejects(EmbeddedLog.open(dir, quiet), (err: unknown) => {
        assert.ok(err instanceof StorageError);
        assert.match(err.message, new RegExp(`locked by running process ${process.ppid}`));
        return true;
      });
      const child = spawn(process.execPath, ['-e', '']);
      await once(child, 'exit');
      await writeFile(join(dir, 'LOCK'), `${child.pid}\n`);
      const log = await EmbeddedLog.open(dir, quiet);
      assert.equal((await readFile(join(dir, 'LOCK'), 'utf8')).trim(), String(process.pid));
      await log.close();
      assert.equal(existsSync(join(dir, 'LOCK')), false);
    } finally {
      await cleanup();
    }
  });

  test('an unwritable data dir fails with a StorageError that says so', async (t) => {
    const { dir, cleanup } = await scratchDir();
    try {
      const readOnly = join(dir, 'ro');
      await mkdir(readOnly);
      await chmod(readOnly, 0o555);
      const chmodBlocks = await writeFile(join(readOnly, 'probe'), '').then(
        () => false,
        () => true,
      );
      // As root chmod blocks nothing; sysfs refuses new directories even to root.
      const sysfsBlocks =
        !chmodBlocks &&
        (await mkdir('/sys/recstream-probe').then(
          () => false,
          () => true,
        ));
      if (!chmodBlocks && !sysfsBlocks) {
        missingService(
          t,
          'no way to make a directory unwritable for this user (root, and /sys accepts directories); the /dev/full test covers failed writes',
        );
        return;
      }
      const target = chmodBlocks ? join(readOnly, 'log') : '/sys/recstream-probe/log';
      await assert.rejects(EmbeddedLog.open(target, quiet), (err: unknown) => {
        assert.ok(err instanceof StorageError, String(err));
        assert.match(err.message, /permission denied|read-only/);
        assert.ok(err.message.includes(target), err.message);
        return true;
      });
    } finally {
      await chmod(join(dir, 'ro'), 0o755).catch(() => undefined);
      await cleanup();
    }
  });

  test('a full disk fails the append with a StorageError and the partition refuses appends until reopened', async (t) => {
    if (!existsSync('/dev/full')) {
      missingService(t, '/dev/full is not available to simulate a full disk');
      return;
    }
    const { dir, cleanup } = await scratchDir();
    try {
      const log = await EmbeddedLog.open(dir, quiet);
      await log.ensureTopic({ name: 'full', partitions: 1 });
      await log.ensureTopic({ name: 'fine', partitions: 1 });
      await log.close();
      const path = segmentPath(dir, 'full', 0);
      await rm(path);
      await symlink('/dev/full', path);

      const reopened = await EmbeddedLog.open(dir, quiet);
      try {
        await assert.rejects(
          reopened.append('full', [{ key: 'k', value: Buffer.from('v') }]),
          (err: unknown) => {
            assert.ok(err instanceof StorageError, String(err));
            assert.match(err.message, /no space left on device/);
            return true;
          },
        );
        await assert.rejects(
          reopened.append('full', [{ key: 'k', value: Buffer.from('v') }]),
          (err: unknown) => {
            assert.ok(err instanceof StorageError, String(err));
            assert.match(err.message, /refuses appends until the log is reopened/);
            return true;
          },
        );
        assert.deepEqual(await reopened.offsets('full'), [{ partition: 0, start: 0, end: 0 }]);
        const [ack] = await reopened.append('fine', [{ key: 'k', value: Buffer.from('v') }]);
        assert.equal(ack!.baseOffset, 0, 'other partitions keep working');
      } finally {
        await reopened.close();
      }
    } finally {
      await cleanup();
    }
  });
});
