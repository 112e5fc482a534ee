import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BadInputLineError } from './errors.js';
import { runImport } from './importer.js';
import { linesSource } from './lines-format.js';
import { fixture, readTopic, withTempPlatform } from './test-support.js';

const START = Date.UTC(2020, 0, 1);

test('lines: one interaction per item, event time in file order, minimal items and users, deterministic ids', async () => {
  await withTempPlatform(async (platform, dir) => {
    const path = await fixture(dir, 'lastfm/train.txt', '0 0 1 2\n1 2 3\n\n2\n3\t4  0\n');
    const report = await runImport(platform, await linesSource(path));
    assert.equal(report.interactions, 7);
    assert.deepEqual(report.items, { metadata: 0, minimal: 5 });
    assert.deepEqual(report.users, { metadata: 0, minimal: 4 });
    assert.equal(report.bad_lines, 0);

    const events = (await readTopic(platform, 'rec.interactions'))
      .map((r) => r.value)
      .sort((a, b) => a.ts - b.ts);
    assert.deepEqual(
      events.map((e) => [e.event_id, e.user_id, e.item_id, e.type, e.ts - START]),
      [
        ['lastfm/train.txt:1:1', '0', '0', 'click', 0],
        ['lastfm/train.txt:1:2', '0', '1', 'click', 1000],
        ['lastfm/train.txt:1:3', '0', '2', 'click', 2000],
        ['lastfm/train.txt:2:1', '1', '2', 'click', 3000],
        ['lastfm/train.txt:2:2', '1', '3', 'click', 4000],
        ['lastfm/train.txt:5:1', '3', '4', 'click', 5000],
        ['lastfm/train.txt:5:2', '3', '0', 'click', 6000],
      ],
    );
    const users = (await readTopic(platform, 'rec.users')).map((r) => r.key).sort();
    assert.deepEqual(users, ['0', '1', '2', '3'], 'user 2 has no items but is a user');
  });
});

test('lines: --type, --start and --step-ms set type and synthesised time', async () => {
  await withTempPlatform(async (platform, dir) => {
    const path = await fixture(dir, 'x/pairs.txt', 'u1 i1 i2\n');
    await runImport(platform, await linesSource(path, { type: 'view', start: 1_000_000, stepMs: 60_000 }));
    const events = (await readTopic(platform, 'rec.interactions')).map((r) => [r.value.type, r.value.ts]);
    assert.deepEqual(events, [
      ['view', 1_000_000],
      ['view', 1_060_000],
    ]);
  });
});

test('lines: invalid UTF-8, control characters and huge lines are bad lines; good lines around them are imported and take no time from them', async () => {
  await withTempPlatform(async (platform, dir) => {
    const content = Buffer.concat([
      Buffer.from('u1 a b\n'),
      Buffer.from([0x75, 0x32, 0x20, 0xc3, 0x28, 0x0a]),
      Buffer.from('u3 ok \u0001bad\n'),
      Buffer.from(`u4 ${'x '.repeat(1_000_000)}\n`),
      Buffer.from('u5 c\n'),
    ]);
    const path = await fixture(dir, 'x/train.txt', content);
    const report = await runImport(platform, await linesSource(path));
    assert.equal(report.interactions, 3);
    assert.deepEqual(
      report.bad.map((b) => [b.line, b.reason]),
      [
        [2, 'line: invalid UTF-8 at byte 3'],
        [3, 'item_id (item 2): contains a control character: "\\u0001bad"'],
        [4, `line: is ${2_000_003} bytes long (max ${1 << 20})`],
      ],
    );
    const events = (await readTopic(platform, 'rec.interactions')).map((r) => r.value);
    assert.deepEqual(
      events.filter((e) => e.user_id === 'u5').map((e) => e.ts - START),
      [2000],
    );
    const letters = await readTopic(platform, 'rec.dlq');
    assert.equal(letters.length, 3);
    const huge = letters.find((l) => l.value.source_offset === 4)!.value;
    assert.equal(huge.value!.length, 64 * 1024);
    assert.match(huge.error_message, /value holds the first 65536 bytes of the line/);
    const utf8 = letters.find((l) => l.value.source_offset === 2)!.value;
    assert.deepEqual([...utf8.value!], [0x75, 0x32, 0x20, 0xc3, 0x28]);
  });
});

test('lines --strict: fails at the first bad line; every line before it is written', async () => {
  await withTempPlatform(async (platform, dir) => {
    const path = await fixture(dir, 'x/train.txt', 'u1 a\nu2 b\nu3 \u0007\nu4 d\n');
    await assert.rejects(
      runImport(platform, await linesSource(path), { strict: true, chunkLines: 1 }),
      (err: unknown) => {
        assert.ok(err instanceof BadInputLineError);
        assert.equal(err.line, 3);
        assert.match(err.message, /train\.txt line 3: item_id \(item 1\): contains a control character/);
        return true;
      },
    );
    assert.deepEqual((await readTopic(platform, 'rec.interactions')).map((r) => r.value.user_id).sort(), [
      'u1',
      'u2',
    ]);
  });
});
