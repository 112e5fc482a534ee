import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../../observability/logger.js';
import { numberCodec } from '../../state/codecs/index.js';
import type { KeyValueStore } from '../../state/store.js';
import type { Processor, ProcessorContext, StreamRecord } from '../processor.js';
import { TopologyTestDriver } from '../test-driver.js';
import { TopologyBuilder } from '../topology.js';
import { Task } from './task.js';

const utf8 = {
  deserialize(bytes: Buffer): string {
    const text = bytes.toString('utf8');
    if (text.startsWith('!')) throw new Error(`cannot decode ${text}`);
    return text;
  },
};
const utf8Out = { serialize: (v: string) => Buffer.from(v) };

/** Sums word lengths per key; forwards "key:sum"; throws on the word "boom" after forwarding. */
class SumLengths implements Processor<string, string> {
  private sums!: KeyValueStore<number>;
  private ctx!: ProcessorContext<string>;
  readonly punctuated: number[] = [];

  init(ctx: ProcessorContext<string>) {
    this.ctx = ctx;
    this.sums = ctx.store('sums');
    ctx.schedule(1000, 'stream-time', (ts) => {
      this.punctuated.push(ts);
      ctx.forward({ key: 'tick', value: String(ts), timestamp: ts });
    });
  }

  async process(record: StreamRecord<string>) {
    const sum = ((await this.sums.get(record.key!)) ?? 0) + record.value.length;
    this.ctx.forward({ key: record.key, value: `${record.key}:${sum}`, timestamp: record.timestamp });
    if (record.value === 'boom') throw new Error('boom is not a word');
    this.sums.put(record.key!, sum);
  }
}

const UpperCase: () => Processor<string, string> = () => {
  let ctx: ProcessorContext<string>;
  return {
    init(c) {
      ctx = c;
    },
    process(record) {
      ctx.forward({ ...record, value: record.value.toUpperCase() });
    },
  };
};

let lastSum: SumLengths;
function topology() {
  return new TopologyBuilder('task-test')
    .addSource('words', ['rec.words'], utf8)
    .addProcessor('sum', () => (lastSum = new SumLengths()), ['words'])
    .addProcessor('upper', UpperCase, ['sum'])
    .addSink('out', 'rec.sums', utf8Out, ['upper'])
    .addStore({ name: 'sums', codec: numberCodec }, ['sum'])
    .build();
}

const read = (driver: TopologyTestDriver) => driver.readOutput('rec.sums').map((o) => o.value?.toString());

test('records flow source → processor → processor → sink in order', async () => {
  const driver = await TopologyTestDriver.create(topology());
  await driver.pipe('rec.words', 'a', Buffer.from('xy'), 10);
  await driver.pipe('rec.words', 'a', Buffer.from('xyz'), 20);
  await driver.pipe('rec.words', 'b', Buffer.from('q'), 30);
  assert.deepEqual(read(driver), ['A:2', 'A:5', 'B:1']);
  assert.equal(await driver.store<number>('sums').get('a'), 5);
});

test('a record that fails to decode or process is dead-lettered, its outputs dropped, and processing goes on', async () => {
  const driver = await TopologyTestDriver.create(topology());
  await driver.pipe('rec.words', 'a', Buffer.from('!garbage'), 10);
  await driver.pipe('rec.words', 'a', Buffer.from('boom'), 11);
  await driver.pipe('rec.words', 'a', Buffer.from('ok'), 12);
  assert.deepEqual(read(driver), ['A:2']);
  assert.equal(driver.deadLetters.length, 2);
  const [decode, processing] = driver.deadLetters;
  assert.equal(decode!.processor, 'words');
  assert.match(decode!.error_message, /cannot decode !garbage/);
  assert.deepEqual(decode!.value, Buffer.from('!garbage'));
  assert.equal(decode!.source_offset, 0);
  assert.equal(processing!.processor, 'sum');
  assert.equal(processing!.error_code, 'PROCESSING_FAILED');
  assert.match(processing!.error_message, /boom is not a word/);
});

test('stream-time punctuators fire on event time, deterministically', async () => {
  const driver = await TopologyTestDriver.create(topology());
  for (const ts of [100, 500, 1099, 1100, 1200, 3500, 3600])
    await driver.pipe('rec.words', 'k', Buffer.from('w'), ts);
  assert.deepEqual(lastSum.punctuated, [1100, 3500]);
  assert.ok(read(driver).includes('1100'));
  assert.equal(driver.streamTime(), 3600);
});

test('a processor asking for a store it is not connected to gets a clear error', async () => {
  const t = new TopologyBuilder('bad-store')
    .addSource('in', ['rec.x'], utf8)
    .addProcessor('p', () => ({ init: (ctx) => void ctx.store('missing'), process() {} }), ['in'])
    .build();
  await assert.rejects(
    TopologyTestDriver.create(t),
    /processor p asked for store missing, which the topology does not connect to it/,
  );
});

test('holdInput keeps the committable position at the oldest held offset, per topic, until lifted', async () => {
  let ctx!: ProcessorContext<string>;
  const held: number[] = [];
  const holder: Processor<string, string> = {
    init(c) {
      ctx = c;
    },
    process(record) {
      const { topic, offset } = ctx.recordMetadata()!;
      if (record.value === 'wait') held.push(offset);
      if (record.value === 'go') held.length = 0;
      ctx.holdInput(topic, held[0] ?? null);
    },
  };
  const holding = new TopologyBuilder('hold-test')
    .addSource('words', ['rec.words'], utf8)
    .addProcessor('holder', () => holder, ['words'])
    .build();
  const task = new Task(holding, 0, () => assert.fail('no stores'), silentLogger());
  await task.init();
  const consumed = new Map<string, number>();
  const feed = async (offset: number, word: string) => {
    const failure = await task.process({
      topic: 'rec.words',
      partition: 0,
      offset,
      timestamp: offset,
      key: 'k',
      value: Buffer.from(word),
      headers: undefined,
    });
    assert.equal(failure, undefined);
    consumed.set('rec.words', offset + 1);
  };
  await feed(0, 'a');
  assert.equal(task.committablePositions(consumed), consumed, 'nothing held: the consumed positions');
  await feed(1, 'wait');
  await feed(2, 'wait');
  await feed(3, 'b');
  assert.deepEqual([...task.committablePositions(consumed)], [['rec.words', 1]]);
  await feed(4, 'go');
  assert.deepEqual([...task.committablePositions(consumed)], [['rec.words', 5]]);
  assert.throws(
    () => ctx.holdInput('rec.other', 0),
    /holds topic rec.other, which no source of the task reads/,
  );
});

test('the committable position is the lowest hold of all the processors reading the topic', async () => {
  const holdAt =
    (offset: number): (() => Processor<string, string>) =>
    () => {
      let ctx!: ProcessorContext<string>;
      return {
        init(c) {
          ctx = c;
        },
        process() {
          ctx.holdInput('rec.words', offset);
        },
      };
    };
  const holding = new TopologyBuilder('hold-test')
    .addSource('words', ['rec.words'], utf8)
    .addProcessor('late', holdAt(7), ['words'])
    .addProcessor('early', holdAt(2), ['words'])
    .addProcessor('middle', holdAt(4), ['words'])
    .build();
  const task = new Task(holding, 0, () => assert.fail('no stores'), silentLogger());
  await task.init();
  const record = { topic: 'rec.words', partition: 0, offset: 9, timestamp: 9, key: 'k', headers: undefined };
  assert.equal(await task.process({ ...record, value: Buffer.from('x') }), undefined);
  assert.deepEqual([...task.committablePositions(new Map([['rec.words', 10]]))], [['rec.words', 2]]);
});
