/**
 * `recstream import` as an operator runs it: a child process on a data dir,
 * then `topics` and `dlq list` to see what landed.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../../test/cli.js';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-import-cli-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('recstream import lines: JSON report, topics with the records, the bad line in rec.dlq; exit 0', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'train.txt');
    await writeFile(file, '0 0 1 2\n1 2 \u0000\n2 3\n');
    const data = join(dir, 'data');
    const run = await runCli(['import', 'lines', file, '--json', '--data-dir', data]);
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout);
    assert.equal(report.interactions, 4);
    assert.equal(report.bad_lines, 1);
    assert.deepEqual(report.bad[0], {
      file,
      line: 2,
      field: 'item_id (item 2)',
      reason: 'item_id (item 2): contains a control character: "\\u0000"',
    });
    assert.match(run.stderr, /"msg":"progress","task":"import lines \(bytes\)"/);

    const topics = JSON.parse((await runCli(['topics', '--json', '--data-dir', data])).stdout);
    const records = Object.fromEntries(
      topics.map((t: { topic: string; records: number }) => [t.topic, t.records]),
    );
    assert.deepEqual(records, { 'rec.dlq': 1, 'rec.interactions': 4, 'rec.items': 4, 'rec.users': 2 });

    const letters = JSON.parse((await runCli(['dlq', 'list', '--json', '--data-dir', data])).stdout);
    assert.equal(letters.length, 1);
    assert.equal(letters[0].source_topic, `import:${file}`);
    assert.equal(letters[0].source_offset, 2);
    assert.equal(Buffer.from(letters[0].value, 'base64').toString(), '1 2 \u0000');
  });
});

test('recstream import --strict: exit 1 with the file, line and field; text summary otherwise', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'events.csv');
    await writeFile(file, 'userId,movieId,rating,timestamp\n1,10,4,964982703\n1,11,four,964982704\n');
    const data = join(dir, 'data');
    const map = ['--map', 'user_id=userId,item_id=movieId,value=rating,ts=timestamp'];
    const strict = await runCli(['import', 'csv', file, ...map, '--strict', '--data-dir', data]);
    assert.equal(strict.code, 1);
    assert.match(
      strict.stderr,
      /events\.csv line 3: value \(column rating\): "four" is not a number \(--strict stops at the first bad line\) \[IMPORT_LINE_INVALID\]/,
    );
    const lenient = await runCli(['import', 'csv', file, ...map, '--data-dir', data]);
    assert.equal(lenient.code, 0, lenient.stderr);
    assert.match(lenient.stdout, /interactions +1 +→ rec\.interactions/);
    assert.match(
      lenient.stdout,
      /bad lines +1 +→ rec\.dlq\n +.*events\.csv:3 +value \(column rating\): "four" is not a number/,
    );
  });
});

test('recstream import refuses what it cannot do, naming it', async () => {
  await withDir(async (dir) => {
    const data = join(dir, 'data');
    const cases: [string[], RegExp][] = [
      [
        ['import', 'parquet', dir],
        /unknown import format "parquet"; formats are movielens, csv, lines \[IMPORT_INVALID\]/,
      ],
      [
        ['import', 'lines', join(dir, 'nope.txt')],
        /nope\.txt cannot be read: no such file \[IMPORT_INVALID\]/,
      ],
      [['import', 'lines', dir, '--map', 'user_id=a'], /--map applies to csv imports, not lines/],
      [['import', 'lines', dir, '--type', 'purchase'], /--type purchase is not an interaction type/],
      [['import', 'movielens'], /expected a format \(movielens, csv, lines\) and one path/],
    ];
    for (const [args, message] of cases) {
      const run = await runCli([...args, '--data-dir', data]);
      assert.equal(run.code, 1, args.join(' '));
      assert.match(run.stderr, message);
    }
  });
});
