import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type CsvError, type CsvRow, readCsv } from './csv.js';
import { LineReader } from './line-reader.js';

async function rowsOf(
  content: Buffer | string,
  options = {},
  chunkBytes = 5,
): Promise<(CsvRow | CsvError)[]> {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-csv-'));
  try {
    const path = join(dir, 'f.csv');
    await writeFile(path, content);
    const rows: (CsvRow | CsvError)[] = [];
    for await (const batch of readCsv(new LineReader(path, { chunkBytes }), options)) rows.push(...batch);
    return rows;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const view = (rows: (CsvRow | CsvError)[]) =>
  rows.map((r) => ('fields' in r ? [r.line, r.fields] : [r.line, `error: ${r.reason}`]));

test('quoted fields with delimiters, doubled quotes and newlines; the record keeps the line it starts on', async () => {
  const rows = await rowsOf(
    '\uFEFFmovieId,title,genres\r\n1,"Toy Story (1995)",Comedy\n2,"Say ""Hi"", Bob",Drama\n3,"two\nlines",\n4,,""\n',
  );
  assert.deepEqual(view(rows), [
    [1, ['movieId', 'title', 'genres']],
    [2, ['1', 'Toy Story (1995)', 'Comedy']],
    [3, ['2', 'Say "Hi", Bob', 'Drama']],
    [4, ['3', 'two\nlines', '']],
    [6, ['4', '', '']],
  ]);
  assert.equal((rows[3] as CsvRow).raw.toString(), '3,"two\nlines",');
});

test('another delimiter; blank lines are skipped', async () => {
  const rows = await rowsOf('a\tb\n\n"x\ty"\tz\n', { delimiter: '\t' });
  assert.deepEqual(view(rows), [
    [1, ['a', 'b']],
    [3, ['x\ty', 'z']],
  ]);
});

test('a quote left open past maxRecordBytes is reported from its first line, and reading resumes after it', async () => {
  const rows = await rowsOf('1,"never closed\n2,b\n3,c\n4,d\n', { maxRecordBytes: 20 });
  assert.deepEqual(view(rows), [
    [1, 'error: a quoted field opened on line 1 is not closed'],
    [4, ['4', 'd']],
  ]);
});

test('a quote still open at the end of the file is an error, not a lost record', async () => {
  const rows = await rowsOf('1,ok\n2,"open\n');
  assert.deepEqual(view(rows), [
    [1, ['1', 'ok']],
    [2, 'error: a quoted field opened on line 2 is not closed'],
  ]);
});

test('a line that is not UTF-8 is an error naming the byte; the next line is read', async () => {
  const rows = await rowsOf(
    Buffer.concat([Buffer.from('a,b\nu1,caf'), Buffer.from([0xe9]), Buffer.from('\nu2,x\n')]),
  );
  assert.deepEqual(view(rows), [
    [1, ['a', 'b']],
    [2, 'error: line: invalid UTF-8 at byte 6'],
    [3, ['u2', 'x']],
  ]);
});

test('a delimiter that cannot work is refused', async () => {
  await assert.rejects(rowsOf('a\n', { delimiter: '"' }), /delimiter must be one character/);
});
