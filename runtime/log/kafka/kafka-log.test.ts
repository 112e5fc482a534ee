/**
 * Kafka-specific tests of `KafkaLog` over TCP against go-mokapi on loopback
 * (one server for the file, one declared topic per test so tests never see
 * each other's records), plus error mapping and assignment without a server.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { after, describe, test } from 'node:test';
import kafkajs from 'kafkajs';
import { MOKAPI_MAX_REQUEST_BYTES, startKafkaServer } from '../../../test/kafka-server.js';
import { missingService } from '../../../test/skips.js';
import {
  BrokerError,
  ConnectionError,
  isRetriable,
  LogUsageError,
  OffsetOutOfRangeError,
  TopicError,
} from '../../errors.js';
import type { LogConsumer, LogRecord } from '../log.js';
import { partitionForKey } from '../partitioner.js';
import { FIXED_ASSIGNER_PROTOCOL, fixedAssigner } from './assigner.js';
import { kafkaError } from './errors.js';
import { KafkaLog, type KafkaLogOptions } from './kafka-log.js';
import type { KafkaLogLogger } from './logging.js';

const quiet: KafkaLogLogger = { error() {}, warn() {}, info() {}, debug() {} };
const TEST_TIMEOUT = { timeout: 60_000 };

const TOPICS = {
  roundTrip: { name: 'kt.round-trip', partitions: 1 },
  keys: { name: 'kt.keys', partitions: 4 },
  idempotent: { name: 'kt.idempotent', partitions: 2 },
  sequences: { name: 'kt.sequences', partitions: 1 },
  groups: { name: 'kt.groups', partitions: 2 },
  positions: { name: 'kt.positions', partitions: 1 },
  backPressure: { name: 'kt.back-pressure', partitions: 1 },
  rebalance: { name: 'kt.rebalance', partitions: 1 },
  reads: { name: 'kt.reads', partitions: 1 },
  errors: { name: 'kt.errors', partitions: 1 },
  chunks: { name: 'kt.chunks', partitions: 2 },
} as const;

const value = (text: string): Buffer => Buffer.from(text, 'utf8');

async function pollFor(consumer: LogConsumer, want: number, deadlineMs = 10_000): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  const deadline = Date.now() + deadlineMs;
  while (out.length < want && Date.now() < deadline)
    out.push(...(await consumer.poll({ maxRecords: 500, timeoutMs: 200 })));
  return out;
}

describe('KafkaLog without a broker', () => {
  test('an unreachable broker is a retriable ConnectionError', TEST_TIMEOUT, async () => {
    const log = new KafkaLog({
      brokers: ['127.0.0.1:1'],
      logger: quiet,
      retry: { retries: 1, initialRetryTime: 50 },
      connectionTimeoutMs: 500,
    });
    try {
      await assert.rejects(log.topics(), (err: unknown) => {
        assert.ok(err instanceof ConnectionError, `expected ConnectionError, got ${String(err)}`);
        assert.equal(isRetriable(err), true);
        return true;
      });
    } finally {
      await log.close();
    }
  });

  test('an invalid topic spec is refused before any request, by the rule the embedded log applies', async () => {
    const log = new KafkaLog({ brokers: ['127.0.0.1:1'], logger: quiet, retry: { retries: 0 } });
    try {
      for (const [spec, message] of [
        [{ name: '..', partitions: 1 }, /invalid topic name "\.\."/],
        [{ name: 't', partitions: 0 }, /topic t: partitions must be a positive integer, got 0/],
        [{ name: 't', partitions: 1, retentionMs: -1 }, /topic t: retentionMs must be a positive number/],
      ] as const) {
        await assert.rejects(log.ensureTopic(spec), (err: unknown) => {
          assert.ok(err instanceof TopicError, `expected TopicError, got ${String(err)}`);
          assert.match(err.message, message);
          return true;
        });
      }
    } finally {
      await log.close();
    }
  });

  test('kafkajs errors map to recstream classes with the broker verdict on retrying', () => {
    const protocolError = (type: string, code: number, retriable: boolean) =>
      Object.assign(new kafkajs.KafkaJSProtocolError(`${type} from the broker`), { type, code, retriable });
    assert.ok(
      kafkaError(new kafkajs.KafkaJSConnectionError('Connection error: ECONNREFUSED'), 'append') instanceof
        ConnectionError,
    );
    const exhausted = new kafkajs.KafkaJSNumberOfRetriesExceeded(
      new kafkajs.KafkaJSConnectionError('Connection timeout'),
      { retryCount: 5, retryTime: 100 },
    );
    assert.ok(kafkaError(exhausted, 'append') instanceof ConnectionError);
    const topicErr = kafkaError(protocolError('UNKNOWN_TOPIC_OR_PARTITION', 3, true), 'append to t');
    assert.ok(topicErr instanceof TopicError);
    assert.match(topicErr.message, /^append to t: /);
    assert.ok(
      kafkaError(protocolError('OFFSET_OUT_OF_RANGE', 1, false), 'fetch') instanceof OffsetOutOfRangeError,
    );
    const brokerErr = kafkaError(protocolError('NOT_ENOUGH_REPLICAS', 19, true), 'append');
    assert.ok(brokerErr instanceof BrokerError);
    assert.equal(brokerErr.brokerCode, 'NOT_ENOUGH_REPLICAS');
    assert.equal(isRetriable(brokerErr), true);
    assert.equal(isRetriable(kafkaError(protocolError('MESSAGE_TOO_LARGE', 10, false), 'append')), false);
  });

  test('a response kafkajs could not decode fails retriably, so its reader asks again', () => {
    const thrown = (read: () => unknown): Error => {
      try {
        read();
      } catch (error) {
        return error as Error;
      }
      throw new Error('nothing thrown');
    };
    // kafkajs' own decoder on the shapes of a torn record batch: cut short, a negative count, a null field.
    const Decoder = createRequire(import.meta.url)('kafkajs/src/protocol/decoder.js') as new (
      buffer: Buffer | null,
    ) => { readInt32(): number; readInt8(): number; readArray(read: () => unknown): unknown[] };
    for (const cause of [
      thrown(() => new Decoder(Buffer.alloc(2)).readInt32()),
      thrown(() => new Decoder(Buffer.from([0xff, 0xff, 0xff, 0xfe])).readArray(() => 0)),
      thrown(() => new Decoder(null).readInt8()),
    ]) {
      // As kafkajs' retrier wraps what its fetch loop threw (its typings leave the cause out).
      const crash = Object.assign(new kafkajs.KafkaJSNonRetriableError(cause), { cause });
      const mapped = kafkaError(crash, 'consumer of group g');
      assert.ok(mapped instanceof ConnectionError, `${cause.message}: ${mapped.name}`);
      assert.equal(isRetriable(mapped), true);
      assert.match(mapped.message, /^consumer of group g: a broker response did not decode: /);
    }
    const elsewhere = kafkaError(
      new kafkajs.KafkaJSNonRetriableError(new TypeError('not a buffer')),
      'append',
    );
    assert.equal(isRetriable(elsewhere), false, 'an error outside the decoder keeps its verdict');
  });

  test('the fixed assigner hands every member the partitions it asked for', async () => {
    const a = fixedAssigner({ t: [0, 2] });
    const b = fixedAssigner({ t: [1], u: [0] });
    const args = { cluster: {} as never, groupId: 'g', logger: {} as never };
    const assignerA = a.assigner(args);
    const members = [
      { memberId: 'a', memberMetadata: assignerA.protocol({ topics: ['t'] }).metadata },
      { memberId: 'b', memberMetadata: b.assigner(args).protocol({ topics: ['t', 'u'] }).metadata },
    ];
    assert.equal(assignerA.name, FIXED_ASSIGNER_PROTOCOL);
    const result = await assignerA.assign({ members, topics: ['t', 'u'] });
    const decoded = Object.fromEntries(
      result.map((r) => [
        r.memberId,
        kafkajs.AssignerProtocol.MemberAssignment.decode(r.memberAssignment)?.assignment,
      ]),
    );
    assert.deepEqual(decoded, { a: { t: [0, 2] }, b: { t: [1], u: [0] } });
  });

  test('options are validated', () => {
    assert.throws(() => new KafkaLog({ brokers: [] }), /brokers/);
    assert.throws(() => new KafkaLog({ brokers: ['localhost'] }), /host:port/);
    assert.throws(
      () => new KafkaLog({ brokers: ['localhost:9092'], consumer: { bufferRecords: 0 } }),
      /bufferRecords/,
    );
  });
});

const started = await startKafkaServer({ topics: Object.values(TOPICS) });

if (typeof started === 'string') {
  test('KafkaLog on go-mokapi', (t) => {
    missingService(t, started);
  });
} else {
  after(() => started.stop());
  const open = (options: Partial<KafkaLogOptions> = {}): KafkaLog =>
    new KafkaLog({
      brokers: started.brokers,
      logger: quiet,
      retry: { retries: 2, initialRetryTime: 100 },
      idempotent: false,
      ...options,
    });

  describe('KafkaLog on go-mokapi', () => {
    test(
      'records round-trip over TCP: keys, values, tombstones, timestamps, headers',
      TEST_TIMEOUT,
      async () => {
        const log = open();
        try {
          const { name } = TOPICS.roundTrip;
          await log.ensureTopic(TOPICS.roundTrip);
          const headers = { 'trace-id': randomUUID(), ünïcödé: 'värde ✓', empty: '' };
          const acks = await log.append(name, [
            { key: 'k-日本-ü', value: Buffer.from([0, 1, 2, 255]), timestamp: 1_700_000_000_000, headers },
            { key: 'gone', value: null, timestamp: 1_700_000_000_001 },
            { key: null, value: value('no key'), timestamp: 1_700_000_000_002 },
          ]);
          assert.deepEqual(acks, [{ partition: 0, baseOffset: 0, count: 3 }]);
          const consumer = await log.consumer({ topics: [name], from: 'earliest' });
          try {
            const got = await pollFor(consumer, 3);
            assert.deepEqual(
              got.map((r) => [
                r.topic,
                r.partition,
                r.offset,
                r.key,
                r.value === null ? null : [...r.value],
                r.timestamp,
              ]),
              [
                [name, 0, 0, 'k-日本-ü', [0, 1, 2, 255], 1_700_000_000_000],
                [name, 0, 1, 'gone', null, 1_700_000_000_001],
                [name, 0, 2, null, [...value('no key')], 1_700_000_000_002],
              ],
            );
            assert.deepEqual({ ...got[0]!.headers }, headers);
            assert.equal(got[1]!.headers, undefined);
            assert.equal(consumer.position(name, 0), 3);
          } finally {
            await consumer.close();
          }
        } finally {
          await log.close();
        }
      },
    );

    test('keys land on partitionForKey partitions and keep their order', TEST_TIMEOUT, async () => {
      const log = open();
      try {
        const { name, partitions } = TOPICS.keys;
        await log.ensureTopic(TOPICS.keys);
        const keys = Array.from({ length: 40 }, (_, i) => `u${i}`);
        const acks = await log.append(
          name,
          keys.map((key, i) => ({ key, value: value(String(i)) })),
        );
        for (const ack of acks)
          assert.equal(
            ack.count,
            keys.filter((k) => partitionForKey(k, partitions) === ack.partition).length,
          );
        const consumer = await log.consumer({ topics: [name], from: 'earliest' });
        try {
          const got = await pollFor(consumer, keys.length);
          assert.equal(got.length, keys.length);
          for (const r of got) assert.equal(r.partition, partitionForKey(r.key!, partitions), `key ${r.key}`);
          for (let p = 0; p < partitions; p++) {
            const order = got.filter((r) => r.partition === p).map((r) => Number(r.value!.toString()));
            assert.deepEqual(
              order,
              [...order].sort((a, b) => a - b),
              `partition ${p} keeps append order`,
            );
          }
        } finally {
          await consumer.close();
        }
      } finally {
        await log.close();
      }
    });

    test(
      'the idempotent producer appends with contiguous offsets across calls and producers',
      TEST_TIMEOUT,
      async () => {
        const { name } = TOPICS.idempotent;
        const first = open({ idempotent: true });
        const second = open({ idempotent: true });
        try {
          await first.ensureTopic(TOPICS.idempotent);
          // Single-record batches: go-mokapi checks their sequence numbers correctly (the sequence-number test below shows batches).
          const offsets: number[][] = [[], []];
          for (let i = 0; i < 10; i++) {
            const log = i % 2 === 0 ? first : second;
            for (const ack of await log.append(name, [
              { key: `k${i}`, value: value(`v${i}`), partition: i < 5 ? 0 : 1 },
            ])) {
              offsets[ack.partition]!.push(ack.baseOffset);
            }
          }
          assert.deepEqual(offsets, [
            [0, 1, 2, 3, 4],
            [0, 1, 2, 3, 4],
          ]);
          const ends = (await first.offsets(name)).map((o) => o.end);
          assert.deepEqual(ends, [5, 5], 'nothing was written twice');
        } finally {
          await first.close();
          await second.close();
        }
      },
    );

    test(
      'an append larger than maxRequestBytes goes in several requests, in order, acknowledged from its first offsets',
      TEST_TIMEOUT,
      async () => {
        const { name } = TOPICS.chunks;
        // go-mokapi stops answering a request over 64 KiB: this 400 KB append only lands if it is cut.
        const log = open({ maxRequestBytes: MOKAPI_MAX_REQUEST_BYTES });
        try {
          await log.ensureTopic(TOPICS.chunks);
          await log.append(name, [{ key: null, value: value('first'), partition: 1 }]);
          const records = Array.from({ length: 200 }, (_, i) => ({
            key: `k${i}`,
            value: Buffer.alloc(2000, i),
            partition: i % 2,
          }));
          assert.deepEqual(await log.append(name, records), [
            { partition: 0, baseOffset: 0, count: 100 },
            { partition: 1, baseOffset: 1, count: 100 },
          ]);
          for (const partition of [0, 1]) {
            const start = partition;
            const read: LogRecord[] = [];
            while (read.length < 100)
              read.push(...(await log.read(name, partition, start + read.length, 100)));
            assert.deepEqual(
              read.map((r) => [r.offset, r.key, r.value![0]]),
              records
                .filter((r) => r.partition === partition)
                .map((r, i) => [start + i, r.key, Number(r.key.slice(1)) % 256]),
            );
          }
        } finally {
          await log.close();
        }
      },
    );

    test(
      'the broker checks the idempotent producer’s sequence numbers: go-mokapi refuses its second multi-record batch',
      TEST_TIMEOUT,
      async () => {
        const { name } = TOPICS.sequences;
        const idempotent = open({ idempotent: true });
        const plain = open({ idempotent: false });
        try {
          await idempotent.ensureTopic(TOPICS.sequences);
          const batch = () => [1, 2, 3].map((i) => ({ key: `k${i}`, value: value(`v${i}`) }));
          assert.deepEqual(await idempotent.append(name, batch()), [
            { partition: 0, baseOffset: 0, count: 3 },
          ]);
          // go-mokapi 0.52 compares a batch's last sequence number with the expected first one
          // (runtime/log/kafka/README.md): a refusal that only a sequence check can produce.
          await assert.rejects(idempotent.append(name, batch()), (err: unknown) => {
            assert.ok(err instanceof BrokerError, `expected BrokerError, got ${String(err)}`);
            assert.equal(err.brokerCode, 'OUT_OF_ORDER_SEQUENCE_NUMBER');
            assert.equal(isRetriable(err), false);
            return true;
          });
          assert.deepEqual(
            (await plain.offsets(name)).map((o) => o.end),
            [3],
            'the refused batch was not written',
          );
          const end = (await plain.offsets(name))[0]!.end;
          assert.deepEqual(
            await plain.append(name, batch()),
            [{ partition: 0, baseOffset: end, count: 3 }],
            'a producer without sequence numbers is not checked',
          );
        } finally {
          await idempotent.close();
          await plain.close();
        }
      },
    );

    test(
      'a group commits, a new consumer resumes there, and committedOffsets reports it',
      TEST_TIMEOUT,
      async () => {
        const log = open();
        try {
          const { name } = TOPICS.groups;
          await log.ensureTopic(TOPICS.groups);
          const group = `kt-group-${randomUUID()}`;
          await log.append(
            name,
            Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: value(`g${i}`), partition: i % 2 })),
          );
          assert.equal((await log.committedOffsets(group, name)).size, 0);

          const first = await log.consumer({ topics: [name], group });
          try {
            assert.deepEqual(
              [first.position(name, 0), first.position(name, 1)],
              [0, 0],
              'no commit yet: start at earliest',
            );
            const got = await pollFor(first, 10);
            assert.equal(got.length, 10);
            await first.commit([{ topic: name, partition: 0, offset: 2 }]);
            await first.commit();
          } finally {
            await first.close();
          }
          assert.deepEqual(
            [...(await log.committedOffsets(group, name))],
            [
              [0, 5],
              [1, 5],
            ],
          );

          await log.commitOffsets(group, [{ topic: name, partition: 1, offset: 3 }]);
          const second = await log.consumer({ topics: [name], group, from: 'committed' });
          try {
            assert.deepEqual([second.position(name, 0), second.position(name, 1)], [5, 3]);
            const got = await pollFor(second, 2);
            assert.deepEqual(
              got.map((r) => [r.partition, r.offset, r.value!.toString()]),
              [
                [1, 3, 'g7'],
                [1, 4, 'g9'],
              ],
            );
          } finally {
            await second.close();
          }
          await assert.rejects(log.consumer({ topics: [name], from: 'committed' }), LogUsageError);
          const anonymous = await log.consumer({ topics: [name] });
          try {
            await assert.rejects(anonymous.commit(), LogUsageError);
          } finally {
            await anonymous.close();
          }
        } finally {
          await log.close();
        }
      },
    );

    test(
      'earliest, latest and seek position a consumer; a closed consumer refuses use',
      TEST_TIMEOUT,
      async () => {
        const log = open();
        try {
          const { name } = TOPICS.positions;
          await log.ensureTopic(TOPICS.positions);
          await log.append(
            name,
            Array.from({ length: 5 }, (_, i) => ({ key: `k${i}`, value: value(`p${i}`) })),
          );
          const latest = await log.consumer({ topics: [name], from: 'latest' });
          try {
            assert.equal(latest.position(name, 0), 5);
            assert.deepEqual(await latest.poll({ timeoutMs: 300 }), []);
            latest.seek(name, 0, 1);
            assert.equal(latest.position(name, 0), 1);
            const got = await pollFor(latest, 4);
            assert.deepEqual(
              got.map((r) => r.offset),
              [1, 2, 3, 4],
            );
            latest.seek(name, 0, 3);
            assert.deepEqual(
              (await pollFor(latest, 2)).map((r) => r.offset),
              [3, 4],
            );
            assert.throws(() => latest.seek(name, 0, -1), OffsetOutOfRangeError);
            assert.throws(() => latest.position(name, 7), LogUsageError);
          } finally {
            await latest.close();
          }
          await assert.rejects(latest.poll(), LogUsageError);
        } finally {
          await log.close();
        }
      },
    );

    test(
      'a slow reader pauses fetching and still gets every record once, in order',
      TEST_TIMEOUT,
      async () => {
        const log = open({ consumer: { bufferRecords: 8 } });
        try {
          const { name } = TOPICS.backPressure;
          await log.ensureTopic(TOPICS.backPressure);
          for (let i = 0; i < 5; i++) {
            await log.append(
              name,
              Array.from({ length: 20 }, (_, j) => ({
                key: `k${i * 20 + j}`,
                value: value(String(i * 20 + j)),
              })),
            );
          }
          const consumer = await log.consumer({ topics: [name], from: 'earliest' });
          try {
            const got: LogRecord[] = [];
            const deadline = Date.now() + 20_000;
            while (got.length < 100 && Date.now() < deadline) {
              got.push(...(await consumer.poll({ maxRecords: 3, timeoutMs: 200 })));
              await new Promise((resolve) => setTimeout(resolve, 5));
            }
            assert.deepEqual(
              got.map((r) => r.offset),
              Array.from({ length: 100 }, (_, i) => i),
            );
          } finally {
            await consumer.close();
          }
        } finally {
          await log.close();
        }
      },
    );

    test(
      'a rebalance does not move a consumer: it neither repeats nor skips records',
      TEST_TIMEOUT,
      async () => {
        const group = `kt-rebalance-${randomUUID()}`;
        let joins = 0;
        const counting: KafkaLogLogger = {
          ...quiet,
          debug(fields, message) {
            if (message === 'Consumer has joined the group' && fields.groupId === group) joins++;
          },
        };
        // go-mokapi tells existing members about a rebalance only when one times out: keep sessions short.
        const log = open({
          logger: counting,
          consumer: { heartbeatIntervalMs: 200, sessionTimeoutMs: 1_500 },
        });
        try {
          const { name } = TOPICS.rebalance;
          await log.ensureTopic(TOPICS.rebalance);
          await log.append(
            name,
            Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: value(`r${i}`) })),
          );
          const consumer = await log.consumer({ topics: [name], group, from: 'earliest' });
          try {
            const got = await pollFor(consumer, 4);
            const firstFour = got.splice(0, 4);
            consumer.seek(name, 0, 4);
            // Another member joins and leaves the group: the consumer rejoins and kafkajs forgets its offsets.
            await log.commitOffsets(group, [{ topic: name, partition: 0, offset: 1 }]);
            await log.append(
              name,
              Array.from({ length: 5 }, (_, i) => ({ key: `k${10 + i}`, value: value(`r${10 + i}`) })),
            );
            // Our consumer learns of the rebalance from its next heartbeat; keep polling until it rejoined.
            const rest: LogRecord[] = [];
            const deadline = Date.now() + 15_000;
            while ((rest.length < 11 || joins < 3) && Date.now() < deadline)
              rest.push(...(await consumer.poll({ timeoutMs: 200 })));
            assert.ok(joins >= 3, `the group rebalanced (${joins} joins seen)`);
            assert.deepEqual(
              [...firstFour, ...rest].map((r) => r.offset),
              Array.from({ length: 15 }, (_, i) => i),
            );
          } finally {
            await consumer.close();
          }
        } finally {
          await log.close();
        }
      },
    );

    test('read serves sequential reads from a cached reader and checks its range', TEST_TIMEOUT, async () => {
      const log = open();
      try {
        const { name } = TOPICS.reads;
        await log.ensureTopic(TOPICS.reads);
        await log.append(
          name,
          Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: value(`x${i}`) })),
        );
        const seen: number[] = [];
        for (let offset = 0; offset < 30; ) {
          const batch = await log.read(name, 0, offset, 7);
          assert.ok(batch.length > 0 && batch.length <= 7);
          seen.push(...batch.map((r) => r.offset));
          offset = batch[batch.length - 1]!.offset + 1;
        }
        assert.deepEqual(
          seen,
          Array.from({ length: 30 }, (_, i) => i),
        );
        assert.deepEqual(
          (await log.read(name, 0, 12, 2)).map((r) => r.value!.toString()),
          ['x12', 'x13'],
          'a read elsewhere seeks the reader',
        );
        assert.deepEqual(await log.read(name, 0, 30, 5), []);
        await assert.rejects(log.read(name, 0, 31, 5), OffsetOutOfRangeError);
        await assert.rejects(log.read(name, 3, 0, 5), TopicError);
      } finally {
        await log.close();
      }
    });

    test('errors name the topic and a closed log refuses use', TEST_TIMEOUT, async () => {
      const log = open();
      const { name } = TOPICS.errors;
      await log.ensureTopic(TOPICS.errors);
      await assert.rejects(log.append(name, [{ key: 'k', value: null, partition: 5 }]), (err: unknown) => {
        assert.ok(err instanceof TopicError);
        assert.match(err.message, /partition 5 does not exist in topic kt\.errors/);
        return true;
      });
      await assert.rejects(log.offsets(`kt.missing-${randomUUID()}`), TopicError);
      await assert.rejects(log.consumer({ topics: [name], partitions: [2] }), TopicError);
      await log.close();
      await assert.rejects(log.append(name, [{ key: 'k', value: null }]), LogUsageError);
    });
  });
}
