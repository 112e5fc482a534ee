/**
 * The checks a serving bundle passes before it serves: the lineage of its
 * model, index and delta (each built for the others), and the sha256 of
 * every artifact it reads against the one its event pins. Files are hashed
 * on the bundle's own thread, so hashing hundreds of megabytes never holds
 * requests up; every URI goes through the store's `localPath`, which
 * refuses one outside the artifacts root, and index file names must be
 * plain names in the index's directory (`artifactFile`).
 *
 * @example
 * ```ts
 * checkLineage(model, index, delta);
 * const { indexDir, modelDir, pinned } = locateArtifacts(store, model, index);
 * await verifyOnThread(thread, unloadedArtifacts(store, model));
 * ```
 */
import { dirname } from 'node:path';
import { FEATURE_SERVICE, MODEL_ARTIFACTS, VOCABULARY_KINDS } from '../../features/feature-service.js';
import type { IndexManifest } from '../../indexer/indexer.js';
import type { KeyedItems } from '../../inference/keyed-items.js';
import type { SessionThread } from '../../inference/session-thread.js';
import type { ReadIndexManifest, ReadJson } from '../../inference/session-worker.js';
import { ArtifactIntegrityError } from '../../registry/errors.js';
import { type ArtifactStore, artifactFile, readArtifact } from '../../registry/model-store.js';
import type { Config } from '../../runtime/config.js';
import type { IndexVersion, ModelVersion } from '../../schemas/generated/types.js';
import { LineageMismatchError } from '../errors.js';

/** The model's files a bundle loads, each hashed from the bytes it is loaded from. */
export const LOADED_FILES: readonly string[] = [
  ...Object.values(FEATURE_SERVICE).map((m) => m.file),
  MODEL_ARTIFACTS.dataset,
];

/** A file to hash, with the messages it is refused with. */
export interface ExpectedFile {
  readonly path: string;
  readonly sha256: string;
  readonly missing: (path: string) => string;
  readonly differs: (path: string, actual: string) => string;
}

/**
 * Refuses a pair whose index is not a full index of `model`, or a delta
 * that is not of that index for that model (`LineageMismatchError`).
 */
export function checkLineage(
  model: ModelVersion,
  index: IndexVersion,
  delta: IndexVersion | undefined,
): void {
  if (index.kind !== 'full')
    throw new LineageMismatchError(
      `index ${index.index} v${index.version} is a ${index.kind}, not a full index`,
    );
  if (index.model !== model.model || index.model_version !== model.version)
    throw new LineageMismatchError(
      `index ${index.index} v${index.version} was built for ${index.model} v${index.model_version}, not ${model.model} v${model.version}`,
    );
  if (delta !== undefined && (delta.base_version !== index.version || delta.model_version !== model.version))
    throw new LineageMismatchError(
      `delta ${delta.index} v${delta.version} is of base v${delta.base_version} for ${delta.model} v${delta.model_version}, not of v${index.version} for v${model.version}`,
    );
}

/**
 * Where the model's and the index's files lie, and the sha256 the model
 * pins for each of its files by name. Refuses a model with no artifacts or
 * one that pins no sha256 for a file the bundle loads.
 */
export function locateArtifacts(
  store: ArtifactStore,
  model: ModelVersion,
  index: IndexVersion,
): { indexDir: string; modelDir: string; pinned: Record<string, string> } {
  if (model.artifacts.length === 0)
    throw new ArtifactIntegrityError(`${model.model} v${model.version} has no artifacts`);
  const indexDir = dirname(store.localPath(index.uri));
  const modelDir = dirname(store.localPath(model.artifacts[0]!.uri));
  const pinned = Object.fromEntries(model.artifacts.map((artifact) => [artifact.name, artifact.sha256]));
  const unpinned = LOADED_FILES.filter((file) => pinned[file] === undefined);
  if (unpinned.length > 0)
    throw new ArtifactIntegrityError(
      `${model.model} v${model.version} lists no artifact ${unpinned.join(', ')}: nothing to check it against`,
    );
  return { indexDir, modelDir, pinned };
}

/** The model's artifacts the bundle does not load, so hashes up front (the loaded ones are hashed as read). */
export function unloadedArtifacts(store: ArtifactStore, model: ModelVersion): ExpectedFile[] {
  return model.artifacts
    .filter((artifact) => !LOADED_FILES.includes(artifact.name))
    .map((artifact) => ({
      path: store.localPath(artifact.uri),
      sha256: artifact.sha256,
      missing: (path) => `artifact ${artifact.name} is missing at ${path}`,
      differs: (path, actual) =>
        `artifact ${artifact.name} at ${path} has sha256 ${actual}, expected ${artifact.sha256}`,
    }));
}

/** The index's files other than the searched `served` one (hashed as it is opened). */
export function unservedIndexFiles(
  indexDir: string,
  manifest: Pick<IndexManifest, 'files'>,
  served: string,
): ExpectedFile[] {
  return Object.entries(manifest.files)
    .filter(([name]) => name !== served)
    .map(([file, sha256]) => ({
      path: artifactFile(indexDir, file),
      sha256,
      missing: () => `index file ${file} is missing at ${indexDir}`,
      differs: (_, actual) => `index file ${file} in ${indexDir} has sha256 ${actual}, expected ${sha256}`,
    }));
}

/** Hashes the files on the bundle's thread; refuses the first that cannot be read or differs. */
export async function verifyOnThread(thread: SessionThread, files: readonly ExpectedFile[]): Promise<void> {
  const hashes = await thread.sha256(files.map((file) => file.path));
  files.forEach((file, i) => {
    const hash = hashes[i]!;
    if ('error' in hash) throw new ArtifactIntegrityError(file.missing(file.path), new Error(hash.error));
    if (hash.sha256 !== file.sha256) throw new ArtifactIntegrityError(file.differs(file.path, hash.sha256));
  });
}

/**
 * The file of a full index version that is searched: its f16 copy when
 * `copy` is f16 and the indexer wrote one, else the f32 `index.usearch`.
 * An i8 copy is never searched: usearch normalises vectors to convert them
 * to i8, so that copy ranks by cosine, not by the model's inner product.
 *
 * @example
 * ```ts
 * servedIndexFile({ quantized: { file: 'index-f16.usearch', quantization: 'f16', recall_at_10: 0.98 } }, 'f16');
 * // 'index-f16.usearch'
 * ```
 */
export function servedIndexFile(
  manifest: Pick<IndexManifest, 'quantized'>,
  copy: Config['serveAnnCopy'],
): string {
  const quantized = manifest.quantized;
  return copy === 'f16' && quantized?.quantization === 'f16' ? quantized.file : 'index.usearch';
}

/**
 * An index version's manifest, read and parsed on the bundle's thread (2.9 MB
 * on 100,000 items held requests ~25–40 ms when parsed here), its items laid
 * over the item vocabulary of the model's `dataset.json` at `datasetPath`
 * (`keyed-items.ts`), and that `dataset.json` with its vocabularies as
 * columns. Refused when missing, unreadable, not an index manifest, or its
 * sha256 is not the event's.
 */
export async function readIndexManifest(
  thread: SessionThread,
  store: ArtifactStore,
  version: IndexVersion,
  datasetPath: string,
): Promise<{ manifest: Omit<IndexManifest, 'items'>; items: KeyedItems; dataset: ReadJson }> {
  const path = store.localPath(version.uri);
  let read: ReadIndexManifest;
  try {
    read = await thread.readIndexManifest(
      path,
      datasetPath,
      VOCABULARY_KINDS.map((kind) => `vocabularies.${kind}`),
    );
  } catch (error) {
    throw new ArtifactIntegrityError(
      `index ${version.index} v${version.version} manifest is missing or unreadable at ${path}: ${(error as Error).message}`,
      error,
    );
  }
  if (read.sha256 !== version.sha256)
    throw new ArtifactIntegrityError(
      `index ${version.index} v${version.version} manifest ${path} has sha256 ${read.sha256}, expected ${version.sha256}`,
    );
  return { manifest: read.value as Omit<IndexManifest, 'items'>, items: read.items, dataset: read.dataset };
}

/** An index version's manifest file, parsed once its sha256 matches the event's; refused when the bytes differ. */
export async function readVerified<T>(store: ArtifactStore, version: IndexVersion): Promise<T> {
  const what = `index ${version.index} v${version.version} manifest`;
  return JSON.parse((await readArtifact(store, version.uri, version.sha256, what)).toString('utf8')) as T;
}
