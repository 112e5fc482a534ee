/**
 * Helpers shared by the embedded log's tests: scratch directories, a
 * logger that records warnings instead of printing them, and a digest of a
 * directory tree to show that a reader changed nothing.
 *
 * @example
 * ```ts
 * const { dir, cleanup } = await scratchDir();
 * const logger = captureLogger();
 * const log = await EmbeddedLog.open(dir, { logger });
 * ```
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LogWarnSink } from './options.js';

export async function scratchDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-log-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export interface CapturedWarning {
  readonly fields: Record<string, unknown>;
  readonly message: string;
}

export function captureLogger(): LogWarnSink & { readonly warnings: CapturedWarning[] } {
  const warnings: CapturedWarning[] = [];
  return { warnings, warn: (fields, message) => warnings.push({ fields, message }) };
}

/**
 * Digest of every directory and file under `dir`: names, sizes, modification
 * times and contents. Equal digests mean nothing was created, removed,
 * written or truncated in between.
 */
export async function treeDigest(dir: string): Promise<string> {
  const hash = createHash('sha256');
  const walk = async (rel: string): Promise<void> => {
    hash.update(`d ${rel} ${(await stat(join(dir, rel))).mtimeMs}\n`);
    const entries = (await readdir(join(dir, rel), { withFileTypes: true })).sort((a, b) =>
      a.name < b.name ? -1 : 1,
    );
    for (const entry of entries) {
      const path = join(rel, entry.name);
      if (entry.isDirectory()) {
        await walk(path);
        continue;
      }
      const bytes = await readFile(join(dir, path));
      hash.update(`f ${path} ${bytes.length} ${(await stat(join(dir, path))).mtimeMs}\n`);
      hash.update(bytes);
    }
  };
  await walk('.');
  return hash.digest('hex');
}
