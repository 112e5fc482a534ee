import assert from 'node:assert/strict';
import { test } from 'node:test';
import { csvSource, parseMapping } from './csv-format.js';
import { ImportError } from './errors.js';
import { runImport } from './importer.js';
import { fixture, readTopic, withTempPlatform } from './test-support.js';

test('--map: target=column pairs; unknown targets and empty columns are refused by name', () => {
  assert.deepEqual(parseMapping('user_id=userId, item_id=movieId,ts=timestamp,value=rating'), {
    user_id: 'userId',
    item_id: 'movieId',
    ts: 'timestamp',
    value: 'rating',
  });
  assert.throws(
    () => parseMapping('user=userId'),
    /unknown field "user"; fields are event_id, user_id, item_id/,
  );
  assert.throws(() => parseMapping('user_id='), /user_id= names no column/);
});

test('csv with a mapping: types, values, ISO and unix times, context columns; bad rows named by line and field', async () => {
  await withTempPlatform(async (platform, dir) => {
    const path = await fixture(
      dir,
      'shop/events.csv',
      [
        'who,what,kind,score,when,device',
        'alice,sku-1,click,,2024-05-01T10:00:00Z,web',
        'bob,"sku,2",rate,4.5,1714557600,tv',
        'carol,sku-3,purchase,,1714557600,web',
        'dave,sku-4,rate,,1714557600,web',
        'erin,sku-5,view,0.5,-1,web',
        'frank,sku-6,view',
        ',sku-7,view,,1714557600,web',
        'gina,sku-8,like,,1714557600123,',
      ].join('\n'),
    );
    const source = await csvSource(path, {
      map: parseMapping('user_id=who,item_id=what,type=kind,value=score,ts=when'),
    });
    const report = await runImport(platform, source);
    assert.equal(report.interactions, 3);
    assert.deepEqual(
      report.bad.map((b) => [b.line, b.reason]),
      [
        [
          4,
          'type (column kind): "purchase" is not an interaction type (one of impression, view, click, like, dislike, rate, add_to_list, share, complete, skip)',
        ],
        [5, 'value (column score): a rate needs a rating'],
        [6, 'ts (column when): "-1" is before 1970 (negative timestamp)'],
        [7, 'line: has 3 fields, the header has 6'],
        [8, 'user_id (column who): is empty'],
      ],
    );
    const events = new Map(
      (await readTopic(platform, 'rec.interactions')).map((r) => [r.value.user_id, r.value]),
    );
    assert.deepEqual(events.get('alice'), {
      event_id: 'shop/events.csv:2',
      user_id: 'alice',
      item_id: 'sku-1',
      type: 'click',
      value: null,
      watch_ms: null,
      ts: Date.UTC(2024, 4, 1, 10),
      context: { device: 'web', country: null, session_id: null, surface: null, request_id: null },
    });
    assert.deepEqual(
      [events.get('bob')!.item_id, events.get('bob')!.value, events.get('bob')!.ts],
      ['sku,2', 4.5, 1_714_557_600_000],
    );
    assert.equal(events.get('gina')!.ts, 1_714_557_600_123);
    assert.equal(events.get('gina')!.context.device, null);
  });
});

test('csv: columns named like the fields need no mapping; an event_id column is used as is; no ts column synthesises time', async () => {
  await withTempPlatform(async (platform, dir) => {
    const path = await fixture(dir, 'x/a.tsv', 'event_id\tuser_id\titem_id\n e-1 \tu1\ti1\ne-2\tu2\ti1\n');
    const report = await runImport(
      platform,
      await csvSource(path, { delimiter: '\t', type: 'like', start: 0, stepMs: 10 }),
    );
    assert.equal(report.interactions, 2);
    const events = (await readTopic(platform, 'rec.interactions')).map((r) => [
      r.value.event_id,
      r.value.type,
      r.value.ts,
    ]);
    assert.deepEqual(events.sort(), [
      ['e-1', 'like', 0],
      ['e-2', 'like', 10],
    ]);
  });
});

test('csv: a mapping that does not fit the header, or no way to tell the type, stops before anything is written', async () => {
  await withTempPlatform(async (_platform, dir) => {
    const path = await fixture(dir, 'x/a.csv', 'userId,movieId\n1,2\n');
    await assert.rejects(
      csvSource(path, { map: parseMapping('user_id=userId,item_id=itemId') }),
      (err: unknown) =>
        err instanceof ImportError &&
        /--map item_id=itemId: the header has no column "itemId"; it has "userId", "movieId"/.test(
          err.message,
        ),
    );
    await assert.rejects(
      csvSource(path),
      /no user_id column; the header has "userId", "movieId"; map one with --map user_id=COLUMN/,
    );
    await assert.rejects(
      csvSource(path, { map: parseMapping('user_id=userId,item_id=movieId') }),
      /no interaction type: map a type column/,
    );
    const empty = await fixture(dir, 'x/empty.csv', '');
    await assert.rejects(csvSource(empty, { type: 'click' }), /is empty; a CSV import needs a header row/);
  });
});
