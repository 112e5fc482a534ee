/**
 * Appends through the process holding an embedded log: a read-only log
 * opened with `appendThroughOwner` hands its appends and offset commits to
 * the writer's spool,
 * which appends them in order and answers with the acks or the refusal;
 * with nobody to take a request, the caller withdraws it and says nothing
 * was appended.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { isRetriable, StorageError } from '../../errors.js';
import { appendThroughSpool } from './append-spool.js';
import { EmbeddedLog } from './embedded-log.js';

let root: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'recstream-append-spool-'));
});

after(() => rm(root, { recursive: true, force: true }));

const silent = { warn: () => {} };

test('a read-only log appends and commits through the writer: acks, order and the records as written', async () => {
  const dir = join(root, 'holder');
  const holder = await EmbeddedLog.open(dir, { fsync: 'never', logger: silent });
  const beside = await EmbeddedLog.open(dir, { readOnly: true, appendThroughOwner: true, logger: silent });
  try {
    await holder.ensureTopic({ name: 'rec.experiments', partitions: 1 });
    await holder.append('rec.experiments', [{ key: 'own', value: Buffer.from('by the holder') }]);
    const calls = await Promise.all(
      [0, 1, 2].map((i) =>
        beside.append('rec.experiments', [
          { key: `e${i}`, value: Buffer.from(`first of ${i}`), timestamp: 1000 + i },
          { key: `e${i}`, value: null, headers: { why: 'stopped' } },
        ]),
      ),
    );
    for (const acks of calls)
      assert.deepEqual(
        acks.map((a) => [a.partition, a.count]),
        [[0, 2]],
      );
    // Each call's records are contiguous, and the calls do not overlap.
    const bases = calls.map((acks) => acks[0]!.baseOffset).sort((a, b) => a - b);
    assert.deepEqual(bases, [1, 3, 5]);
    const records = await holder.read('rec.experiments', 0, 0, 10);
    assert.equal(records.length, 7);
    for (const [i, acks] of calls.entries()) {
      const [first, tombstone] = records.slice(acks[0]!.baseOffset, acks[0]!.baseOffset + 2);
      assert.deepEqual(
        [first?.key, first?.value?.toString(), first?.timestamp],
        [`e${i}`, `first of ${i}`, 1000 + i],
      );
      assert.deepEqual(
        [tombstone?.key, tombstone?.value, tombstone?.headers],
        [`e${i}`, null, { why: 'stopped' }],
      );
    }
    // Offset commits go the same way, and the caller reads them back.
    await beside.commitOffsets('readers', [{ topic: 'rec.experiments', partition: 0, offset: 5 }]);
    assert.deepEqual([...(await beside.committedOffsets('readers', 'rec.experiments'))], [[0, 5]]);
    assert.deepEqual([...(await holder.committedOffsets('readers', 'rec.experiments'))], [[0, 5]]);
    // The caller reads what it appended.
    assert.equal((await beside.read('rec.experiments', 0, 0, 10)).length, 7);
    assert.deepEqual(await readdir(join(dir, 'appends')), [], 'the spool is left empty');
    const plain = await EmbeddedLog.open(dir, { readOnly: true, logger: silent });
    await assert.rejects(
      plain.append('rec.experiments', [{ key: 'x', value: null }]).finally(() => plain.close()),
      /read-only/,
      'without appendThroughOwner a read-only log still refuses appends',
    );
  } finally {
    await beside.close();
    await holder.close();
  }
});

test("the holder's refusal reaches the caller with its reason and retriable flag", async () => {
  const dir = join(root, 'refusal');
  const holder = await EmbeddedLog.open(dir, { fsync: 'never', logger: silent });
  const beside = await EmbeddedLog.open(dir, { readOnly: true, appendThroughOwner: true, logger: silent });
  try {
    await assert.rejects(
      beside.append('rec.nope', [{ key: 'k', value: Buffer.from('v') }]),
      (error: unknown) => {
        assert.ok(error instanceof StorageError);
        assert.match(
          error.message,
          /the process holding log dir .* refused the append to rec\.nope: .*rec\.nope/,
        );
        assert.equal(isRetriable(error), false);
        return true;
      },
    );
  } finally {
    await beside.close();
    await holder.close();
  }
});

test('with no process to take it, the caller withdraws its request: nothing was appended, and it may retry', async () => {
  const dir = join(root, 'nobody');
  await mkdir(dir, { recursive: true });
  await assert.rejects(
    appendThroughSpool(dir, 'rec.experiments', [{ key: 'k', value: Buffer.from('v') }], { takeMs: 200 }),
    (error: unknown) => {
      assert.ok(error instanceof StorageError);
      assert.match(
        error.message,
        /no process took the append to rec\.experiments .* within 200 ms; nothing was written/,
      );
      assert.equal(isRetriable(error), true);
      return true;
    },
  );
  assert.deepEqual(await readdir(join(dir, 'appends')), [], 'the request is withdrawn');
});

test('a holder opening after one killed mid-append removes what that one took, with a warning', async () => {
  const dir = join(root, 'leftover');
  await mkdir(join(dir, 'appends'), { recursive: true });
  await writeFile(join(dir, 'appends', '0000000001-dead.taken'), '{}');
  const warnings: string[] = [];
  const holder = await EmbeddedLog.open(dir, {
    fsync: 'never',
    logger: { warn: (_fields, message) => warnings.push(message) },
  });
  try {
    for (let i = 0; i < 100 && warnings.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.match(
      warnings.join('\n'),
      /taken by a holder that stopped before answering: removed; its records may or may not be in the log/,
    );
    assert.deepEqual(await readdir(join(dir, 'appends')), []);
  } finally {
    await holder.close();
  }
});
