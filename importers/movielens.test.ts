/**
 * MovieLens imports into a real embedded log on disk, from small fixtures
 * written here in each layout GroupLens ships (never the shared data set).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BadInputLineError } from './errors.js';
import { runImport } from './importer.js';
import { movieLensSource } from './movielens.js';
import { ML100K_GENRES } from './movielens-rows.js';
import { fixture, readTopic, withTempPlatform } from './test-support.js';

const flags = (...on: string[]) => ML100K_GENRES.map((g) => (on.includes(g) ? '1' : '0')).join('|');

async function ml100k(dir: string): Promise<string> {
  await fixture(dir, 'ml-100k/u.genre', `${ML100K_GENRES.map((g, i) => `${g}|${i}`).join('\n')}\n\n`);
  // u.item is Latin-1 in the published data set: é is the single byte 0xe9.
  await fixture(
    dir,
    'ml-100k/u.item',
    Buffer.from(
      [
        `10|Café Society (1995)|01-Jan-1995||http://us.imdb.com/x|${flags('Action', 'Comedy')}`,
        `20|unknown|||http://us.imdb.com/y|${flags('unknown')}`,
        `40|Bad Date (1995)|31-Feb-1995||http://us.imdb.com/z|${flags('Drama')}`,
        '',
      ].join('\n'),
      'latin1',
    ),
  );
  await fixture(dir, 'ml-100k/u.user', '1|24|M|technician|85711\n2|53|F|other|T8H1N\n7|abc|M|writer|32067\n');
  await fixture(
    dir,
    'ml-100k/u.data',
    [
      '1\t10\t5\t881250949',
      '2\t20\t3\t881250950',
      '',
      '3\t10\tabc\t881250951',
      '4\t10\t4\t-5',
      '5\t10',
      '2\t30\t4\t881250960',
      '6\t10\t4\t881250970',
      '',
    ].join('\n'),
  );
  return `${dir}/ml-100k`;
}

test('ML-100K: ratings, items with titles and genres, users; minimal records for the rest; bad lines counted and dead-lettered', async () => {
  await withTempPlatform(async (platform, dir) => {
    const path = await ml100k(dir);
    const report = await runImport(platform, await movieLensSource(path));

    assert.equal(report.interactions, 4);
    assert.deepEqual(report.items, { metadata: 2, minimal: 1 });
    assert.deepEqual(report.users, { metadata: 2, minimal: 1 });
    assert.equal(report.bad_lines, 5);
    assert.equal(report.dead_letters, 5);
    assert.deepEqual(
      report.bad.map((b) => [b.file.split('/').pop(), b.line, b.field]),
      [
        ['u.item', 3, 'release date'],
        ['u.user', 3, 'age'],
        ['u.data', 4, 'rating'],
        ['u.data', 5, 'timestamp'],
        ['u.data', 6, 'line'],
      ],
    );
    assert.match(report.bad[2]!.reason, /^rating: "abc" is not a number$/);
    assert.match(report.bad[3]!.reason, /^timestamp: "-5" is before 1970/);
    assert.match(report.bad[4]!.reason, /^line: has 2 fields, expected 4/);

    const interactions = await readTopic(platform, 'rec.interactions');
    const first = interactions.find((r) => r.value.event_id === 'ml-100k/u.data:1')!;
    assert.deepEqual(first.value, {
      event_id: 'ml-100k/u.data:1',
      user_id: '1',
      item_id: '10',
      type: 'rate',
      value: 5,
      watch_ms: null,
      ts: 881_250_949_000,
      context: { device: null, country: null, session_id: null, surface: null, request_id: null },
    });
    assert.equal(first.key, '1');
    assert.equal(first.timestamp, 881_250_949_000);
    assert.deepEqual(interactions.map((r) => r.value.event_id).sort(), [
      'ml-100k/u.data:1',
      'ml-100k/u.data:2',
      'ml-100k/u.data:7',
      'ml-100k/u.data:8',
    ]);

    const items = new Map((await readTopic(platform, 'rec.items')).map((r) => [r.key, r.value]));
    assert.deepEqual(items.get('10'), {
      item_id: '10',
      title: 'Café Society (1995)',
      categories: ['Action', 'Comedy'],
      tags: [],
      language: null,
      duration_s: null,
      release_ts: Date.UTC(1995, 0, 1),
      maturity: 'unrated',
      available: true,
      updated_ts: 0,
    });
    assert.deepEqual(items.get('20')!.categories, []);
    assert.equal(items.get('20')!.release_ts, null);
    assert.equal(items.get('30')!.title, '30');
    assert.equal(items.has('40'), false);

    const users = new Map((await readTopic(platform, 'rec.users')).map((r) => [r.key, r.value]));
    assert.deepEqual([...users.keys()].sort(), ['1', '2', '6']);
    assert.deepEqual(
      [
        users.get('1')!.age_bucket,
        users.get('1')!.country,
        users.get('2')!.age_bucket,
        users.get('2')!.country,
      ],
      ['18-24', 'US', '45-54', 'CA'],
    );
    assert.deepEqual(users.get('6'), {
      user_id: '6',
      country: null,
      language: null,
      age_bucket: null,
      signup_ts: 0,
      opt_out: false,
      updated_ts: 0,
    });

    const letters = await readTopic(platform, 'rec.dlq');
    assert.equal(letters.length, 5);
    const record = letters.find(
      (l) => l.value.source_topic.endsWith('/u.data') && l.value.source_offset === 4,
    )!;
    assert.equal(record.key, `import:${path}/u.data`, 'dead letters are keyed by source topic');
    const rating = record.value;
    assert.equal(rating.key, null);
    assert.equal(rating.source_topic, `import:${path}/u.data`);
    assert.equal(rating.value!.toString(), '3\t10\tabc\t881250951');
    assert.equal(rating.error_code, 'IMPORT_LINE_INVALID');
    assert.match(rating.error_message, /u\.data line 4: rating: "abc" is not a number/);
    assert.equal(rating.processor, 'import movielens');
  });
});

test('re-importing gives the same event ids (readers drop the duplicates); catalogTs dates the metadata', async () => {
  await withTempPlatform(async (platform, dir) => {
    const path = await ml100k(dir);
    await runImport(platform, await movieLensSource(path));
    const once = (await readTopic(platform, 'rec.interactions')).map((r) => r.value.event_id).sort();
    await runImport(platform, await movieLensSource(path, { catalogTs: 5000 }));
    const all = (await readTopic(platform, 'rec.interactions')).map((r) => r.value.event_id).sort();
    assert.equal(all.length, 2 * once.length);
    assert.deepEqual([...new Set(all)], once);
    const items = (await readTopic(platform, 'rec.items')).filter((r) => r.key === '10');
    assert.deepEqual(
      items.map((r) => r.value.updated_ts),
      [0, 5000],
    );
  });
});

test('--strict: stops at the first bad line with its file, line and field; the lines before it are written', async () => {
  await withTempPlatform(async (platform, dir) => {
    const path = await ml100k(dir);
    await assert.rejects(
      runImport(platform, await movieLensSource(path), { strict: true }),
      (err: unknown) => {
        assert.ok(err instanceof BadInputLineError);
        assert.equal(err.code, 'IMPORT_LINE_INVALID');
        assert.equal(err.line, 3);
        assert.equal(err.field, 'release date');
        assert.match(err.message, /u\.item line 3: release date: "31-Feb-1995" is not a date/);
        return true;
      },
    );
    assert.deepEqual((await readTopic(platform, 'rec.items')).map((r) => r.key).sort(), ['10', '20']);
    assert.deepEqual(await readTopic(platform, 'rec.interactions'), []);
    assert.deepEqual(await readTopic(platform, 'rec.dlq'), []);
  });
});

test('ML-1M layout: ratings.dat, movies.dat (Latin-1) and users.dat with age codes', async () => {
  await withTempPlatform(async (platform, dir) => {
    await fixture(
      dir,
      'ml-1m/movies.dat',
      Buffer.from(
        "1::Toy Story (1995)::Animation|Children's|Comedy\n2::Amélie (2001)::Comedy|Romance\n",
        'latin1',
      ),
    );
    await fixture(dir, 'ml-1m/users.dat', '1::F::1::10::48067\n2::M::56::16::70072\n3::M::99::15::55117\n');
    await fixture(
      dir,
      'ml-1m/ratings.dat',
      '1::1::5::978300760\n2::2::3::978302109\n1::2::6::978301968\n3::1::4::978300275\n',
    );
    const report = await runImport(platform, await movieLensSource(`${dir}/ml-1m`));
    assert.equal(report.interactions, 3);
    assert.deepEqual(report.items, { metadata: 2, minimal: 0 });
    assert.deepEqual(report.users, { metadata: 2, minimal: 1 });
    assert.deepEqual(
      report.bad.map((b) => [b.file.split('/').pop(), b.line, b.reason]),
      [
        ['users.dat', 3, 'age: "99" is not an ML-1M age code (1, 18, 25, 35, 45, 50, 56)'],
        ['ratings.dat', 3, 'rating: 6 is outside the MovieLens scale 0.5-5'],
      ],
    );
    const items = new Map((await readTopic(platform, 'rec.items')).map((r) => [r.key, r.value]));
    assert.equal(items.get('2')!.title, 'Amélie (2001)');
    assert.deepEqual(items.get('1')!.categories, ['Animation', "Children's", 'Comedy']);
    assert.equal(items.get('1')!.release_ts, Date.UTC(1995, 0, 1));
    const users = new Map((await readTopic(platform, 'rec.users')).map((r) => [r.key, r.value]));
    assert.deepEqual([users.get('1')!.age_bucket, users.get('2')!.age_bucket], ['0-17', '56+']);
    const events = (await readTopic(platform, 'rec.interactions')).map((r) => r.value.event_id).sort();
    assert.deepEqual(events, ['ml-1m/ratings.dat:1', 'ml-1m/ratings.dat:2', 'ml-1m/ratings.dat:4']);
  });
});

test('ML-latest layout: ratings.csv and movies.csv with quoted titles; a file path imports just that file', async () => {
  await withTempPlatform(async (platform, dir) => {
    await fixture(
      dir,
      'ml-latest/movies.csv',
      'movieId,title,genres\n1,"American President, The (1995)",Comedy|Drama|Romance\n2,Untitled,(no genres listed)\n',
    );
    await fixture(
      dir,
      'ml-latest/ratings.csv',
      'userId,movieId,rating,timestamp\n1,1,4.5,964982703\n1,2,x,964982704\n',
    );
    const report = await runImport(platform, await movieLensSource(`${dir}/ml-latest/ratings.csv`));
    assert.equal(report.interactions, 1);
    assert.deepEqual(report.items, { metadata: 2, minimal: 0 });
    assert.deepEqual(report.users, { metadata: 0, minimal: 1 });
    assert.deepEqual(
      report.bad.map((b) => [b.line, b.reason]),
      [[3, 'value (column rating): "x" is not a number']],
    );
    const items = new Map((await readTopic(platform, 'rec.items')).map((r) => [r.key, r.value]));
    assert.equal(items.get('1')!.title, 'American President, The (1995)');
    assert.deepEqual(items.get('1')!.categories, ['Comedy', 'Drama', 'Romance']);
    assert.deepEqual(items.get('2')!.categories, []);
    const [rating] = await readTopic(platform, 'rec.interactions');
    assert.deepEqual(
      [rating!.value.value, rating!.value.ts, rating!.value.event_id],
      [4.5, 964_982_703_000, 'ml-latest/ratings.csv:2'],
    );
  });
});

test('a folder without a ratings file is refused with what was looked for', async () => {
  await withTempPlatform(async (_platform, dir) => {
    await fixture(dir, 'empty/README', 'nothing here');
    await assert.rejects(
      movieLensSource(`${dir}/empty`),
      /holds no MovieLens ratings file \(looked for u\.data, ratings\.dat, ratings\.csv\)/,
    );
    await assert.rejects(movieLensSource(`${dir}/missing`), /does not exist/);
  });
});
