/**
 * The registry's file lock across the threads of one process: a worker
 * thread (the simulator's log writer opens the registry in one) waits for a
 * lock the main thread holds instead of taking it for abandoned.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { withFileLock } from './file-lock.js';

test("a worker thread waits for the main thread's lock instead of breaking it", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-file-lock-'));
  const path = join(dir, 'registry.lock');
  const order: string[] = [];
  try {
    let worker: Worker | undefined;
    let workerDone: Promise<void> | undefined;
    await withFileLock(path, async () => {
      worker = new Worker(
        `import { parentPort, workerData } from 'node:worker_threads';
         const { withFileLock } = await import(workerData.module);
         await withFileLock(workerData.path, async () => parentPort.postMessage('worker holds the lock'));`,
        { eval: true, workerData: { module: new URL('./file-lock.js', import.meta.url).href, path } },
      );
      workerDone = new Promise((resolve, reject) => {
        worker!.on('message', (m: string) => order.push(m));
        worker!.once('error', reject);
        worker!.once('exit', () => resolve());
      });
      // Long enough for the worker to meet the lock and decide about it.
      await new Promise((r) => setTimeout(r, 500));
      order.push('main releases the lock');
    });
    await workerDone;
    assert.deepEqual(order, ['main releases the lock', 'worker holds the lock']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
