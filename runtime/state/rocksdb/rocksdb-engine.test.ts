import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { StateStoreError } from '../../errors.js';
import { runStoreContract } from '../store.contract.js';
import { RocksDbEngine } from './rocksdb-engine.js';
import { rocksdbError } from './rocksdb-error.js';

async function scratch(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-rocksdb-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

runStoreContract('rocksdb', {
  persistent: true,
  open: async () => {
    const { dir, cleanup } = await scratch();
    const path = join(dir, 'db');
    return { engine: await RocksDbEngine.open(path), reopen: () => RocksDbEngine.open(path), cleanup };
  },
});

describe('rocksdb engine: opening', () => {
  test('a directory locked by another open engine is a retriable StateStoreError', async () => {
    const { dir, cleanup } = await scratch();
    const first = await RocksDbEngine.open(dir);
    try {
      await assert.rejects(RocksDbEngine.open(dir), (err: unknown) => {
        assert.ok(err instanceof StateStoreError);
        assert.equal(err.retriable, true);
        assert.match(err.message, /locked by another open state store/);
        return true;
      });
    } finally {
      await first.close();
      await cleanup();
    }
  });

  for (const [what, damage] of [
    [
      'a damaged MANIFEST',
      (dir: string, manifest: string) => writeFile(join(dir, manifest), Buffer.alloc(200, 7)),
    ],
    ['a missing MANIFEST', (dir: string) => writeFile(join(dir, 'CURRENT'), 'MANIFEST-999999\n')],
  ] as const) {
    test(`${what} is a StateStoreError that says to delete the directory`, async () => {
      const { dir, cleanup } = await scratch();
      try {
        const engine = await RocksDbEngine.open(dir);
        await engine.write([{ key: Buffer.from('k'), value: Buffer.from('v') }]);
        await engine.close();
        const manifest = (await readdir(dir)).find((f) => f.startsWith('MANIFEST-')) as string;
        await damage(dir, manifest);
        await assert.rejects(RocksDbEngine.open(dir), (err: unknown) => {
          assert.ok(err instanceof StateStoreError);
          assert.equal(err.retriable, false);
          assert.match(err.message, /it is corrupt .*delete the directory and restart/);
          return true;
        });
      } finally {
        await cleanup();
      }
    });
  }

  test('a path under a regular file is a StateStoreError naming the directory', async () => {
    const { dir, cleanup } = await scratch();
    try {
      await writeFile(join(dir, 'file'), 'not a directory');
      const path = join(dir, 'file', 'db');
      await assert.rejects(RocksDbEngine.open(path), (err: unknown) => {
        assert.ok(err instanceof StateStoreError);
        assert.match(err.message, /cannot create state dir .*file\/db/);
        return true;
      });
    } finally {
      await cleanup();
    }
  });

  test('sync writes read back like the default ones', async () => {
    const { dir, cleanup } = await scratch();
    const engine = await RocksDbEngine.open(dir, { sync: true });
    try {
      await engine.write([{ key: Buffer.from('k'), value: Buffer.from('v') }]);
      assert.deepEqual(await engine.get(Buffer.from('k')), Buffer.from('v'));
    } finally {
      await engine.close();
      await cleanup();
    }
  });
});

describe('rocksdb engine: error messages', () => {
  // Root ignores permissions and no read-only mount is at hand, so these use the texts RocksDB and Node report.
  for (const [reported, expected] of [
    [
      'IO error: While open a file for appending: /d/000007.log: Read-only file system',
      /read-only file system.*writable directory/,
    ],
    ["EROFS: read-only file system, mkdir '/d'", /read-only file system/],
    ['IO error: While mkdir if missing: /d: Permission denied', /permission denied.*writable by this user/],
    ['IO error: No space left on device', /no space left on device.*free space/],
    ['Invalid argument: something else', /cannot open state dir \/d: Invalid argument: something else/],
  ] as const) {
    test(`"${reported}" becomes a StateStoreError that says what to do`, () => {
      const err = rocksdbError('/d', 'open', new Error(reported));
      assert.ok(err instanceof StateStoreError);
      assert.equal(err.retriable, false);
      assert.match(err.message, expected);
    });
  }
});
