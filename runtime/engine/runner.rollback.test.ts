/**
 * A record whose processing throws is dead-lettered with no effect at all:
 * its outputs are dropped and so are its store writes (puts over keys new
 * and already written in the same commit, and deletes), so that state and
 * outputs agree on which records happened.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { PLATFORM_TOPICS } from '../../schemas/topics.js';
import { ProcessingError } from '../errors.js';
import { EmbeddedLog } from '../log/embedded/embedded-log.js';
import { silentLogger } from '../observability/logger.js';
import type { DeadLetter } from '../processor/dead-letter.js';
import type { Processor, ProcessorContext, StreamRecord } from '../processor/processor.js';
import { TopologyBuilder } from '../processor/topology.js';
import { jsonLetters, text, textOut } from '../processor/word-count.fixture.js';
import { stringCodec } from '../state/codecs/index.js';
import type { KeyValueStore } from '../state/store.js';
import { StreamRunner } from './runner.js';

/** Keeps each line and a running count; a line starting with "bad" writes like the others, then throws. */
class KeepLines implements Processor<string, string> {
  private lines!: KeyValueStore<string>;
  private ctx!: ProcessorContext<string>;
  init(ctx: ProcessorContext<string>) {
    this.ctx = ctx;
    this.lines = ctx.store('lines');
  }
  async process(record: StreamRecord<string>) {
    const count = Number((await this.lines.get('count')) ?? '0') + 1;
    this.lines.put('count', String(count));
    this.lines.put(`line:${record.key}`, record.value);
    if (record.value.startsWith('bad')) {
      this.lines.delete('line:a');
      throw new ProcessingError(`line ${record.key} is bad`);
    }
    this.ctx.forward({ key: record.key, value: `${record.key}#${count}`, timestamp: record.timestamp });
  }
}

const topology = () =>
  new TopologyBuilder('keep-lines')
    .addSource('in', ['rec.lines'], text)
    .addProcessor('keep', () => new KeepLines(), ['in'])
    .addStore({ name: 'lines', codec: stringCodec }, ['keep'])
    .addSink('out', 'rec.kept', textOut, ['keep'])
    .build();

async function values(log: EmbeddedLog, topic: string): Promise<string[]> {
  const out: string[] = [];
  for (const p of await log.offsets(topic))
    for (const r of await log.read(topic, p.partition, p.start, 1000))
      out.push(r.value?.toString() ?? 'null');
  return out;
}

test("a failing record's store writes are rolled back with its outputs; its dead letter is kept", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-rollback-'));
  const log = await EmbeddedLog.open(join(dir, 'log'), { fsync: 'never', maintenanceIntervalMs: 0 });
  try {
    await log.ensureTopic({ name: 'rec.lines', partitions: 1 });
    await log.append('rec.lines', [
      { key: 'a', value: Buffer.from('first') },
      { key: 'b', value: Buffer.from('bad second') },
      { key: 'c', value: Buffer.from('third') },
    ]);
    const options = {
      topology: topology(),
      log,
      stateDir: join(dir, 'state'),
      engine: 'rocksdb' as const,
      deadLetters: jsonLetters,
      topics: PLATFORM_TOPICS,
      logger: silentLogger(),
    };
    const stats = await (await StreamRunner.start(options)).runUntilCaughtUp();
    assert.equal(stats.deadLetters, 1);

    const letters = (await values(log, 'rec.dlq')).map((v) => JSON.parse(v) as DeadLetter);
    assert.deepEqual(
      letters.map((l) => [l.source_offset, l.error_message]),
      [[1, 'line b is bad']],
    );
    assert.deepEqual(await values(log, 'rec.kept'), ['a#1', 'c#2'], 'the bad line counted in no output');

    const reopened = await StreamRunner.start(options);
    try {
      const stored: [string, string][] = [];
      for await (const entry of reopened.taskState(0)!.store<string>('lines').range()) stored.push(entry);
      assert.deepEqual(stored, [
        ['count', '2'],
        ['line:a', 'first'],
        ['line:c', 'third'],
      ]);
    } finally {
      await reopened.close();
    }
    const changelog = await values(log, options.topology.stores[0]!.changelogTopic);
    assert.ok(changelog.includes('third'), 'the changelog holds the good lines');
    assert.ok(!changelog.includes('bad second'), 'and no trace of the bad one');
  } finally {
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
});
