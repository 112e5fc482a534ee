import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { SessionThread } from './session-thread.js';
import { withTempDir } from './test-support.js';

test('files hashed on the thread have the sha256 of their bytes; one that cannot be read answers why', async () => {
  await withTempDir(async (dir) => {
    // Past one read of the thread's hashing (1 MB), an empty file, and a small one.
    const contents = [randomBytes(3 * (1 << 20) + 17), Buffer.alloc(0), Buffer.from('{"a":1}')];
    const paths = contents.map((_, i) => join(dir, `file-${i}`));
    await Promise.all(contents.map((bytes, i) => writeFile(paths[i]!, bytes)));
    const thread = new SessionThread();
    try {
      const hashes = await thread.sha256([...paths, join(dir, 'missing')]);
      assert.deepEqual(
        hashes.slice(0, 3),
        contents.map((bytes) => ({ sha256: createHash('sha256').update(bytes).digest('hex') })),
      );
      const missing = hashes[3]!;
      assert.ok('error' in missing && /ENOENT/.test(missing.error), JSON.stringify(missing));
    } finally {
      await thread.endIfIdle();
    }
  });
});
