/**
 * Where model and index artifacts live (DESIGN.md §4): one interface, so a
 * shared volume today and object storage later are a back-end each. The
 * file back-end keeps them under `<data-dir>/artifacts/<kind>/<name>/v<version>/`
 * with `file://` URIs.
 *
 * A version's directory appears whole or not at all: files are copied into
 * a temporary directory beside it, hashed, and renamed into place in one
 * step; what a crash leaves behind is a `.tmp-*` directory that the next
 * `put` of the same version removes.
 *
 * @example
 * ```ts
 * const store = new FileArtifactStore('/data/artifacts');
 * const artifacts = await store.put('models', 'recstream', 3, '/tmp/out');
 * await store.verify(artifacts);            // throws ArtifactIntegrityError on a changed file
 * const dir = store.localPath(artifacts[0]!.uri);
 * ```
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ArtifactIntegrityError } from '../runtime/errors.js';
import type { Artifact } from '../schemas/generated/types.js';

export interface ArtifactStore {
  /** Stores every file of `sourceDir` as version `version` of `name`; returns them with sha256 and size. */
  put(kind: string, name: string, version: number, sourceDir: string): Promise<Artifact[]>;
  /** Re-hashes each artifact; throws ArtifactIntegrityError naming the first that is missing or changed. */
  verify(artifacts: readonly Artifact[]): Promise<void>;
  /** A local path for an artifact URI (the file back-end: the file itself). */
  localPath(uri: string): string;
}

/** sha256 of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export class FileArtifactStore implements ArtifactStore {
  constructor(private readonly root: string) {}

  async put(kind: string, name: string, version: number, sourceDir: string): Promise<Artifact[]> {
    const target = join(this.root, kind, name, `v${version}`);
    const parent = dirname(target);
    await mkdir(parent, { recursive: true });
    const temp = join(parent, `.tmp-v${version}`);
    await rm(temp, { recursive: true, force: true });
    await mkdir(temp);
    const names = (await readdir(sourceDir, { withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => e.name)
      .sort();
    const artifacts: Artifact[] = [];
    for (const file of names) {
      await copyFile(join(sourceDir, file), join(temp, file));
      artifacts.push({
        name: file,
        uri: pathToFileURL(join(target, file)).href,
        sha256: await sha256File(join(temp, file)),
        size_bytes: (await stat(join(temp, file))).size,
      });
    }
    // A version directory left by an attempt that never published is not a version: replace it.
    await rm(target, { recursive: true, force: true });
    await rename(temp, target);
    return artifacts;
  }

  async verify(artifacts: readonly Artifact[]): Promise<void> {
    for (const artifact of artifacts) {
      const path = this.localPath(artifact.uri);
      let actual: string;
      try {
        actual = await sha256File(path);
      } catch (error) {
        throw new ArtifactIntegrityError(`artifact ${artifact.name} is missing at ${path}`, error);
      }
      if (actual !== artifact.sha256)
        throw new ArtifactIntegrityError(
          `artifact ${artifact.name} at ${path} has sha256 ${actual}, expected ${artifact.sha256}`,
        );
    }
  }

  localPath(uri: string): string {
    if (!uri.startsWith('file://'))
      throw new ArtifactIntegrityError(`artifact URI ${uri} is not a file:// URI this store can read`);
    return fileURLToPath(uri);
  }
}
