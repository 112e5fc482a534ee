/**
 * Positional file I/O on raw descriptors. The callback API of `node:fs`
 * costs less per call than `FileHandle`, and segments are addressed by
 * position, never by a shared file pointer.
 */
import { closeSync, fdatasync, fsync, fsyncSync, openSync, read, writev } from 'node:fs';
import { open } from 'node:fs/promises';

/** Reads exactly `length` bytes at `position` (fewer only at end of file). */
export function preadFully(
  fd: number,
  buf: Buffer,
  offset: number,
  length: number,
  position: number,
): Promise<number> {
  return new Promise((resolve, reject) => {
    let done = 0;
    const step = (err: NodeJS.ErrnoException | null, n: number): void => {
      if (err) {
        reject(err);
        return;
      }
      done += n;
      if (n === 0 || done >= length) resolve(done);
      else read(fd, buf, offset + done, length - done, position + done, step);
    };
    read(fd, buf, offset, length, position, step);
  });
}

/** Writes every buffer at `position`, retrying short writes; resolves with the bytes written. */
export function pwritevFully(fd: number, buffers: Buffer[], position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let total = 0;
    for (const b of buffers) total += b.length;
    let written = 0;
    let pending = buffers;
    const step = (err: NodeJS.ErrnoException | null, n: number): void => {
      if (err) {
        reject(err);
        return;
      }
      written += n;
      if (written >= total) resolve(written);
      else if (n === 0) reject(Object.assign(new Error('write made no progress'), { code: 'EIO' }));
      else {
        pending = dropPrefix(pending, n);
        writev(fd, pending, position + written, step);
      }
    };
    writev(fd, pending, position, step);
  });
}

function dropPrefix(buffers: Buffer[], n: number): Buffer[] {
  const out: Buffer[] = [];
  let skip = n;
  for (const b of buffers) {
    if (skip >= b.length) {
      skip -= b.length;
      continue;
    }
    out.push(skip > 0 ? b.subarray(skip) : b);
    skip = 0;
  }
  return out;
}

export function datasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())));
}

export function fullsync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve())));
}

/**
 * Makes a directory entry change (create, rename, unlink) durable, on the
 * thread pool: an fsync takes milliseconds, and a frequent one (a consumer
 * group's offsets, every commit) must not hold the event loop meanwhile.
 */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Makes a directory entry change (create, rename, unlink) durable. */
export function syncDirSync(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
