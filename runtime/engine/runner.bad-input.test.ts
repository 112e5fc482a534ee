/**
 * Bad input, tried as a new user would (issue: "never a crash loop, never
 * silent loss"): garbage bytes, an unknown schema id, a truncated body and a
 * record written with a schema that lacks a required field all land in
 * rec.dlq with their coordinates and a reason, and the good records around
 * them are processed. A data dir that cannot be written stops the command
 * with a message naming the cause, not a stack trace.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { interactionStream } from '../../bench/interaction-load.js';
import { openPlatform } from '../../schemas/platform.js';
import { runCli } from '../../test/cli.js';
import { countedInteractions } from '../../test/interaction-counts.js';
import { loadConfig } from '../config.js';
import { silentLogger } from '../observability/logger.js';
import { writeWireHeader } from '../serde/wire.js';

const LEGACY_INTERACTION = {
  type: 'record',
  name: 'Interaction',
  namespace: 'rec',
  doc: 'An interaction from a producer that never sent item ids.',
  fields: [
    { name: 'event_id', type: 'string', doc: 'id' },
    { name: 'user_id', type: 'string', doc: 'user' },
  ],
};

test('undecodable records go to rec.dlq with a reason; good records are processed; nothing is retried forever', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'recstream-bad-input-'));
  try {
    const platform = await openPlatform(loadConfig({}, { dataDir }), { logger: silentLogger() });
    const expectedBad: { offset: number; reason: RegExp }[] = [];
    try {
      const { log, serde, registry } = platform;
      await log.ensureTopic({ name: 'rec.interactions', partitions: 1 });
      const encoder = await serde.encoder('rec.interactions-value');
      const good = [...interactionStream({ seed: 3, users: 5, items: 5, count: 6 })].map((e) => ({
        key: e.user_id,
        value: encoder.encode(e),
      }));
      const legacyId = await registry.register('legacy-interaction-value', LEGACY_INTERACTION);
      const legacyBody = Buffer.from([0x04, 0x65, 0x31, 0x04, 0x75, 0x31]); // "e1", "u1"
      const unknownId = Buffer.alloc(5 + 3);
      writeWireHeader(unknownId, 987_654);
      const legacy = Buffer.alloc(5 + legacyBody.length);
      writeWireHeader(legacy, legacyId);
      legacyBody.copy(legacy, 5);
      const bad = [
        { value: Buffer.from('{"user_id":"u1","oops":true}'), reason: /magic byte/i },
        { value: unknownId, reason: /unknown schema id 987654/ },
        {
          value: good[0]!.value.subarray(0, good[0]!.value.length - 4),
          reason: /truncated|too short|end of|invalid/i,
        },
        { value: legacy, reason: /item_id/ },
      ];
      const records = [
        good[0]!,
        { key: 'u1', value: bad[0]!.value },
        good[1]!,
        { key: 'u1', value: bad[1]!.value },
        good[2]!,
        { key: 'u1', value: bad[2]!.value },
        good[3]!,
        { key: 'u1', value: bad[3]!.value },
        good[4]!,
        good[5]!,
      ];
      await log.append('rec.interactions', records);
      for (const [i, r] of records.entries()) {
        const b = bad.find((x) => x.value === r.value);
        if (b) expectedBad.push({ offset: i, reason: b.reason });
      }
    } finally {
      await platform.close();
    }

    const first = await runCli(['process', '--app', 'interaction-counts', '--once', '--data-dir', dataDir]);
    assert.equal(first.code, 0, first.stderr);
    const second = await runCli(['process', '--app', 'interaction-counts', '--once', '--data-dir', dataDir]);
    assert.equal(second.code, 0, second.stderr);

    const listed = await runCli(['dlq', 'list', '--json', '--data-dir', dataDir]);
    assert.equal(listed.code, 0, listed.stderr);
    const letters = JSON.parse(listed.stdout) as {
      source_topic: string;
      source_offset: number;
      error_code: string;
      error_message: string;
      processor: string;
      value: string;
    }[];
    assert.equal(
      letters.length,
      expectedBad.length,
      `exactly one dead letter per bad record, even after a second run: ${listed.stdout}`,
    );
    for (const [i, expected] of expectedBad.entries()) {
      const letter = letters[i]!;
      assert.equal(letter.source_topic, 'rec.interactions');
      assert.equal(letter.source_offset, expected.offset);
      assert.equal(letter.processor, 'interactions');
      assert.equal(letter.error_code, 'DESERIALIZATION_FAILED');
      assert.match(letter.error_message, expected.reason);
      assert.ok(letter.value.length > 0, 'the original bytes are kept');
    }

    assert.equal(await countedInteractions(dataDir, 1), 6, 'every good record counted once');
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('a data dir that cannot be written stops the command with the cause, exit 1, no stack trace', async () => {
  const result = await runCli(['process', '--once', '--data-dir', '/sys/recstream-cannot-write-here']);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /recstream: .*(read-only|permission denied|cannot create)/i);
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace for an operator error');
});

test('a bad configuration value names the variable', async () => {
  const result = await runCli(['topics'], { RECSTREAM_COMMIT_INTERVAL_MS: 'soon' });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /RECSTREAM_COMMIT_INTERVAL_MS="soon" is not a whole number/);
});
