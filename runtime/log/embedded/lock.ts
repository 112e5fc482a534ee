/**
 * One writer per log directory. Two processes appending to the same segment
 * files would interleave batches and corrupt offsets, so `open` takes a lock
 * file holding the owner's pid. A lock whose pid is no longer running (the
 * owner was killed) is stale and taken over. A log opened `readOnly` writes
 * nothing, so it takes no lock and may open beside the owner.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { StorageError, storageErrorFrom } from '../../errors.js';

const heldHere = new Set<string>();

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function ownerOf(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * The pid of another live process holding `<dir>/LOCK`, if any: whether an
 * open for writing would fail, and who would take appends in its place.
 */
export function lockHolder(dir: string): number | undefined {
  const owner = ownerOf(resolve(dir, 'LOCK'));
  return owner !== undefined && owner !== process.pid && isRunning(owner) ? owner : undefined;
}

/** An acquired lock; `release` removes the lock file. */
export interface DirLock {
  readonly path: string;
  release(): void;
}

/**
 * Takes `<dir>/LOCK`, failing with a StorageError that names the holder.
 *
 * @example
 * ```ts
 * const lock = acquireDirLock('/data/log');
 * try { ... } finally { lock.release(); }
 * ```
 */
export function acquireDirLock(dir: string): DirLock {
  const path = resolve(dir, 'LOCK');
  if (heldHere.has(path)) {
    throw new StorageError(
      `log dir ${dir} is already open in this process; close the other EmbeddedLog first`,
    );
  }
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      try {
        writeSync(fd, `${process.pid}\n`);
      } finally {
        closeSync(fd);
      }
      heldHere.add(path);
      return {
        path,
        release: () => {
          heldHere.delete(path);
          try {
            unlinkSync(path);
          } catch {
            // Already gone: nothing left to release.
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST')
        throw storageErrorFrom(err, `cannot create lock file ${path}`);
    }
    const owner = ownerOf(path);
    // Our own pid in a lock we do not hold is a leftover of an earlier process that had this pid (container restarts).
    if (owner !== undefined && owner !== process.pid && isRunning(owner)) {
      throw new StorageError(
        `log dir ${dir} is locked by running process ${owner} (${path}); only one process may open an embedded log for writing — stop it, or use another data dir`,
      );
    }
    try {
      unlinkSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        throw storageErrorFrom(err, `cannot remove stale lock file ${path}`);
    }
  }
  throw new StorageError(`log dir ${dir}: another process keeps taking the lock ${path}`);
}
