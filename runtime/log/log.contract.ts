/**
 * The shared contract every `EventLog` back-end passes. A back-end's test
 * file calls `runLogContract` with a factory; the suite registers node:test
 * tests that exercise the port only through `EventLog`.
 *
 * The suite works on back-ends whose topics outlive a test (a Kafka broker,
 * or a mock server whose topics are declared up front): it uses only the
 * topics in `CONTRACT_TOPICS`, reaches them through the factory's
 * `topic(base)` mapping, and never assumes a topic starts empty. Every check
 * is relative to the end offsets seen at the start of the test, keys carry a
 * random run id, and groups are fresh per test.
 *
 * @example
 * ```ts
 * runLogContract('embedded', async () => {
 *   const dir = await mkdtemp(join(tmpdir(), 'log-'));
 *   const log = await EmbeddedLog.open(dir);
 *   return {
 *     log,
 *     topic: (base) => base,
 *     compact: async (topic) => { await log.roll(topic); await log.compact(topic); },
 *     cleanup: async () => { await log.close(); await rm(dir, { recursive: true }); },
 *   };
 * });
 * ```
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, type TestContext, test } from 'node:test';
import { TopicError } from '../errors.js';
import type { EventLog, LogConsumer, LogRecord, OutgoingRecord, TopicSpec } from './log.js';
import { partitionForKey } from './partitioner.js';

/** A topic the contract suite needs; Kafka-protocol mocks must declare these (names via `topic(base)`). */
export interface ContractTopic {
  readonly base: string;
  readonly partitions: number;
  readonly compacted?: boolean;
}

/** Every topic the suite touches. Keep this list short: mock brokers declare each one by hand. */
export const CONTRACT_TOPICS: readonly ContractTopic[] = [
  { base: 'contract.events', partitions: 3 },
  { base: 'contract.single', partitions: 1 },
  { base: 'contract.compacted', partitions: 1, compacted: true },
];

/** Contract features a back-end may declare unsupported (the suite then skips them, printing the reason). */
export type ContractFeature =
  | 'compaction'
  | 'timestampLookup'
  | 'unknownTopicError'
  | 'topicMismatchError'
  | 'emptyValues'
  | 'deleteTopics';

/** What a back-end's factory hands the suite for one test. */
export interface LogContractHarness {
  readonly log: EventLog;
  /** Maps a `CONTRACT_TOPICS` base name to the topic name used on this back-end. */
  readonly topic: (base: string) => string;
  /** Releases everything the factory made (closes the log, removes temporary files). */
  readonly cleanup: () => Promise<void>;
  /**
   * Compacts everything written to the topic so far, as a broker eventually
   * would. Absent when the back-end cannot force compaction (a real broker
   * compacts on its own schedule), which it then declares in
   * `capabilities.unsupported.compaction`; the compaction test is skipped.
   */
  readonly compact?: (topic: string) => Promise<void>;
  readonly capabilities?: {
    /** Features this back-end cannot offer, each with the reason printed when its test is skipped. */
    readonly unsupported?: Partial<Record<ContractFeature, string>>;
  };
}

export type LogContractFactory = () => Promise<LogContractHarness>;

const POLL_DEADLINE_MS = 10_000;

function spec(h: LogContractHarness, base: string): TopicSpec {
  const t = CONTRACT_TOPICS.find((c) => c.base === base);
  if (!t) throw new Error(`${base} is not in CONTRACT_TOPICS`);
  return { name: h.topic(base), partitions: t.partitions, compacted: t.compacted ?? false };
}

async function withHarness(
  factory: LogContractFactory,
  body: (h: LogContractHarness) => Promise<void>,
): Promise<void> {
  const h = await factory();
  try {
    await body(h);
  } finally {
    await h.cleanup();
  }
}

function skipped(h: LogContractHarness, t: TestContext, feature: ContractFeature): boolean {
  const reason = h.capabilities?.unsupported?.[feature];
  if (reason === undefined) return false;
  t.skip(`${feature} unsupported by this back-end: ${reason}`);
  return true;
}

/** Reads a partition's records in [from, to) through `read`, following gaps (compaction). */
async function readRange(
  log: EventLog,
  topic: string,
  partition: number,
  from: number,
  to: number,
): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  let offset = from;
  while (offset < to) {
    const batch = await log.read(topic, partition, offset, 100);
    if (batch.length === 0) break;
    for (const r of batch) {
      if (r.offset >= to) return out;
      out.push(r);
    }
    offset = batch[batch.length - 1]!.offset + 1;
  }
  return out;
}

/** Polls until `want` records matching `keep` arrived or the deadline passed. */
async function pollFor(
  consumer: LogConsumer,
  want: number,
  keep: (r: LogRecord) => boolean,
): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  const deadline = Date.now() + POLL_DEADLINE_MS;
  while (out.length < want && Date.now() < deadline) {
    for (const r of await consumer.poll({ maxRecords: 500, timeoutMs: 200 })) if (keep(r)) out.push(r);
  }
  return out;
}

async function endOffsets(log: EventLog, topic: string): Promise<number[]> {
  return (await log.offsets(topic)).map((o) => o.end);
}

function value(text: string): Buffer {
  return Buffer.from(text, 'utf8');
}

/**
 * Registers the contract tests for one back-end under `describe(name)`.
 * `factory` is called once per test and its `cleanup` always runs.
 */
export function runLogContract(name: string, factory: LogContractFactory): void {
  describe(`EventLog contract: ${name}`, () => {
    test('ensureTopic is idempotent and describes the topic', async () => {
      await withHarness(factory, async (h) => {
        for (const base of CONTRACT_TOPICS.map((c) => c.base)) {
          const s = spec(h, base);
          const first = await h.log.ensureTopic(s);
          const again = await h.log.ensureTopic(s);
          assert.deepEqual(first, { name: s.name, partitions: s.partitions, compacted: s.compacted });
          assert.deepEqual(again, first);
          assert.deepEqual(await h.log.describeTopic(s.name), first);
        }
        const names = (await h.log.topics()).map((t) => t.name);
        for (const c of CONTRACT_TOPICS)
          assert.ok(names.includes(h.topic(c.base)), `topics() lists ${h.topic(c.base)}`);
        assert.equal(await h.log.describeTopic(`contract-missing-${randomUUID()}`), undefined);
      });
    });

    test('ensureTopic with another partition count fails with TopicError', async (t) => {
      await withHarness(factory, async (h) => {
        if (skipped(h, t, 'topicMismatchError')) return;
        const s = spec(h, 'contract.events');
        await h.log.ensureTopic(s);
        await assert.rejects(h.log.ensureTopic({ ...s, partitions: s.partitions + 1 }), (err: unknown) => {
          assert.ok(err instanceof TopicError, `expected TopicError, got ${String(err)}`);
          assert.match(err.message, new RegExp(s.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
          return true;
        });
      });
    });

    test('deleteTopics removes records and committed offsets; the name starts again at offset 0', async (t) => {
      await withHarness(factory, async (h) => {
        if (skipped(h, t, 'deleteTopics')) return;
        const name = `contract-deletable-${randomUUID()}`;
        const group = `contract-delete-${randomUUID()}`;
        await h.log.ensureTopic({ name, partitions: 2 });
        await h.log.append(name, [
          { key: 'a', value: value('1'), partition: 0 },
          { key: 'b', value: value('2'), partition: 1 },
        ]);
        await h.log.commitOffsets(group, [{ topic: name, partition: 0, offset: 1 }]);
        await h.log.deleteTopics([name, `contract-missing-${randomUUID()}`]);
        assert.equal(await h.log.describeTopic(name), undefined);
        assert.ok(!(await h.log.topics()).some((info) => info.name === name), 'topics() no longer lists it');
        await h.log.deleteTopics([name]);

        await h.log.ensureTopic({ name, partitions: 1 });
        assert.deepEqual(await endOffsets(h.log, name), [0]);
        assert.deepEqual(await h.log.read(name, 0, 0, 10), []);
        assert.deepEqual([...(await h.log.committedOffsets(group, name))], []);
        const [ack] = await h.log.append(name, [{ key: 'c', value: value('3') }]);
        assert.equal(ack!.baseOffset, 0);
        await h.log.deleteTopics([name]);
      });
    });

    test('append to a missing topic fails with TopicError naming it', async (t) => {
      await withHarness(factory, async (h) => {
        if (skipped(h, t, 'unknownTopicError')) return;
        const missing = `contract-missing-${randomUUID()}`;
        await assert.rejects(h.log.append(missing, [{ key: 'k', value: value('v') }]), (err: unknown) => {
          assert.ok(err instanceof TopicError, `expected TopicError, got ${String(err)}`);
          assert.ok(err.message.includes(missing), err.message);
          return true;
        });
      });
    });

    test('append acks contiguous offsets and read returns the records from an offset', async () => {
      await withHarness(factory, async (h) => {
        const s = spec(h, 'contract.single');
        await h.log.ensureTopic(s);
        const [end0] = await endOffsets(h.log, s.name);
        const run = randomUUID();
        const before = Date.now();
        const records: OutgoingRecord[] = Array.from({ length: 20 }, (_, i) => ({
          key: `${run}-${i}`,
          value: value(`v${i}`),
        }));
        const acks = await h.log.append(s.name, records);
        const after = Date.now();
        assert.deepEqual(acks, [{ partition: 0, baseOffset: end0!, count: 20 }]);
        const offsets = await h.log.offsets(s.name);
        assert.equal(offsets.length, 1);
        assert.equal(offsets[0]!.partition, 0);
        assert.equal(offsets[0]!.end, end0! + 20);
        assert.ok(offsets[0]!.start <= end0!);

        const all = await readRange(h.log, s.name, 0, end0!, end0! + 20);
        assert.deepEqual(
          all.map((r) => [r.topic, r.partition, r.offset, r.key, r.value?.toString()]),
          records.map((_, i) => [s.name, 0, end0! + i, `${run}-${i}`, `v${i}`]),
        );
        for (const r of all)
          assert.ok(
            r.timestamp >= before - 1000 && r.timestamp <= after + 1000,
            'default timestamp is the append time',
          );

        const fromMiddle = await h.log.read(s.name, 0, end0! + 15, 3);
        assert.deepEqual(
          fromMiddle.map((r) => r.offset),
          [end0! + 15, end0! + 16, end0! + 17],
        );
        assert.deepEqual(await h.log.read(s.name, 0, end0! + 20, 10), [], 'read at the end returns []');
      });
    });

    test('keys pick partitions with partitionForKey; explicit partitions win; order holds per partition', async () => {
      await withHarness(factory, async (h) => {
        const s = spec(h, 'contract.events');
        await h.log.ensureTopic(s);
        const end0 = await endOffsets(h.log, s.name);
        const run = randomUUID();
        const keys = Array.from({ length: 12 }, (_, i) => `${run}-user-${i}`);
        const sent: OutgoingRecord[] = [];
        for (let round = 0; round < 3; round++) {
          const batch = keys.map((key, i) => ({ key, value: value(`${key}#${round * 100 + i}`) }));
          const acks = await h.log.append(s.name, batch);
          let expectedCount = 0;
          for (const ack of acks) {
            assert.equal(
              ack.count,
              batch.filter((r) => partitionForKey(r.key, s.partitions) === ack.partition).length,
            );
            expectedCount += ack.count;
          }
          assert.equal(expectedCount, batch.length);
          sent.push(...batch);
        }
        const explicit = await h.log.append(s.name, [
          { key: keys[0]!, value: value('explicit'), partition: 2 },
        ]);
        assert.equal(explicit.length, 1);
        assert.equal(explicit[0]!.partition, 2);

        const end1 = await endOffsets(h.log, s.name);
        for (let p = 0; p < s.partitions; p++) {
          const got = await readRange(h.log, s.name, p, end0[p]!, end1[p]!);
          const expected = sent
            .filter((r) => partitionForKey(r.key!, s.partitions) === p)
            .map((r) => r.value!.toString());
          if (p === 2) expected.push('explicit');
          assert.deepEqual(
            got.map((r) => r.value!.toString()),
            expected,
            `partition ${p} keeps append order`,
          );
          for (let i = 1; i < got.length; i++) assert.ok(got[i]!.offset > got[i - 1]!.offset);
        }
      });
    });

    test('null keys are spread over valid partitions and read back as null', async () => {
      await withHarness(factory, async (h) => {
        const s = spec(h, 'contract.events');
        await h.log.ensureTopic(s);
        const end0 = await endOffsets(h.log, s.name);
        const run = randomUUID();
        let acked = 0;
        for (let i = 0; i < 6; i++) {
          for (const ack of await h.log.append(s.name, [{ key: null, value: value(`${run}-${i}`) }])) {
            assert.ok(ack.partition >= 0 && ack.partition < s.partitions);
            acked += ack.count;
          }
        }
        assert.equal(acked, 6);
        const end1 = await endOffsets(h.log, s.name);
        const seen: string[] = [];
        for (let p = 0; p < s.partitions; p++) {
          for (const r of await readRange(h.log, s.name, p, end0[p]!, end1[p]!)) {
            if (!r.value?.toString().startsWith(run)) continue;
            assert.equal(r.key, null);
            seen.push(r.value.toString());
          }
        }
        assert.deepEqual(seen.sort(), Array.from({ length: 6 }, (_, i) => `${run}-${i}`).sort());
      });
    });

    test('tombstones, unicode keys and headers round-trip', async () => {
      await withHarness(factory, async (h) => {
        const s = spec(h, 'contract.single');
        await h.log.ensureTopic(s);
        const [end0] = await endOffsets(h.log, s.name);
        const run = randomUUID();
        const headers = { 'trace-id': `${run}`, ünïcödé: 'värde ✓', empty: '' };
        await h.log.append(s.name, [
          { key: `${run}-a`, value: null },
          { key: `${run}-日本-ü`, value: value('unicode key') },
          { key: `${run}-h`, value: value('with headers'), headers },
          { key: `${run}-n`, value: value('no headers') },
        ]);
        const got = await readRange(h.log, s.name, 0, end0!, end0! + 4);
        assert.equal(got.length, 4);
        assert.equal(got[0]!.value, null, 'a null value is a tombstone');
        assert.equal(got[0]!.key, `${run}-a`);
        assert.equal(got[1]!.key, `${run}-日本-ü`);
        assert.equal(got[1]!.value!.toString(), 'unicode key');
        assert.deepEqual({ ...got[2]!.headers }, headers);
        assert.ok(got[3]!.headers === undefined || Object.keys(got[3]!.headers).length === 0);
      });
    });

    test('an empty value is not a tombstone', async (t) => {
      await withHarness(factory, async (h) => {
        if (skipped(h, t, 'emptyValues')) return;
        const s = spec(h, 'contract.single');
        await h.log.ensureTopic(s);
        const [end0] = await endOffsets(h.log, s.name);
        await h.log.append(s.name, [{ key: `${randomUUID()}-empty`, value: Buffer.alloc(0) }]);
        const [got] = await readRange(h.log, s.name, 0, end0!, end0! + 1);
        assert.ok(Buffer.isBuffer(got!.value) && got!.value.length === 0, `read back ${String(got!.value)}`);
      });
    });

    test('consumers start at earliest, latest or a timestamp; offsetForTimestamp finds the first record at or after it', async (t) => {
      await withHarness(factory, async (h) => {
        if (skipped(h, t, 'timestampLookup')) return;
        const s = spec(h, 'contract.single');
        await h.log.ensureTopic(s);
        const [end0] = await endOffsets(h.log, s.name);
        const run = randomUUID();
        // Explicit timestamps from now on, so records of earlier tests (append time) sort before them.
        const base = Date.now();
        await h.log.append(
          s.name,
          Array.from({ length: 5 }, (_, i) => ({
            key: `${run}-${i}`,
            value: value(`t${i}`),
            timestamp: base + i * 10,
          })),
        );
        assert.equal(await h.log.offsetForTimestamp(s.name, 0, base), end0!);
        assert.equal(await h.log.offsetForTimestamp(s.name, 0, base + 15), end0! + 2);
        assert.equal(await h.log.offsetForTimestamp(s.name, 0, base + 20), end0! + 2);
        assert.equal(
          await h.log.offsetForTimestamp(s.name, 0, base + 10_000_000),
          end0! + 5,
          'after the last record: the end offset',
        );
        const stamped = await h.log.read(s.name, 0, end0! + 3, 1);
        assert.equal(stamped[0]!.timestamp, base + 30);

        const byTime = await h.log.consumer({ topics: [s.name], from: { timestamp: base + 25 } });
        try {
          assert.equal(byTime.position(s.name, 0), end0! + 3);
          const got = await pollFor(byTime, 2, (r) => r.key?.startsWith(run) ?? false);
          assert.deepEqual(
            got.map((r) => r.value!.toString()),
            ['t3', 't4'],
          );
        } finally {
          await byTime.close();
        }

        const earliest = await h.log.consumer({ topics: [s.name], from: 'earliest' });
        try {
          const [range] = await h.log.offsets(s.name);
          assert.deepEqual(earliest.assignment(), [{ topic: s.name, partition: 0 }]);
          assert.equal(earliest.position(s.name, 0), range!.start);
          const got = await pollFor(earliest, 5, (r) => r.key?.startsWith(run) ?? false);
          assert.deepEqual(
            got.map((r) => r.offset),
            [0, 1, 2, 3, 4].map((i) => end0! + i),
          );
        } finally {
          await earliest.close();
        }

        const latest = await h.log.consumer({ topics: [s.name], from: 'latest' });
        try {
          assert.equal(latest.position(s.name, 0), end0! + 5);
          assert.deepEqual(await latest.poll({ timeoutMs: 0 }), []);
          await h.log.append(s.name, [{ key: `${run}-late`, value: value('late') }]);
          const got = await pollFor(latest, 1, () => true);
          assert.equal(got[0]!.key, `${run}-late`);
          assert.equal(got[0]!.offset, end0! + 5);
          assert.equal(latest.position(s.name, 0), end0! + 6);
        } finally {
          await latest.close();
        }
      });
    });

    test('poll follows the tail: it waits for a record appended later', async () => {
      await withHarness(factory, async (h) => {
        const s = spec(h, 'contract.events');
        await h.log.ensureTopic(s);
        const run = randomUUID();
        const consumer = await h.log.consumer({ topics: [s.name], from: 'latest' });
        try {
          assert.equal(consumer.assignment().length, s.partitions);
          await consumer.poll({ timeoutMs: 0 });
          const started = Date.now();
          const timer = setTimeout(() => {
            h.log.append(s.name, [{ key: `${run}-tail`, value: value('tail') }]).catch(() => undefined);
          }, 300);
          let got: LogRecord[] = [];
          try {
            got = await consumer.poll({ timeoutMs: 8_000 });
          } finally {
            clearTimeout(timer);
          }
          if (got.length === 0) got = await pollFor(consumer, 1, () => true);
          const waited = Date.now() - started;
          assert.equal(got.length, 1);
          assert.equal(got[0]!.key, `${run}-tail`);
          assert.equal(got[0]!.partition, partitionForKey(`${run}-tail`, s.partitions));
          assert.ok(waited >= 250, `poll returned after ${waited} ms, before the append`);
          assert.ok(waited < 8_000, `poll returned after ${waited} ms: it did not wake up on the append`);
        } finally {
          await consumer.close();
        }
      });
    });

    test('consumer groups commit offsets and a new consumer resumes from them', async () => {
      await withHarness(factory, async (h) => {
        const s = spec(h, 'contract.single');
        await h.log.ensureTopic(s);
        const [end0] = await endOffsets(h.log, s.name);
        const run = randomUUID();
        const group = `contract-group-${run}`;
        assert.equal((await h.log.committedOffsets(group, s.name)).size, 0);
        await h.log.append(
          s.name,
          Array.from({ length: 10 }, (_, i) => ({ key: `${run}-${i}`, value: value(`g${i}`) })),
        );

        const first = await h.log.consumer({ topics: [s.name], group, from: 'committed' });
        try {
          first.seek(s.name, 0, end0!);
          assert.equal(first.position(s.name, 0), end0!);
          const got = await pollFor(first, 10, (r) => r.key?.startsWith(run) ?? false);
          assert.equal(got.length, 10);
          await first.commit([{ topic: s.name, partition: 0, offset: end0! + 4 }]);
        } finally {
          await first.close();
        }
        assert.deepEqual([...(await h.log.committedOffsets(group, s.name))], [[0, end0! + 4]]);

        const second = await h.log.consumer({ topics: [s.name], group, from: 'committed' });
        try {
          assert.equal(second.position(s.name, 0), end0! + 4);
          const got = await pollFor(second, 6, (r) => r.key?.startsWith(run) ?? false);
          assert.deepEqual(
            got.map((r) => r.value!.toString()),
            ['g4', 'g5', 'g6', 'g7', 'g8', 'g9'],
          );
          await second.commit();
        } finally {
          await second.close();
        }
        assert.deepEqual([...(await h.log.committedOffsets(group, s.name))], [[0, end0! + 10]]);

        await h.log.commitOffsets(group, [{ topic: s.name, partition: 0, offset: end0! + 7 }]);
        const third = await h.log.consumer({ topics: [s.name], group, from: 'committed' });
        try {
          assert.equal(third.position(s.name, 0), end0! + 7);
        } finally {
          await third.close();
        }
      });
    });

    test('a consumer can be limited to some partitions', async () => {
      await withHarness(factory, async (h) => {
        const s = spec(h, 'contract.events');
        await h.log.ensureTopic(s);
        const consumer = await h.log.consumer({ topics: [s.name], from: 'latest', partitions: [1] });
        try {
          assert.deepEqual(consumer.assignment(), [{ topic: s.name, partition: 1 }]);
          const run = randomUUID();
          await h.log.append(s.name, [
            { key: `${run}-p0`, value: value('p0'), partition: 0 },
            { key: `${run}-p1`, value: value('p1'), partition: 1 },
          ]);
          const got = await pollFor(consumer, 1, () => true);
          assert.deepEqual(
            got.map((r) => [r.partition, r.key]),
            [[1, `${run}-p1`]],
          );
        } finally {
          await consumer.close();
        }
      });
    });

    test('compacted topics keep the last record per key with its original offset', async (t) => {
      await withHarness(factory, async (h) => {
        if (!h.compact) {
          assert.ok(
            skipped(h, t, 'compaction'),
            'this back-end cannot force compaction but does not declare compaction unsupported',
          );
          return;
        }
        const s = spec(h, 'contract.compacted');
        await h.log.ensureTopic(s);
        const [end0] = await endOffsets(h.log, s.name);
        const run = randomUUID();
        const k = (name: string) => `${run}-${name}`;
        const writes: OutgoingRecord[] = [
          { key: k('a'), value: value('a1') },
          { key: k('b'), value: value('b1') },
          { key: k('a'), value: value('a2') },
          { key: k('c'), value: value('c1') },
          { key: k('b'), value: value('b2') },
          { key: k('a'), value: value('a3'), headers: { v: '3' } },
          { key: k('c'), value: null },
        ];
        for (const w of writes) await h.log.append(s.name, [w]);
        await h.compact(s.name);

        const [range] = await h.log.offsets(s.name);
        assert.equal(range!.end, end0! + writes.length, 'compaction never changes the end offset');
        const kept = (await readRange(h.log, s.name, 0, end0!, range!.end)).filter((r) =>
          r.key?.startsWith(run),
        );
        assert.deepEqual(
          kept.map((r) => [r.offset - end0!, r.key, r.value?.toString() ?? null]),
          [
            [4, k('b'), 'b2'],
            [5, k('a'), 'a3'],
            [6, k('c'), null],
          ],
        );
        assert.deepEqual({ ...kept[1]!.headers }, { v: '3' });
      });
    });
  });
}
