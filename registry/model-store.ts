/**
 * Where model and index artifacts live: one interface, so a
 * shared volume today and object storage later are a back-end each. The
 * file back-end keeps them under `<data-dir>/artifacts/<kind>/<name>/v<version>/`
 * with `file://` URIs.
 *
 * A version's directory appears whole or not at all: files are copied into
 * a temporary directory beside it, hashed, fsynced, and renamed into place
 * in one step, the parent directory fsynced after; what a crash leaves
 * behind is a `.tmp-*` directory that the next `put` of the same version
 * removes.
 *
 * URIs come from topics, which anyone who can produce to them writes: every
 * reader turns one into a path through `localPath`, which resolves it
 * (symlinks and `..` included) and refuses one outside the artifacts root
 * (`ArtifactUriError`).
 *
 * @example
 * ```ts
 * const store = new FileArtifactStore('/data/artifacts');
 * const artifacts = await store.put('models', 'recstream', 3, '/tmp/out');
 * await store.verify(artifacts);            // throws ArtifactIntegrityError on a changed file
 * const dir = store.localPath(artifacts[0]!.uri); // throws ArtifactUriError outside /data/artifacts
 * ```
 */
import { createHash } from 'node:crypto';
import { createReadStream, realpathSync } from 'node:fs';
import { copyFile, mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { syncDir } from '../runtime/log/embedded/io.js';
import type { Artifact, ModelVersion } from '../schemas/generated/types.js';
import { ArtifactIntegrityError, ArtifactUriError } from './errors.js';

export interface ArtifactStore {
  /** Stores every file of `sourceDir` as version `version` of `name`; returns them with sha256 and size. */
  put(kind: string, name: string, version: number, sourceDir: string): Promise<Artifact[]>;
  /** Re-hashes each artifact; throws ArtifactIntegrityError naming the first that is missing or changed. */
  verify(artifacts: readonly Artifact[]): Promise<void>;
  /**
   * A local path for an artifact URI (the file back-end: the file itself,
   * symlinks resolved); throws `ArtifactUriError` for a URI outside the
   * store's root.
   */
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
      await syncFile(join(temp, file));
      artifacts.push({
        name: file,
        uri: pathToFileURL(join(target, file)).href,
        sha256: await sha256File(join(temp, file)),
        size_bytes: (await stat(join(temp, file))).size,
      });
    }
    await syncDir(temp);
    // A version directory left by an attempt that never published is not a version: replace it.
    await rm(target, { recursive: true, force: true });
    await rename(temp, target);
    // The rename is durable once the parent is: a power loss then leaves the whole version, never an empty name.
    await syncDir(parent);
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
    return confinedArtifactPath(this.root, uri);
  }
}

/** The artifact store of a data dir: files under `<data-dir>/artifacts`, where every role looks for them. */
export function artifactStore(dataDir: string): FileArtifactStore {
  return new FileArtifactStore(join(dataDir, 'artifacts'));
}

/**
 * The bytes of the artifact at `uri`, read once (through `localPath`, so
 * confined to the root) and refused with `ArtifactIntegrityError` unless
 * they hash to `sha256`: parse these bytes, never the file again, and what
 * is used is what was checked. `what` names the artifact in errors.
 *
 * @example
 * ```ts
 * const bytes = await readArtifact(store, index.uri, index.sha256, `index ${index.index} v${index.version} manifest`);
 * const manifest = JSON.parse(bytes.toString('utf8')) as IndexManifest;
 * ```
 */
export async function readArtifact(
  store: ArtifactStore,
  uri: string,
  sha256: string,
  what: string,
): Promise<Buffer> {
  const path = store.localPath(uri);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new ArtifactIntegrityError(`${what} is missing at ${path}`, error);
  }
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== sha256)
    throw new ArtifactIntegrityError(`${what} at ${path} has sha256 ${actual}, expected ${sha256}`);
  return bytes;
}

/**
 * The bytes of a model version's artifact `name` (`dataset.json`,
 * `item_tower.onnx`, …), hashed as read (`readArtifact`); refused when the
 * version lists no such artifact.
 *
 * @example
 * ```ts
 * const manifest = JSON.parse((await readModelArtifact(store, model, 'dataset.json')).toString('utf8'));
 * ```
 */
export function readModelArtifact(store: ArtifactStore, model: ModelVersion, name: string): Promise<Buffer> {
  const artifact = model.artifacts.find((a) => a.name === name);
  if (artifact === undefined)
    throw new ArtifactIntegrityError(`${model.model} v${model.version} lists no artifact ${name}`);
  return readArtifact(store, artifact.uri, artifact.sha256, `artifact ${name}`);
}

/** Flushes a file's data to disk (fsync), so a rename that publishes it never names a hole. */
async function syncFile(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * The real path of an artifact URI when it lies under `root`; the one check
 * every reader of a URI from a topic goes through. The URI must be
 * `file://`; its path is resolved, `..` and symlinks included (a part that
 * does not exist yet cannot be a link), and must lie strictly inside the
 * root's own real path. Otherwise `ArtifactUriError` names the URI, where
 * it leads and the root. The path returned is the resolved one, so what is
 * read is what was checked.
 *
 * @example
 * ```ts
 * confinedArtifactPath('/data/artifacts', 'file:///data/artifacts/models/m/v1/model.npz'); // that path
 * confinedArtifactPath('/data/artifacts', 'file:///etc/passwd');                          // throws ArtifactUriError
 * ```
 */
export function confinedArtifactPath(root: string, uri: string): string {
  const realRoot = realPathOf(resolve(root));
  let path: string;
  try {
    if (!uri.startsWith('file://')) throw new Error('not a file:// URI');
    path = fileURLToPath(uri);
  } catch (error) {
    throw new ArtifactUriError(
      `artifact URI ${uri} is not a file:// URI of a local path (${(error as Error).message}); artifacts are read only under the artifacts root ${realRoot}`,
    );
  }
  const real = realPathOf(resolve(path));
  if (!real.startsWith(realRoot + sep))
    throw new ArtifactUriError(
      `artifact URI ${uri} resolves to ${real}, outside the artifacts root ${realRoot}: refused`,
    );
  return real;
}

/**
 * A file name from an artifact's manifest (an index manifest's `files`),
 * as a path in that artifact's directory `dir`; `ArtifactUriError` for a
 * name that is not one plain file name (a separator, `..`), which would
 * lead out of the directory.
 *
 * @example
 * ```ts
 * artifactFile('/data/artifacts/indexes/items/v2', 'index.usearch'); // '/data/artifacts/indexes/items/v2/index.usearch'
 * artifactFile('/data/artifacts/indexes/items/v2', '../../x');        // throws ArtifactUriError
 * ```
 */
export function artifactFile(dir: string, name: string): string {
  if (name === '' || name === '.' || name === '..' || basename(name) !== name)
    throw new ArtifactUriError(
      `artifact file name ${JSON.stringify(name)} in ${dir} is not a plain file name: refused`,
    );
  return join(dir, name);
}

/** `path` with symlinks resolved as far as it exists; the parts that do not exist yet appended as they are. */
function realPathOf(path: string): string {
  const missing: string[] = [];
  let at = path;
  for (;;) {
    try {
      return join(realpathSync(at), ...missing.reverse());
    } catch (error) {
      const parent = dirname(at);
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || parent === at) throw error;
      missing.push(basename(at));
      at = parent;
    }
  }
}
