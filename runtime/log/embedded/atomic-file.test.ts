import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeFileAtomic } from './atomic-file.js';
import { syncDir } from './io.js';

test('writeFileAtomic replaces a file whole, durably or not, and leaves no temporary file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'atomic-file-'));
  try {
    const path = join(dir, 'offsets.json');
    await writeFileAtomic(path, '{"a":1}\n', true);
    await writeFileAtomic(path, '{"a":2}\n', true);
    await writeFileAtomic(path, '{"a":3}\n', false);
    assert.equal(await readFile(path, 'utf8'), '{"a":3}\n');
    assert.deepEqual(await readdir(dir), ['offsets.json']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('writeFileAtomic and syncDir reject for a directory that does not exist', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'atomic-file-'));
  try {
    await assert.rejects(writeFileAtomic(join(dir, 'gone', 'offsets.json'), '{}', true), { code: 'ENOENT' });
    await assert.rejects(syncDir(join(dir, 'gone')), { code: 'ENOENT' });
    await syncDir(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
