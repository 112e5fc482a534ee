import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DedupIndex } from './dedup-index.js';

const fp = (n: number) => Buffer.from([n, 0, 0, 0, 0, 0, 0, n]);

test('ids are remembered for at least the window and forgotten after two', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-dedup-'));
  let now = 10_000;
  const windowMs = 1000;
  try {
    let index = await DedupIndex.open(dir, { windowMs, now: () => now });
    await index.record([{ id: 'a', fingerprint: fp(1) }], new Map([[0, 1]]));
    now += 999;
    await index.record([{ id: 'b', fingerprint: fp(2) }], new Map([[0, 2]]));
    assert.deepEqual(await index.lookup(['a', 'b', 'c']), [fp(1), fp(2), undefined]);
    now += 1000; // a is one window old, in the previous generation: still there
    assert.deepEqual(await index.lookup(['a', 'b']), [fp(1), fp(2)]);
    await index.close();
    index = await DedupIndex.open(dir, { windowMs, now: () => now });
    assert.deepEqual(await index.checkpoint(), new Map([[0, 2]]));
    assert.deepEqual(await index.lookup(['a']), [fp(1)]);
    now += 1001; // two windows after a and b: they no longer count, and the sweep deletes them
    assert.deepEqual(await index.lookup(['a', 'b']), [undefined, undefined]);
    assert.equal(await index.stored(), 2);
    await index.record([{ id: 'c', fingerprint: fp(3) }], new Map([[0, 3]]));
    await index.idle();
    assert.equal(await index.stored(), 1);
    assert.deepEqual(await index.lookup(['a', 'c']), [undefined, fp(3)]);
    await index.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
