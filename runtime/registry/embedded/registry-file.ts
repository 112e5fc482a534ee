/**
 * The embedded registry's one file, `<dir>/registry.json`. Writers take a
 * cross-process lock, re-read, change and replace the file atomically (write
 * a temporary file, fsync it, rename it over the old one, fsync the
 * directory), so a kill -9 at any point leaves either the old or the new
 * registry, never a torn one. Readers in other processes see a change by the
 * file's identity (inode, size, mtime), which a rename always alters.
 *
 * @example
 * ```ts
 * const file = new RegistryFile('/data/registry');
 * const state = await file.current();
 * const id = await file.update((draft) => { draft.schemas.push(text); return draft.schemas.length; });
 * ```
 */
import { randomBytes } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { storageErrorFrom } from '../../errors.js';
import { withFileLock } from './file-lock.js';
import { emptyState, parseState, type RegistryState, serializeState } from './state.js';

interface Snapshot {
  readonly state: RegistryState;
  readonly identity: string;
}

export class RegistryFile {
  readonly path: string;
  private readonly lockPath: string;
  private snapshot: Snapshot | undefined;
  // Serialises this process's writers; the file lock serialises processes.
  private writing: Promise<unknown> = Promise.resolve();

  constructor(readonly dir: string) {
    this.path = join(dir, 'registry.json');
    this.lockPath = join(dir, 'registry.lock');
  }

  /** Creates the directory when needed and removes temporary files a crashed writer left. */
  async init(): Promise<void> {
    try {
      await mkdir(this.dir, { recursive: true });
    } catch (err) {
      throw storageErrorFrom(err, `creating the schema registry directory ${this.dir}`);
    }
    // Under the lock no write is in progress, so every temporary file is a leftover.
    await withFileLock(this.lockPath, async () => {
      const names = await readdir(this.dir).catch(() => [] as string[]);
      const leftovers = names.filter((n) => n.startsWith('registry.json.') && n.endsWith('.tmp'));
      await Promise.all(leftovers.map((n) => unlink(join(this.dir, n)).catch(() => undefined)));
    });
  }

  /**
   * The registry as the file holds it now. Costs one stat when nothing changed.
   * The result must not be mutated.
   */
  async current(): Promise<RegistryState> {
    const info = await this.statFile();
    if (info === undefined) return emptyState();
    const identity = identityOf(info);
    if (this.snapshot?.identity === identity) return this.snapshot.state;
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      throw storageErrorFrom(err, `reading ${this.path}`);
    }
    const state = parseState(text, this.path);
    // A writer may have replaced the file between the stat and the read; then the next call reads again.
    this.snapshot = { state, identity };
    return state;
  }

  /**
   * Applies `change` to a private copy of the latest registry and, when the
   * copy differs afterwards, replaces the file with it. Returns what `change`
   * returned; a throw from `change` leaves the file untouched.
   */
  update<T>(change: (draft: RegistryState) => T): Promise<T> {
    const run = this.writing.then(() => withFileLock(this.lockPath, () => this.apply(change)));
    this.writing = run.catch(() => undefined);
    return run;
  }

  private async apply<T>(change: (draft: RegistryState) => T): Promise<T> {
    const latest = await this.current();
    const before = serializeState(latest);
    const draft = structuredClone(latest);
    const result = change(draft);
    const after = serializeState(draft);
    if (after !== before) await this.replace(after, draft);
    return result;
  }

  private async replace(text: string, state: RegistryState): Promise<void> {
    const tmp = `${this.path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      const handle = await open(tmp, 'w');
      try {
        await handle.writeFile(text);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, this.path);
      const dir = await open(this.dir, 'r');
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw storageErrorFrom(err, `writing ${this.path}`);
    }
    const info = await this.statFile();
    if (info !== undefined) this.snapshot = { state, identity: identityOf(info) };
  }

  private async statFile(): Promise<BigIntStats | undefined> {
    try {
      return await stat(this.path, { bigint: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw storageErrorFrom(err, `reading ${this.path}`);
    }
  }
}

function identityOf(info: BigIntStats): string {
  return `${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`;
}
