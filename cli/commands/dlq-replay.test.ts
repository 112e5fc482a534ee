/**
 * `recstream dlq replay` as an SRE runs it after a fix: dead letters go back
 * to their source topic and partition with their original bytes, the
 * processors count the one that now decodes, the one that still does not
 * becomes a new dead letter, and a second replay re-drives nothing; beside
 * a running process, which appends and commits for it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readTopic } from '../../registry/topic-reader.js';
import type { DeadLetter, Interaction } from '../../schemas/generated/types.js';
import { DLQ_TOPIC } from '../../schemas/topics.js';
import { besideRunningProcess, runCliOk } from '../../test/cli.js';
import { countedInteractions } from '../../test/interaction-counts.js';
import { withTestPlatform } from '../../test/platform.js';
import { REDRIVEN_FROM_HEADER } from './dlq-replay.js';

const PARTITIONS = 4;

const EVENT: Interaction = {
  event_id: 'e-redriven',
  user_id: 'u7',
  item_id: 'i3',
  type: 'click',
  value: null,
  watch_ms: null,
  ts: 1_735_689_600_000,
  context: { device: null, country: null, session_id: null, surface: null, request_id: null },
};

/**
 * Two dead letters in `data`: one the runtime wrote for a record no consumer can decode, and one
 * for a record that failed before a fix and decodes now (EVENT, from partition 2).
 */
async function deadLettered(data: string, cli: (...args: string[]) => Promise<string>): Promise<void> {
  const event = EVENT;
  await withTestPlatform(data, async ({ log }) => {
    await log.ensureTopic({ name: 'rec.interactions', partitions: PARTITIONS });
    // A record no consumer can decode: the runtime dead-letters it.
    await log.append('rec.interactions', [{ key: 'u9', value: Buffer.from('not avro'), partition: 1 }]);
  });
  await cli('process', '--app', 'interaction-counts', '--once');
  await withTestPlatform(data, async ({ log, serde }) => {
    // A letter for a record that failed before a fix and decodes now.
    const bytes = (await serde.encoder('rec.interactions-value')).encode(event);
    const letter: DeadLetter = {
      source_topic: 'rec.interactions',
      source_partition: 2,
      source_offset: 41,
      source_timestamp: event.ts,
      key: event.user_id,
      value: bytes,
      headers: { origin: 'test' },
      error_code: 'PROCESSING_FAILED',
      error_message: 'failed before the fix',
      processor: 'interaction-counts',
      failed_ts: Date.now(),
      attempt: 1,
    };
    await log.append(DLQ_TOPIC, [
      { key: letter.source_topic, value: (await serde.encoder('rec.dlq-value')).encode(letter) },
    ]);
  });
}

test('dlq replay re-drives each dead letter once, to its source partition, through the processors', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-dlq-replay-'));
  const data = join(dir, 'data');
  const cli = async (...args: string[]) =>
    (await runCliOk([...args, '--data-dir', data], { RECSTREAM_PARTITIONS: String(PARTITIONS) })).stdout;
  try {
    const event = EVENT;
    await deadLettered(data, cli);
    assert.equal(JSON.parse(await cli('dlq', 'list', '--json')).length, 2);

    const dry = JSON.parse(await cli('dlq', 'replay', '--dry-run', '--json'));
    assert.deepEqual(dry.by_topic, { 'rec.interactions': 2 });
    const replayed = JSON.parse(await cli('dlq', 'replay', '--json'));
    assert.equal(replayed.redriven, 2);
    await withTestPlatform(data, async ({ log, serde }) => {
      const decoder = await serde.decoder('rec.interactions-value');
      const redriven = [];
      for await (const record of readTopic(log, 'rec.interactions'))
        if (record.headers?.[REDRIVEN_FROM_HEADER] !== undefined) redriven.push(record);
      assert.equal(redriven.length, 2);
      const good = redriven.find((r) => r.key === 'u7')!;
      assert.equal(good.partition, 2, 'back to its source partition');
      assert.equal(good.headers?.origin, 'test');
      assert.deepEqual(await decoder.decode(good.value!), event);
    });
    await cli('process', '--app', 'interaction-counts', '--once');
    assert.equal(await countedInteractions(data, PARTITIONS), 1, 'the fixed record is counted');
    const letters = JSON.parse(await cli('dlq', 'list', '--json'));
    assert.equal(letters.length, 3, 'the record that still does not decode is dead-lettered again');
    assert.equal(letters.filter((l: DeadLetter) => l.headers[REDRIVEN_FROM_HEADER] !== undefined).length, 1);

    const again = JSON.parse(await cli('dlq', 'replay', '--json'));
    assert.equal(again.redriven, 1, 'only the letter that arrived since');
    const none = JSON.parse(await cli('dlq', 'replay', '--json'));
    assert.equal(none.redriven, 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('beside a running process that holds the log, dlq replay re-drives through it, once, and that process takes the records', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-dlq-replay-beside-'));
  const data = join(dir, 'data');
  const env = { RECSTREAM_PARTITIONS: String(PARTITIONS) };
  const cli = async (...args: string[]) => (await runCliOk([...args, '--data-dir', data], env)).stdout;
  try {
    await deadLettered(data, cli);
    await besideRunningProcess(data, 'interaction-counts', env, async () => {
      assert.equal(JSON.parse(await cli('dlq', 'replay', '--json')).redriven, 2);
      // The running process reads them: the one that still does not decode is dead-lettered again.
      let letters: DeadLetter[] = [];
      for (let i = 0; i < 200 && letters.length < 3; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        letters = JSON.parse(await cli('dlq', 'list', '--json'));
      }
      assert.equal(letters.length, 3);
      // The replay's position was committed through the running process too: only the new letter is left.
      assert.equal(JSON.parse(await cli('dlq', 'replay', '--dry-run', '--json')).would_redrive, 1);
    });
    assert.equal(await countedInteractions(data, PARTITIONS), 1, 'the fixed record is counted');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
