import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { LineReader, type SourceLine } from './line-reader.js';

async function linesOf(
  content: Buffer | string,
  options = {},
): Promise<{ lines: SourceLine[]; bytesRead: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-lines-'));
  try {
    const path = join(dir, 'f.txt');
    await writeFile(path, content);
    const reader = new LineReader(path, options);
    const lines: SourceLine[] = [];
    for await (const batch of reader) lines.push(...batch);
    return { lines, bytesRead: reader.bytesRead };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('numbers lines from 1, keeps blank lines, drops \\r\\n and \\n, reads a last line without newline', async () => {
  const text = 'a b\r\n\nc\r\nlast';
  for (const chunkBytes of [1, 2, 3, 64]) {
    const { lines, bytesRead } = await linesOf(text, { chunkBytes });
    assert.deepEqual(
      lines.map((l) => [l.number, l.bytes.toString(), l.truncated]),
      [
        [1, 'a b', false],
        [2, '', false],
        [3, 'c', false],
        [4, 'last', false],
      ],
      `chunkBytes ${chunkBytes}`,
    );
    assert.equal(bytesRead, Buffer.byteLength(text));
  }
});

test('a file ending in a newline has no extra empty line; an empty file has none', async () => {
  assert.deepEqual(
    (await linesOf('x\ny\n')).lines.map((l) => l.bytes.toString()),
    ['x', 'y'],
  );
  assert.deepEqual((await linesOf('')).lines, []);
});

test('a line longer than maxLineBytes comes out truncated with its full length, and the next line is intact', async () => {
  const long = 'z'.repeat(1000);
  const { lines } = await linesOf(`ok\n${long}\nafter\n`, { maxLineBytes: 100, chunkBytes: 7 });
  assert.equal(lines.length, 3);
  assert.equal(lines[1]!.truncated, true);
  assert.equal(lines[1]!.length, 1000);
  assert.equal(lines[1]!.bytes.length, 100);
  assert.equal(lines[2]!.bytes.toString(), 'after');
  assert.equal(lines[2]!.number, 3);
});

test('multi-byte characters split across chunks come out whole', async () => {
  const text = 'ação\nçà\n';
  const { lines } = await linesOf(text, { chunkBytes: 1 });
  assert.deepEqual(
    lines.map((l) => l.bytes.toString('utf8')),
    ['ação', 'çà'],
  );
});
