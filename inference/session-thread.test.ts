import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { getPriority } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ArtifactIntegrityError } from '../registry/errors.js';
import { skipWhenMissing } from '../test/skips.js';
import { SessionThread } from './session-thread.js';
import { withTempDir } from './test-support.js';
import { canRestorePriority } from './thread-priority.js';

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

/** Field `field` (1-based, as proc(5) numbers them) of each of this process's threads' `/proc/self/task/<tid>/stat`. */
async function threadStatField(field: number): Promise<number[]> {
  const tasks = await readdir('/proc/self/task');
  const stats = await Promise.all(
    tasks.map((tid) => readFile(`/proc/self/task/${tid}/stat`, 'utf8').catch(() => '')),
  );
  // Fields after the command's closing parenthesis start at field 3 (state).
  return stats
    .filter((stat) => stat !== '')
    .map((stat) => Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[field - 3]));
}

/** The nice value of each of this process's threads (field 19). */
const threadNiceValues = () => threadStatField(19);

test('a background thread runs at the lowest priority until it is brought to the foreground', {
  skip: skipWhenMissing(
    canRestorePriority(getPriority()) ? undefined : 'this process may not bring a lowered thread back',
  ),
}, async () => {
  const mine = getPriority();
  const before = await threadNiceValues();
  assert.ok(!before.includes(19), `no thread starts lowered: ${before}`);
  const thread = new SessionThread({ background: true });
  try {
    // Answered once the worker has started and lowered itself.
    await thread.sha256([]);
    const lowered = await threadNiceValues();
    assert.equal(lowered.filter((nice) => nice === 19).length, 1, `one thread lowered: ${lowered}`);
    assert.equal(getPriority(), mine, 'the calling thread keeps its priority');
    await thread.foreground();
    const restored = await threadNiceValues();
    assert.ok(!restored.includes(19), `back to the priority it started from: ${restored}`);
  } finally {
    await thread.endIfIdle();
  }
});

test('a thread that is not started in the background stays at the priority it started from', async () => {
  const thread = new SessionThread();
  try {
    await thread.sha256([]);
    assert.ok(!(await threadNiceValues()).includes(19));
  } finally {
    await thread.endIfIdle();
  }
});

test("an index manifest read on the thread comes back hashed, without its items, which are laid over the model's item vocabulary", async () => {
  await withTempDir(async (dir) => {
    const manifest = {
      format: 1,
      model: 'm',
      items: [
        ['b', 2, 20],
        ['x', 9, 90],
      ],
      files: {},
    };
    const bytes = Buffer.from(JSON.stringify(manifest));
    await writeFile(join(dir, 'index.json'), bytes);
    await writeFile(
      join(dir, 'dataset.json'),
      JSON.stringify({ vocabularies: { item: ['<unk>', 'a', 'b'] } }),
    );
    await writeFile(join(dir, 'other.json'), JSON.stringify({ items: [['a', 'one', 1]] }));
    const thread = new SessionThread();
    try {
      const read = await thread.readIndexManifest(join(dir, 'index.json'), join(dir, 'dataset.json'));
      assert.equal(read.sha256, createHash('sha256').update(bytes).digest('hex'));
      assert.deepEqual(read.value, { format: 1, model: 'm', files: {} });
      assert.equal(read.items.vocabularySize, 3);
      assert.equal(read.items.indexedTs[2], 20);
      assert.equal(read.items.others.length, 1);
      await assert.rejects(
        thread.readIndexManifest(join(dir, 'other.json'), join(dir, 'dataset.json')),
        (error: unknown) => error instanceof ArtifactIntegrityError && /\["a","one",1\]/.test(error.message),
      );
      await assert.rejects(
        thread.readIndexManifest(join(dir, 'index.json'), join(dir, 'index.json')),
        (error: unknown) =>
          error instanceof ArtifactIntegrityError && /no item vocabulary/.test(error.message),
      );
    } finally {
      await thread.endIfIdle();
    }
  });
});

test("the thread's event-loop delay shows a turn that kept it busy, and the next window starts after it", async () => {
  await withTempDir(async (dir) => {
    // Hashing runs as one synchronous turn of the thread: 96 MB is a turn of tens of milliseconds or more.
    const path = join(dir, 'large');
    await writeFile(path, Buffer.alloc(96 << 20, 7));
    const thread = new SessionThread();
    try {
      // A reset also restarts the monitor's clock, which its next tick sets without recording:
      // let it tick after the thread is up and after the reset, before the turn.
      await thread.loopDelay();
      await new Promise((resolve) => setTimeout(resolve, 30));
      await thread.loopDelay();
      await new Promise((resolve) => setTimeout(resolve, 30));
      const started = performance.now();
      await thread.sha256([path]);
      const turnSeconds = (performance.now() - started) / 1000;
      // The monitor records a late tick when it fires, after the turn: a question sent at once
      // can be answered before that (a delay it misses goes into the next window).
      await new Promise((resolve) => setTimeout(resolve, 30));
      const busy = await thread.loopDelay();
      // The delay a 10 ms timer saw is the turn, less the timer's own period at most.
      assert.ok(
        busy.maxSeconds >= turnSeconds - 0.03,
        `${busy.maxSeconds} s against a ${turnSeconds} s turn`,
      );
      assert.ok(busy.p99Seconds <= busy.maxSeconds);
      const next = await thread.loopDelay();
      assert.ok(next.maxSeconds < busy.maxSeconds, `the window was reset: ${next.maxSeconds} s`);
    } finally {
      await thread.endIfIdle();
    }
  });
});
