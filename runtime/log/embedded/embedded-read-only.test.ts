/**
 * Read-only mode: an EmbeddedLog opened with `readOnly` beside the process
 * that writes the directory (a child process here, as in production: the
 * `recstream process` runner and an operator's `recstream topics`). The
 * reader must see every acknowledged record, follow rolls, new topics,
 * compaction and retention, and never change a byte on disk.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { appendFile, readdir, readFile, rename, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LogUsageError, TopicError } from '../../errors.js';
import type { AppendAck, LogConsumer, LogRecord, TopicSpec } from '../log.js';
import { partitionForKey } from '../partitioner.js';
import { captureLogger, scratchDir, treeDigest } from './embedded-log.fixture.js';
import { EmbeddedLog } from './embedded-log.js';
import { segmentFileName } from './segment.js';

const SCRIPTED_WRITER = fileURLToPath(new URL('./scripted-writer.js', import.meta.url));
const CRASH_APPENDER = fileURLToPath(new URL('./crash-appender.js', import.meta.url));

type Row = [offset: number, key: string | null, value: string | null];

interface WriterChild {
  readonly pid: number;
  send<T = { ok: true }>(command: Record<string, unknown>): Promise<T>;
  /** Closes the writer's log and waits for the process to end. */
  close(): Promise<void>;
  kill(): void;
}

/** Starts scripted-writer.js on `dir`; every `send` resolves once the writer has done it. */
async function startWriter(dir: string, segmentBytes = 1024): Promise<WriterChild> {
  const child: ChildProcess = spawn(process.execPath, [SCRIPTED_WRITER, dir, String(segmentBytes)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit');
  const replies: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const wake = waiting.shift();
    if (wake) wake(line);
    else replies.push(line);
  });
  const nextLine = (): Promise<string> =>
    Promise.race([
      new Promise<string>((resolve) => {
        const line = replies.shift();
        if (line !== undefined) resolve(line);
        else waiting.push(resolve);
      }),
      exited.then(([code, signal]) => {
        throw new Error(`the writer child exited (${code ?? signal}) before answering`);
      }),
    ]);
  const ready = JSON.parse(await nextLine()) as { ready: number };
  const send = async <T>(command: Record<string, unknown>): Promise<T> => {
    child.stdin!.write(`${JSON.stringify(command)}\n`);
    const reply = JSON.parse(await nextLine()) as T & { error?: string };
    if (reply.error !== undefined) throw new Error(`writer child: ${reply.error}`);
    return reply;
  };
  return {
    pid: ready.ready,
    send,
    close: async () => {
      await send({ op: 'close' });
      await exited;
    },
    kill: () => {
      child.kill('SIGKILL');
    },
  };
}

/** What the writer acknowledged, by topic and partition: the value at each offset. */
class Acknowledged {
  private readonly values = new Map<string, (string | null)[]>();

  /** Has the writer append `records` and remembers where each landed. */
  async append(
    writer: WriterChild,
    topic: string,
    records: { key: string; value: string | null; partition: number }[],
  ): Promise<void> {
    const { acks } = await writer.send<{ acks: AppendAck[] }>({ op: 'append', topic, records });
    for (const ack of acks) {
      const mine = records.filter((r) => r.partition === ack.partition);
      assert.equal(mine.length, ack.count);
      const values = this.partition(topic, ack.partition);
      for (const [i, r] of mine.entries()) values[ack.baseOffset + i] = r.value;
    }
  }

  partition(topic: string, partition: number): (string | null)[] {
    const key = `${topic}/${partition}`;
    let values = this.values.get(key);
    if (!values) {
      values = [];
      this.values.set(key, values);
    }
    return values;
  }
}

/** `count` records with values `<prefix><from + i>`, keys cycling over `keys`, spread over `partitions`. */
function records(prefix: string, from: number, count: number, partitions: number, keys = 1_000_000) {
  return Array.from({ length: count }, (_, i) => ({
    key: `k${(from + i) % keys}`,
    value: `${prefix}${from + i}`,
    partition: (from + i) % partitions,
  }));
}

async function readAll(log: EmbeddedLog, topic: string, partition: number): Promise<Row[]> {
  const [range] = (await log.offsets(topic)).filter((o) => o.partition === partition);
  const out: Row[] = [];
  for (let offset = range!.start; ; ) {
    const batch = await log.read(topic, partition, offset, 64);
    if (batch.length === 0) return out;
    out.push(...batch.map(row));
    offset = batch[batch.length - 1]!.offset + 1;
  }
}

function row(r: LogRecord): Row {
  return [r.offset, r.key, r.value === null ? null : r.value.toString()];
}

function values(rows: Row[]): (string | null)[] {
  return rows.map((r) => r[2]);
}

/** Polls until every partition of the assignment reaches `ends`, or fails after `ms`. */
async function pollUntil(
  consumer: LogConsumer,
  ends: Map<string, number>,
  ms = 10_000,
): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  const deadline = Date.now() + ms;
  const behind = () =>
    consumer
      .assignment()
      .some(
        (tp) => consumer.position(tp.topic, tp.partition) < (ends.get(`${tp.topic}/${tp.partition}`) ?? 0),
      );
  while (behind()) {
    assert.ok(Date.now() < deadline, `the consumer did not catch up within ${ms} ms`);
    out.push(...(await consumer.poll({ maxRecords: 100, timeoutMs: 500 })));
  }
  return out;
}

function segmentCount(dir: string, topic: string, partition: number): Promise<number> {
  return readdir(join(dir, 'topics', topic, String(partition))).then(
    (names) => names.filter((n) => n.endsWith('.log')).length,
  );
}

function isReadOnlyError(err: unknown): boolean {
  assert.ok(err instanceof LogUsageError, String(err));
  assert.match(err.message, /was opened read-only/);
  return true;
}

const quiet = { maintenanceIntervalMs: 0, fsync: 'never' as const };

describe('EmbeddedLog read-only', () => {
  test('beside a writer process it reads every acknowledged record and follows rolls, new topics and commits', async () => {
    const { dir, cleanup } = await scratchDir();
    const writer = await startWriter(dir);
    const acked = new Acknowledged();
    try {
      await writer.send({ op: 'topic', spec: { name: 'a', partitions: 2 } });
      await acked.append(writer, 'a', records('a', 0, 40, 2));
      assert.equal((await readFile(join(dir, 'LOCK'), 'utf8')).trim(), String(writer.pid));

      const logger = captureLogger();
      const reader = await EmbeddedLog.open(dir, { readOnly: true, logger });
      try {
        assert.equal(reader.readOnly, true);
        assert.deepEqual(await reader.topics(), [{ name: 'a', partitions: 2, compacted: false }]);
        assert.deepEqual(
          (await reader.offsets('a')).map((o) => [o.start, o.end]),
          [
            [0, 20],
            [0, 20],
          ],
        );
        for (const p of [0, 1])
          assert.deepEqual(values(await readAll(reader, 'a', p)), acked.partition('a', p));

        // Appends bigger than a segment: every one rolls a new segment file the reader has not seen.
        for (let i = 0; i < 10; i++) await acked.append(writer, 'a', records('a', 40 + i * 30, 30, 2));
        assert.ok((await segmentCount(dir, 'a', 0)) >= 8, 'the writer rolled segments');
        assert.deepEqual(
          (await reader.offsets('a')).map((o) => o.end),
          [170, 170],
        );
        for (const p of [0, 1])
          assert.deepEqual(values(await readAll(reader, 'a', p)), acked.partition('a', p));

        assert.equal(await reader.describeTopic('b'), undefined);
        await writer.send({ op: 'topic', spec: { name: 'b', partitions: 1, compacted: true } });
        await acked.append(writer, 'b', records('b', 0, 5, 1));
        assert.deepEqual(await reader.describeTopic('b'), { name: 'b', partitions: 1, compacted: true });
        assert.deepEqual(
          (await reader.topics()).map((t) => t.name),
          ['a', 'b'],
        );
        assert.deepEqual(values(await readAll(reader, 'b', 0)), ['b0', 'b1', 'b2', 'b3', 'b4']);

        // A caught-up consumer waiting in one long poll wakes for appends made by the other process.
        const tail = await reader.consumer({ topics: ['a'], from: 'latest' });
        const polled = tail.poll({ maxRecords: 100, timeoutMs: 20_000 });
        await new Promise((resolve) => setTimeout(resolve, 200));
        await acked.append(writer, 'a', records('a', 340, 4, 2));
        const appended = Date.now();
        const first = await polled;
        const wokeAfter = Date.now() - appended;
        assert.ok(wokeAfter < 2000, `poll woke ${wokeAfter} ms after the append`);
        const rest = await pollUntil(
          tail,
          new Map([
            ['a/0', 172],
            ['a/1', 172],
          ]),
        );
        assert.deepEqual([...first, ...rest].map((r) => r.value!.toString()).sort(), [
          'a340',
          'a341',
          'a342',
          'a343',
        ]);
        await tail.close();

        await writer.send({
          op: 'commit',
          group: 'g',
          offsets: [
            { topic: 'a', partition: 0, offset: 5 },
            { topic: 'a', partition: 1, offset: 7 },
          ],
        });
        assert.deepEqual(
          await reader.committedOffsets('g', 'a'),
          new Map([
            [0, 5],
            [1, 7],
          ]),
        );
        const grouped = await reader.consumer({ topics: ['a'], group: 'g' });
        assert.equal(grouped.position('a', 0), 5);
        assert.equal(grouped.position('a', 1), 7);
        assert.equal(
          (await grouped.poll({ maxRecords: 1 }))[0]!.value!.toString(),
          acked.partition('a', 0)[5],
        );

        // The writer is idle now: whatever the reader does from here must leave the files as they are.
        const before = await treeDigest(dir);
        await assert.rejects(reader.append('a', [{ key: 'x', value: Buffer.from('x') }]), isReadOnlyError);
        await assert.rejects(reader.ensureTopic({ name: 'c', partitions: 1 }), isReadOnlyError);
        assert.deepEqual(await reader.ensureTopic({ name: 'a', partitions: 2 }), {
          name: 'a',
          partitions: 2,
          compacted: false,
        });
        await assert.rejects(
          reader.ensureTopic({ name: 'a', partitions: 2, retentionMs: 1000 }),
          isReadOnlyError,
        );
        await assert.rejects(reader.ensureTopic({ name: 'a', partitions: 3 }), TopicError);
        await assert.rejects(
          reader.commitOffsets('g', [{ topic: 'a', partition: 0, offset: 9 }]),
          isReadOnlyError,
        );
        await assert.rejects(grouped.commit(), isReadOnlyError);
        await assert.rejects(reader.compact('b'), isReadOnlyError);
        await assert.rejects(reader.roll('a'), isReadOnlyError);
        await assert.rejects(reader.enforceRetention('a'), isReadOnlyError);
        await grouped.close();
        for (const p of [0, 1])
          assert.deepEqual(values(await readAll(reader, 'a', p)), acked.partition('a', p));
        assert.equal(await reader.offsetForTimestamp('a', 0, 0), 0);
        await reader.close();
        assert.equal(await treeDigest(dir), before, 'the read-only log changed nothing on disk');
        assert.equal((await readFile(join(dir, 'LOCK'), 'utf8')).trim(), String(writer.pid));
        assert.deepEqual(reader.warnings, []);
        assert.deepEqual(logger.warnings, []);
      } finally {
        await reader.close();
      }
      await writer.close();
      assert.equal(existsSync(join(dir, 'LOCK')), false);
    } finally {
      writer.kill();
      await cleanup();
    }
  });

  test('segments the writer compacts or deletes under a reader are followed, mid-read too', async () => {
    const { dir, cleanup } = await scratchDir();
    const writer = await startWriter(dir);
    const acked = new Acknowledged();
    try {
      await writer.send({ op: 'topic', spec: { name: 'c', partitions: 1, compacted: true } });
      await writer.send({ op: 'topic', spec: { name: 'r', partitions: 1, retentionBytes: 3000 } });
      for (let i = 0; i < 20; i++) {
        await acked.append(writer, 'c', records('c', i * 20, 20, 1, 15));
        await acked.append(writer, 'r', records('r', i * 20, 20, 1));
      }
      const reader = await EmbeddedLog.open(dir, { readOnly: true, logger: captureLogger() });
      try {
        const consumers = new Map<string, LogConsumer>();
        const seen = new Map<string, LogRecord[]>();
        for (const topic of ['c', 'r']) {
          const consumer = await reader.consumer({ topics: [topic], from: 'earliest' });
          const first = await consumer.poll({ maxRecords: 30 });
          assert.equal(first.length, 30);
          consumers.set(topic, consumer);
          seen.set(topic, first);
        }
        const segmentsBefore = await segmentCount(dir, 'c', 0);
        await writer.send({ op: 'roll', topic: 'c' });
        await writer.send({ op: 'compact', topic: 'c' });
        await writer.send({ op: 'retention', topic: 'r' });
        assert.ok((await segmentCount(dir, 'c', 0)) < segmentsBefore, 'compaction replaced segments');

        for (const topic of ['c', 'r']) {
          const dump = await writer.send<{ start: number; end: number; records: Row[] }>({
            op: 'dump',
            topic,
            partition: 0,
          });
          const end = acked.partition(topic, 0).length;
          // Mid-read: what the reader still gets must be records the writer wrote at those offsets, in order, up to the end.
          const rest = await pollUntil(consumers.get(topic)!, new Map([[`${topic}/0`, end]]));
          const got = [...seen.get(topic)!, ...rest];
          for (let i = 1; i < got.length; i++) assert.ok(got[i]!.offset > got[i - 1]!.offset);
          for (const r of got) assert.equal(r.value!.toString(), acked.partition(topic, 0)[r.offset]);
          assert.equal(got[got.length - 1]!.offset, end - 1);
          // A fresh read sees exactly what the writer sees.
          assert.deepEqual(await readAll(reader, topic, 0), dump.records);
          assert.deepEqual(await reader.offsets(topic), [{ partition: 0, start: dump.start, end: dump.end }]);
          await consumers.get(topic)!.close();
        }
        assert.ok((await reader.offsets('r'))[0]!.start > 0, 'retention deleted the oldest segments');
        assert.ok((await readAll(reader, 'c', 0)).length < 400, 'compaction dropped overwritten keys');
        assert.deepEqual(reader.warnings, []);
      } finally {
        await reader.close();
      }
      await writer.close();
    } finally {
      writer.kill();
      await cleanup();
    }
  });

  test('a compaction swap caught half-way is read as the compacted copy it already is', async () => {
    const { dir, cleanup } = await scratchDir();
    try {
      const partDir = join(dir, 'topics', 'c', '0');
      const writer = await EmbeddedLog.open(dir, { ...quiet, segmentBytes: 1024 });
      await writer.ensureTopic({ name: 'c', partitions: 1, compacted: true });
      for (let i = 0; i < 12; i++)
        await writer.append(
          'c',
          records('c', i * 20, 20, 1, 15).map((r) => ({ key: r.key, value: Buffer.from(r.value) })),
        );
      const old = new Map<string, Buffer>();
      for (const name of await readdir(partDir)) old.set(name, await readFile(join(partDir, name)));
      await writer.roll('c');
      await writer.compact('c');
      const compacted = await readAll(writer, 'c', 0);
      await writer.close();

      // The moment before the swap's last rename: old input segments still there, the complete copy named .swap.
      const after = (await readdir(partDir)).filter((n) => n.endsWith('.log')).sort();
      const end = Number(after[1]!.slice(0, 20));
      const swap = `${segmentFileName(0).slice(0, 20)}-${String(end).padStart(20, '0')}.swap`;
      await rename(join(partDir, segmentFileName(0)), join(partDir, swap));
      for (const [name, bytes] of old)
        if (Number(name.slice(0, 20)) < end) await writeFile(join(partDir, name), bytes);

      const reader = await EmbeddedLog.open(dir, { readOnly: true, logger: captureLogger() });
      try {
        assert.deepEqual(await readAll(reader, 'c', 0), compacted);
        // The writer finishes the swap: the reader goes on reading the same records.
        for (const name of old.keys()) {
          const base = Number(name.slice(0, 20));
          if (base > 0 && base < end) await rename(join(partDir, name), join(partDir, `${name}.gone`));
        }
        await rename(join(partDir, swap), join(partDir, segmentFileName(0)));
        assert.deepEqual(await readAll(reader, 'c', 0), compacted);
      } finally {
        await reader.close();
      }
    } finally {
      await cleanup();
    }
  });

  test('a torn tail is not yet written: never truncated, and readable once the rest of the batch lands', async () => {
    const { dir, cleanup } = await scratchDir();
    try {
      const segment = join(dir, 'topics', 't', '0', segmentFileName(0));
      const writer = await EmbeddedLog.open(dir, quiet);
      await writer.ensureTopic({ name: 't', partitions: 1 });
      const positions: number[] = [];
      for (let b = 0; b < 3; b++) {
        positions.push((await stat(segment)).size);
        await writer.append(
          't',
          Array.from({ length: 5 }, (_, i) => ({
            key: `k${b * 5 + i}`,
            value: Buffer.from(`v${b * 5 + i}`),
          })),
        );
      }
      await writer.close();
      const whole = await readFile(segment);
      const cut = positions[2]! + 30;
      await truncate(segment, cut);
      const before = await treeDigest(dir);

      const logger = captureLogger();
      const reader = await EmbeddedLog.open(dir, { readOnly: true, logger });
      try {
        assert.deepEqual(await reader.offsets('t'), [{ partition: 0, start: 0, end: 10 }]);
        assert.deepEqual(
          values(await readAll(reader, 't', 0)),
          Array.from({ length: 10 }, (_, i) => `v${i}`),
        );
        assert.equal((await stat(segment)).size, cut, 'the torn tail is still there');
        assert.equal(await treeDigest(dir), before);

        // The "writer" finishes its append: the batch becomes visible.
        await appendFile(segment, whole.subarray(cut));
        assert.deepEqual(await reader.offsets('t'), [{ partition: 0, start: 0, end: 15 }]);
        assert.deepEqual(values(await reader.read('t', 0, 10, 10).then((rs) => rs.map(row))), [
          'v10',
          'v11',
          'v12',
          'v13',
          'v14',
        ]);

        // Zeros past the end (a crash mid-write): nothing new, nothing cut.
        await appendFile(segment, Buffer.alloc(300));
        const withZeros = await treeDigest(dir);
        assert.deepEqual(await reader.offsets('t'), [{ partition: 0, start: 0, end: 15 }]);
        assert.deepEqual(await reader.read('t', 0, 15, 10), []);
        assert.equal(await treeDigest(dir), withZeros);
        assert.deepEqual(reader.warnings, []);
        assert.deepEqual(logger.warnings, []);

        // A writer opening in this process meanwhile cuts the zeros off and appends; the reader follows.
        const restarted = await EmbeddedLog.open(dir, { ...quiet, logger: captureLogger() });
        try {
          assert.deepEqual(
            restarted.warnings.map((w) => w.kind),
            ['torn'],
          );
          await restarted.append('t', [{ key: 'k', value: Buffer.from('after') }]);
          assert.deepEqual(values(await reader.read('t', 0, 15, 10).then((rs) => rs.map(row))), ['after']);
        } finally {
          await restarted.close();
        }
      } finally {
        await reader.close();
      }
    } finally {
      await cleanup();
    }
  });

  test('a missing log dir is a log without topics until a writer creates one; nothing is created', async () => {
    const { dir, cleanup } = await scratchDir();
    try {
      const logDir = join(dir, 'log');
      const reader = await EmbeddedLog.open(logDir, { readOnly: true });
      try {
        assert.deepEqual(await reader.topics(), []);
        assert.equal(existsSync(logDir), false);
        assert.deepEqual(await reader.committedOffsets('g', 't'), new Map());
        const writer = await EmbeddedLog.open(logDir, quiet);
        try {
          await writer.ensureTopic({ name: 't', partitions: 1 } satisfies TopicSpec);
          await writer.append('t', [{ key: 'k', value: Buffer.from('v') }]);
          assert.deepEqual(values(await readAll(reader, 't', 0)), ['v']);
        } finally {
          await writer.close();
        }
      } finally {
        await reader.close();
      }
    } finally {
      await cleanup();
    }
  });

  test('while a writer process appends flat out and is then killed, the reader gets every acknowledged record and cuts nothing', async () => {
    const { dir, cleanup } = await scratchDir();
    try {
      const child = spawn(process.execPath, [CRASH_APPENDER, dir, 'crash', '3'], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const exited = once(child, 'exit');
      const acked: { partition: number; base: number; count: number }[] = [];
      const ready = new Promise<void>((resolve) => {
        createInterface({ input: child.stdout }).on('line', (line) => {
          if (line === 'ready') return resolve();
          for (const part of line.split(' ')[2]!.split(',')) {
            const [partition, base, count] = part.split(':').map(Number);
            acked.push({ partition: partition!, base: base!, count: count! });
          }
        });
      });
      await ready;
      const reader = await EmbeddedLog.open(dir, { readOnly: true, logger: captureLogger() });
      try {
        const consumer = await reader.consumer({ topics: ['crash'], from: 'earliest' });
        const got = new Map<number, LogRecord[]>([
          [0, []],
          [1, []],
          [2, []],
        ]);
        const ackedEnds = () => {
          const ends = new Map<string, number>();
          for (const a of acked)
            ends.set(
              `crash/${a.partition}`,
              Math.max(ends.get(`crash/${a.partition}`) ?? 0, a.base + a.count),
            );
          return ends;
        };
        const take = (records: LogRecord[]) => {
          for (const r of records) got.get(r.partition)!.push(r);
        };
        // Keep catching up with what was acknowledged a moment ago while the child goes on appending.
        for (let round = 0; round < 5; round++) {
          take(await pollUntil(consumer, ackedEnds()));
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        child.kill('SIGKILL');
        const [, signal] = await exited;
        assert.equal(signal, 'SIGKILL', 'the child was still appending');
        const dead = await treeDigest(dir);
        take(await pollUntil(consumer, ackedEnds()));
        take(await consumer.poll({ maxRecords: 1_000_000 }));
        await consumer.close();

        assert.ok(acked.length > 100, `only ${acked.length} acknowledgements`);
        for (const [partition, records] of got) {
          records.forEach((r, i) => {
            assert.equal(r.offset, i, `partition ${partition} is read in order without gaps`);
            const seq = Number(r.value!.toString().slice(1));
            assert.equal(r.key, `k${seq % 101}`);
            assert.equal(partitionForKey(r.key!, 3), partition);
          });
        }
        for (const a of acked) assert.ok(got.get(a.partition)!.length >= a.base + a.count);
        assert.equal(await treeDigest(dir), dead, 'a torn tail the kill left is not cut by a reader');
        assert.deepEqual(reader.warnings, []);
      } finally {
        await reader.close();
      }
    } finally {
      await cleanup();
    }
  });
});
