/**
 * A cross-process exclusive lock on the local file system: a lock file
 * created with O_EXCL that holds the owner's pid. A lock whose owner has died
 * (kill -9 mid-write) is taken over, so a crash never wedges the registry.
 *
 * @example
 * ```ts
 * await withFileLock('/data/registry/registry.lock', async () => rewriteRegistryFile());
 * ```
 */
import { randomUUID } from 'node:crypto';
import { open, readFile, stat, unlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { getEnvironmentData, setEnvironmentData } from 'node:worker_threads';
import { StorageError, storageErrorFrom } from '../../errors.js';

/** Where the process's lock token is shared with its worker threads. */
const TOKEN_KEY = 'recstream.fileLockToken';

/** A lock file with no readable pid is treated as abandoned after this long. */
const UNREADABLE_LOCK_STALE_MS = 5_000;

// A restarted container often gets the pid its crashed predecessor had (pid 1),
// so a lock is ours only if it also carries this process's token. One token
// for every thread of the process: a worker thread (the simulator's writer)
// that drew its own would take the main thread's live lock for abandoned,
// break it, and clear the temporary file the main thread is about to rename.
const PROCESS_TOKEN = processToken();

function processToken(): string {
  const inherited = getEnvironmentData(TOKEN_KEY);
  if (typeof inherited === 'string') return inherited;
  const token = randomUUID();
  setEnvironmentData(TOKEN_KEY, token);
  return token;
}

/**
 * Runs `fn` while holding the lock at `path`.
 *
 * @throws StorageError when another live process holds the lock for longer than `timeoutMs`
 */
export async function withFileLock<T>(path: string, fn: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  await acquire(path, timeoutMs);
  try {
    return await fn();
  } finally {
    await unlink(path).catch(() => undefined);
  }
}

async function acquire(path: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(path, 'wx');
      try {
        await handle.writeFile(`${process.pid} ${PROCESS_TOKEN}\n`);
      } finally {
        await handle.close();
      }
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw storageErrorFrom(err, `locking ${path}`);
    }
    if (await isAbandoned(path)) {
      await unlink(path).catch(() => undefined);
      continue;
    }
    if (Date.now() > deadline) {
      const owner = (await readFile(path, 'utf8').catch(() => '')).split(' ')[0]?.trim() || 'unknown';
      throw new StorageError(
        `${path} has been held by process ${owner} for over ${timeoutMs} ms; if no recstream process is running, delete the file`,
        undefined,
        true,
      );
    }
    await sleep(Math.min(5 * 2 ** Math.min(attempt, 4), 50) + Math.random() * 5);
  }
}

async function isAbandoned(path: string): Promise<boolean> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return false; // released in the meantime: just try again
  }
  const [pidText, token] = text.trim().split(' ');
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) {
    const info = await stat(path).catch(() => undefined);
    return info !== undefined && Date.now() - info.mtimeMs > UNREADABLE_LOCK_STALE_MS;
  }
  if (pid === process.pid) return token !== PROCESS_TOKEN;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
