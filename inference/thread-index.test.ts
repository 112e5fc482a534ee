import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { ArtifactIntegrityError } from '../registry/errors.js';
import { AnnIndex } from './ann-index.js';
import { InferenceError } from './errors.js';
import { SessionThread } from './session-thread.js';
import { unitVectors, withTempDir } from './test-support.js';

const DIMS = 16;
const ITEMS = 3_000;
const vectors = unitVectors(ITEMS, DIMS, 11);
const keys = Array.from({ length: ITEMS }, (_, i) => i + 1);
const row = (i: number) => vectors.slice(i * DIMS, (i + 1) * DIMS);

test('an index on a session thread answers as the same index on the calling thread, filters and all', async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, 'index.usearch');
    AnnIndex.build({ dimensions: DIMS }, keys, vectors).save(path);
    const local = AnnIndex.load(path);
    const thread = new SessionThread();
    const remote = await thread.openIndex(path);
    try {
      assert.equal(remote.size, ITEMS);
      assert.equal(remote.config.dimensions, DIMS);
      for (const i of [0, 17, 2_999])
        assert.deepEqual(await remote.search(row(i), 20), local.search(row(i), 20));
      const banned = new Set(local.search(row(5), 30).keys.slice(0, 25));
      const exclude = (key: number) => banned.has(key);
      const expected = local.search(row(5), 10, exclude);
      assert.deepEqual(await remote.search(row(5), 10, exclude, 25), expected);
      assert.deepEqual(await remote.search(row(5), 10, exclude, 1), expected, 'a short margin asks again');
      await assert.rejects(remote.search(new Float32Array(3), 5), InferenceError);
    } finally {
      await remote.close();
    }
  });
});

test('changes reach every later search, and leave the saved file as it was', async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, 'index.usearch');
    AnnIndex.build({ dimensions: DIMS }, keys, vectors).save(path);
    const thread = new SessionThread();
    const remote = await thread.openIndex(path, { expansionSearch: 64 });
    try {
      assert.equal(remote.config.expansionSearch, 64);
      const upserted = remote.upsert([50_000], row(7));
      const removed = remote.remove([8]);
      // Asked before the changes are answered, searched after them: the thread keeps the order asked.
      const found = await remote.search(row(7), 2);
      await Promise.all([upserted, removed]);
      assert.ok(found.keys.includes(50_000));
      assert.ok(!(await remote.search(row(7), 50)).keys.includes(8));
      assert.equal(remote.size, ITEMS);
      assert.equal(AnnIndex.load(path).size, ITEMS, 'the saved file is unchanged');
    } finally {
      await remote.close();
    }
  });
});

test('a missing index file is refused by name', async () => {
  await withTempDir(async (dir) => {
    const thread = new SessionThread();
    await assert.rejects(
      thread.openIndex(join(dir, 'missing.usearch')),
      (error: unknown) => error instanceof Error && /missing\.usearch/.test(error.message),
    );
  });
});

test('an index opened with its sha256 is hashed as it is opened: the right one loads, another is refused by name', async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, 'index.usearch');
    AnnIndex.build({ dimensions: DIMS }, keys, vectors).save(path);
    const sha256 = createHash('sha256')
      .update(await readFile(path))
      .digest('hex');
    const thread = new SessionThread();
    const remote = await thread.openIndex(path, {}, sha256);
    try {
      assert.equal(remote.size, ITEMS);
      assert.deepEqual(await remote.search(row(3), 5), AnnIndex.load(path).search(row(3), 5));
      await assert.rejects(
        thread.openIndex(path, {}, '0'.repeat(64)),
        (error: unknown) =>
          error instanceof ArtifactIntegrityError &&
          /index\.usearch has sha256 [0-9a-f]{64}, expected 0{64}/.test(error.message),
      );
    } finally {
      await remote.close();
    }
  });
});
