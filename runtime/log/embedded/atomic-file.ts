/**
 * Small metadata files (topic specs, group offsets) are replaced whole:
 * write a temporary file, optionally fsync it, rename it over the old one.
 * A crash leaves either the old or the new content, never a mix.
 */
import { open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { syncDir } from './io.js';

let sequence = 0;

/**
 * Atomically replaces `path` with `content`. With `durable`, the data and the
 * rename are fsynced so they also survive a power loss.
 *
 * @example
 * ```ts
 * await writeFileAtomic('/data/log/topics/rec.items/topic.json', JSON.stringify(spec), true);
 * ```
 */
export async function writeFileAtomic(path: string, content: string, durable: boolean): Promise<void> {
  const tmp = `${path}.${process.pid}.${++sequence}.tmp`;
  const handle = await open(tmp, 'w');
  try {
    try {
      await handle.writeFile(content);
      if (durable) await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  if (durable) await syncDir(dirname(path));
}
