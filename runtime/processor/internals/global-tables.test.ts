import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { PLATFORM_TOPICS } from '../../../schemas/topics.js';
import { StreamRunner } from '../../engine/runner.js';
import { EmbeddedLog } from '../../log/embedded/embedded-log.js';
import { silentLogger } from '../../observability/logger.js';
import type { DeadLetterSerializer } from '../dead-letter.js';
import type { Processor, ProcessorContext, StreamRecord } from '../processor.js';
import { TopologyTestDriver } from '../test-driver.js';
import { TopologyBuilder } from '../topology.js';
import { GlobalTables } from './global-tables.js';

const text = { deserialize: (b: Buffer) => b.toString('utf8') };
const textOut = { serialize: (v: string) => Buffer.from(v) };
const jsonLetters: DeadLetterSerializer = { serialize: (letter) => Buffer.from(JSON.stringify(letter)) };

/** Looks each record's value up in the global table and writes the answer to every partition. */
class LookUp implements Processor<string, string> {
  private ctx!: ProcessorContext<string>;
  init(ctx: ProcessorContext<string>) {
    this.ctx = ctx;
  }
  process(record: StreamRecord<string>) {
    const colour = this.ctx.globalTable<string>('colours').get(record.value) ?? 'unknown';
    for (let partition = 0; partition < this.ctx.partitionCount; partition++) {
      this.ctx.forward({
        key: record.key,
        value: `${this.ctx.partition}:${record.value}=${colour}`,
        timestamp: record.timestamp,
        partition,
      });
    }
  }
}

function topology() {
  return new TopologyBuilder('lookup')
    .addGlobalTable<string, string>({
      name: 'colours',
      topic: 'rec.colours',
      deserializer: text,
      reduce: (_current, value) => value ?? undefined,
    })
    .addSource('in', ['rec.things'], text)
    .addProcessor('look-up', () => new LookUp(), ['in'])
    .addSink('out', 'rec.answers', textOut, ['look-up'])
    .build();
}

async function partitionValues(log: EmbeddedLog, topic: string, partition: number): Promise<string[]> {
  return (await log.read(topic, partition, 0, 1000)).map((r) => r.value!.toString());
}

test('describe() lists global tables', () => {
  assert.match(
    String(topology().describe()),
    /Global tables:\n {4}colours \(topic: rec\.colours, all partitions\)$/,
  );
});

test('every task sees every partition of a global table, read to its end before processing, then kept up', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-global-'));
  const log = await EmbeddedLog.open(join(dir, 'log'), { fsync: 'never', maintenanceIntervalMs: 0 });
  try {
    await log.ensureTopic({ name: 'rec.colours', partitions: 2 });
    await log.ensureTopic({ name: 'rec.things', partitions: 2 });
    await log.ensureTopic({ name: 'rec.answers', partitions: 2 });
    await log.append('rec.colours', [
      { key: 'sky', value: Buffer.from('grey'), partition: 0 },
      { key: 'sky', value: Buffer.from('blue'), partition: 0 },
      { key: 'grass', value: Buffer.from('green'), partition: 1 },
      { key: 'mud', value: Buffer.from('brown'), partition: 1 },
      { key: 'mud', value: null, partition: 1 },
    ]);
    await log.append('rec.things', [
      { key: 'a', value: Buffer.from('sky'), partition: 1 },
      { key: 'b', value: Buffer.from('grass'), partition: 0 },
      { key: 'c', value: Buffer.from('mud'), partition: 0 },
    ]);
    const options = {
      topology: topology(),
      log,
      stateDir: join(dir, 'state'),
      engine: 'memory' as const,
      deadLetters: jsonLetters,
      topics: PLATFORM_TOPICS,
      logger: silentLogger(),
    };
    await (await StreamRunner.start(options)).runUntilCaughtUp();
    const expected = ['0:grass=green', '0:mud=unknown', '1:sky=blue'];
    for (const p of [0, 1]) assert.deepEqual((await partitionValues(log, 'rec.answers', p)).sort(), expected);

    // A table change appended later reaches a running task before the records polled after it.
    const runner = await StreamRunner.start(options);
    await log.append('rec.colours', [{ key: 'sky', value: Buffer.from('red'), partition: 0 }]);
    await log.append('rec.things', [{ key: 'a', value: Buffer.from('sky'), partition: 1 }]);
    await runner.runUntilCaughtUp();
    assert.deepEqual((await partitionValues(log, 'rec.answers', 0)).at(-1), '1:sky=red');
  } finally {
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('reopened after a failure, the tables go on from where they were with a new consumer', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-global-'));
  const log = await EmbeddedLog.open(join(dir, 'log'), { fsync: 'never', maintenanceIntervalMs: 0 });
  try {
    await log.ensureTopic({ name: 'rec.colours', partitions: 2 });
    await log.append('rec.colours', [
      { key: 'sky', value: Buffer.from('blue'), partition: 0 },
      { key: 'grass', value: Buffer.from('green'), partition: 1 },
    ]);
    const tables = await GlobalTables.open(topology().globalTables, log, silentLogger());
    try {
      await log.append('rec.colours', [{ key: 'sky', value: Buffer.from('red'), partition: 0 }]);
      assert.equal(await tables.catchUp(), 1);
      await log.append('rec.colours', [{ key: 'grass', value: Buffer.from('brown'), partition: 1 }]);
      await tables.reopen();
      // Only what came after the last poll: the new consumer starts at the old one's positions.
      assert.equal(await tables.catchUp(), 1);
      const colours = tables.view<string>('colours')!;
      assert.deepEqual([colours.get('sky'), colours.get('grass')], ['red', 'brown']);
    } finally {
      await tables.close();
    }
  } finally {
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a global table over a missing topic is refused with both names', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-global-'));
  const log = await EmbeddedLog.open(join(dir, 'log'), { fsync: 'never', maintenanceIntervalMs: 0 });
  try {
    await log.ensureTopic({ name: 'rec.things', partitions: 1 });
    await assert.rejects(
      StreamRunner.start({
        topology: topology(),
        log,
        stateDir: join(dir, 'state'),
        engine: 'memory',
        deadLetters: jsonLetters,
        topics: PLATFORM_TOPICS,
        logger: silentLogger(),
      }),
      /global table colours reads topic rec\.colours, which does not exist/,
    );
  } finally {
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('the test driver feeds global tables and reports explicit partitions', async () => {
  const driver = await TopologyTestDriver.create(topology(), { partitionCount: 3 });
  await driver.pipe('rec.colours', 'sky', Buffer.from('blue'), 1);
  await driver.pipe('rec.things', 'a', Buffer.from('sky'), 2);
  const out = driver.readOutput('rec.answers');
  assert.deepEqual(
    out.map((o) => [o.partition, o.value!.toString()]),
    [
      [0, '0:sky=blue'],
      [1, '0:sky=blue'],
      [2, '0:sky=blue'],
    ],
  );
  assert.deepEqual(driver.deadLetters, []);
});
