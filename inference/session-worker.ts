/**
 * The worker-thread side of `SessionThread`: it creates, runs and frees
 * `OnnxModel`s the thread that started it asks for, one message each, and
 * answers with the outputs or the error's class and message. onnxruntime
 * creates a session synchronously (parsing and optimising the graph, tens
 * to hundreds of milliseconds), so a responder that created sessions on
 * its own thread stalled every request meanwhile; here only this thread
 * waits.
 *
 * It also holds ANN indexes (`AnnIndex`) and searches them: an HNSW search
 * of the serving world costs ~0.5–0.7 ms of CPU, the largest single cost
 * of a request, and here it runs beside the request thread instead of on
 * it. Index requests are answered synchronously in arrival order, so a
 * search sees every change asked before it.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { ArtifactIntegrityError } from '../registry/errors.js';
import { AnnIndex, type AnnIndexConfig } from './ann-index.js';
import { InferenceError } from './errors.js';
import { type LiftedArray, liftArray } from './json-lift.js';
import { type KeyedItems, keyItems } from './keyed-items.js';
import type { Column, SessionOptions } from './onnx-session.js';
import { OnnxModel } from './onnx-session.js';
import { lowerThreadPriority } from './thread-priority.js';

/** What the thread that owns the worker asks for. */
export type SessionRequest =
  | {
      readonly op: 'load';
      readonly id: number;
      readonly path: string;
      readonly options: SessionOptions;
      /** The sha256 the model's bytes must have: read once, hashed, and the session made from those bytes. */
      readonly sha256?: string;
    }
  | {
      readonly op: 'run';
      readonly id: number;
      readonly model: number;
      readonly inputs: Readonly<Record<string, Column>>;
      readonly rows?: number;
    }
  | { readonly op: 'close'; readonly id: number; readonly model: number }
  | {
      readonly op: 'index-open';
      readonly id: number;
      readonly path: string;
      readonly config: Partial<AnnIndexConfig>;
      /** The sha256 the index file must have, hashed through the descriptor it is then loaded from. */
      readonly sha256?: string;
    }
  | {
      readonly op: 'index-search';
      readonly id: number;
      readonly index: number;
      readonly query: Float32Array;
      readonly count: number;
    }
  | {
      readonly op: 'index-change';
      readonly id: number;
      readonly index: number;
      readonly upsert?: { readonly keys: readonly number[]; readonly vectors: Float32Array };
      readonly remove?: readonly number[];
    }
  | { readonly op: 'index-close'; readonly id: number; readonly index: number }
  | {
      readonly op: 'read-index-manifest';
      readonly id: number;
      readonly path: string;
      readonly datasetPath: string;
      readonly lift: readonly string[];
    }
  | { readonly op: 'sha256'; readonly id: number; readonly paths: readonly string[] }
  | { readonly op: 'foreground'; readonly id: number }
  | { readonly op: 'loop-delay'; readonly id: number };

/** How the thread that owns the worker starts it. */
export interface SessionWorkerData {
  /** Start at the lowest priority, until asked `foreground` (`thread-priority.ts`). */
  readonly background?: boolean;
}

/** The thread's event-loop delay since the previous `loop-delay` request, in seconds. */
export interface LoopDelay {
  readonly maxSeconds: number;
  readonly p99Seconds: number;
}

/** A file's sha256 as hashed on the thread, or why it could not be read. */
export type FileHash = { readonly sha256: string } | { readonly error: string };

/** A JSON file read on the thread: its sha256, and its value with the arrays at the lifted paths taken out. */
export interface ReadJson {
  readonly sha256: string;
  readonly value: unknown;
  /** By dotted path: the arrays taken out of `value`, as columns (`json-lift.ts`). */
  readonly lifted: Readonly<Record<string, LiftedArray>>;
}

/**
 * An index manifest read on the thread: its sha256, its value without its
 * items, its items laid over the item vocabulary of the model's
 * `dataset.json` (`keyed-items.ts`), and that `dataset.json` as read.
 */
export interface ReadIndexManifest {
  readonly sha256: string;
  readonly value: unknown;
  readonly items: KeyedItems;
  readonly dataset: ReadJson;
}

/** The error classes an answer can carry, re-created on the owning thread. */
export type SessionErrorKind = 'inference' | 'artifact' | 'other';

export type SessionReply =
  | {
      readonly id: number;
      readonly ok: true;
      readonly model?: number;
      readonly inputs?: OnnxModel['inputs'];
      readonly outputs?: OnnxModel['outputs'];
      readonly out?: Record<string, Float32Array>;
      readonly index?: number;
      readonly config?: Required<AnnIndexConfig>;
      /** The index's size after an `index-open` or `index-change`. */
      readonly size?: number;
      readonly keys?: Float64Array;
      readonly scores?: Float32Array;
      readonly manifest?: ReadIndexManifest;
      readonly hashes?: FileHash[];
      readonly loopDelay?: LoopDelay;
    }
  | { readonly id: number; readonly ok: false; readonly kind: SessionErrorKind; readonly message: string };

const port = parentPort;
if (port === null) throw new Error('session-worker.js runs as a worker thread only');

/** Brings the thread back to its priority on `foreground`, while it runs lowered. */
let restorePriority = (workerData as SessionWorkerData | undefined)?.background
  ? lowerThreadPriority()
  : undefined;

/**
 * How long the thread's own turns (a model run, an index search) kept its
 * next message waiting: a request waits that long before its turn, at the
 * request thread's resolution (`process-metrics.ts`).
 */
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

const models = new Map<number, OnnxModel>();
let nextModel = 1;

/** The indexes held here, in memory: read whole when opened, so a change never waits for a copy. */
const indexes = new Map<number, AnnIndex>();

function kindOf(error: unknown): SessionErrorKind {
  if (error instanceof InferenceError) return 'inference';
  if (error instanceof ArtifactIntegrityError) return 'artifact';
  return 'other';
}

function indexOf(id: number): AnnIndex {
  const ann = indexes.get(id);
  if (ann === undefined) throw new InferenceError(`ANN index ${id} is closed`);
  return ann;
}

/** Reads, hashes and parses a JSON file. */
function readJson(path: string): { sha256: string; value: unknown } {
  const bytes = readFileSync(path);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return { sha256, value: JSON.parse(bytes.toString('utf8')) as unknown };
}

/** Takes the arrays at the dotted `lift` paths out of `value`, as columns. */
function liftPaths(value: unknown, lift: readonly string[]): Record<string, LiftedArray> {
  const lifted: Record<string, LiftedArray> = {};
  for (const dotted of lift) {
    const names = dotted.split('.');
    let parent = value as Record<string, unknown> | undefined;
    for (const name of names.slice(0, -1))
      parent =
        parent !== null && typeof parent === 'object' ? (parent[name] as Record<string, unknown>) : undefined;
    const last = names.at(-1)!;
    if (parent === null || typeof parent !== 'object' || !Array.isArray(parent[last])) continue;
    lifted[dotted] = liftArray(parent[last] as unknown[]);
    delete parent[last];
  }
  return lifted;
}

/**
 * Reads an index manifest and the model's `dataset.json` at `datasetPath`
 * once each: the manifest's items laid over the dataset's item vocabulary,
 * then the dataset's arrays at the `lift` paths taken out as columns.
 */
function readIndexManifest(path: string, datasetPath: string, lift: readonly string[]): ReadIndexManifest {
  const { sha256, value } = readJson(path);
  const manifest = value as { items?: unknown } | null;
  if (manifest === null || typeof manifest !== 'object' || !Array.isArray(manifest.items))
    throw new ArtifactIntegrityError(`index manifest ${path} has no items: not an index manifest`);
  const dataset = readJson(datasetPath);
  const vocabulary = (dataset.value as { vocabularies?: { item?: unknown } } | null)?.vocabularies?.item;
  if (!Array.isArray(vocabulary))
    throw new ArtifactIntegrityError(
      `${datasetPath} has no item vocabulary: not a dataset.json of this format`,
    );
  const items = keyItems(manifest.items, vocabulary);
  delete manifest.items;
  return {
    sha256,
    value: manifest,
    items,
    dataset: { ...dataset, lifted: liftPaths(dataset.value, lift) },
  };
}

/** Read in 1 MB reads, so a large artifact is never held whole. */
const HASH_READ = 1 << 20;

function sha256Of(path: string): FileHash {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    return { error: (error as Error).message };
  }
  try {
    return { sha256: sha256OfDescriptor(fd) };
  } catch (error) {
    return { error: (error as Error).message };
  } finally {
    closeSync(fd);
  }
}

function sha256OfDescriptor(fd: number): string {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(HASH_READ);
  for (let n = readSync(fd, buffer, 0, HASH_READ, null); n > 0; n = readSync(fd, buffer, 0, HASH_READ, null))
    hash.update(buffer.subarray(0, n));
  return hash.digest('hex');
}

/** Refuses bytes whose sha256 is not `expected`, naming the file. */
function checkSha256(path: string, actual: string, expected: string): void {
  if (actual !== expected)
    throw new ArtifactIntegrityError(`artifact ${path} has sha256 ${actual}, expected ${expected}`);
}

/** A model's bytes read once, checked against `sha256`: the session is then made from these bytes. */
function readChecked(path: string, sha256: string): Buffer {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new ArtifactIntegrityError(`artifact ${path} is missing: ${(error as Error).message}`, error);
  }
  checkSha256(path, createHash('sha256').update(bytes).digest('hex'), sha256);
  return bytes;
}

/**
 * Opens a saved ANN index, its bytes checked against `sha256` when given.
 * usearch loads only from a path, so the file is opened once, hashed
 * through that descriptor, and loaded through `/proc/self/fd/<fd>`: the
 * inode hashed is the one loaded, whatever is renamed over the path
 * meanwhile. (Without `/proc` it is hashed, then loaded by path.)
 */
function openCheckedIndex(path: string, config: Partial<AnnIndexConfig>, sha256?: string): AnnIndex {
  if (sha256 === undefined) return AnnIndex.load(path, config);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw new ArtifactIntegrityError(`artifact ${path} is missing: ${(error as Error).message}`, error);
  }
  try {
    checkSha256(path, sha256OfDescriptor(fd), sha256);
    return AnnIndex.load(existsSync('/proc/self/fd') ? `/proc/self/fd/${fd}` : path, config);
  } finally {
    closeSync(fd);
  }
}

function modelOf(id: number): OnnxModel {
  const model = models.get(id);
  if (model === undefined) throw new InferenceError(`ONNX session ${id} is closed`);
  return model;
}

async function answer(request: SessionRequest): Promise<SessionReply> {
  switch (request.op) {
    case 'load': {
      const bytes = request.sha256 === undefined ? undefined : readChecked(request.path, request.sha256);
      const model = await OnnxModel.load(request.path, request.options, bytes);
      const id = nextModel++;
      models.set(id, model);
      return { id: request.id, ok: true, model: id, inputs: model.inputs, outputs: model.outputs };
    }
    case 'run':
      return {
        id: request.id,
        ok: true,
        out: await modelOf(request.model).run(request.inputs, request.rows),
      };
    case 'foreground':
      restorePriority?.();
      restorePriority = undefined;
      return { id: request.id, ok: true };
    case 'close': {
      const model = models.get(request.model);
      models.delete(request.model);
      await model?.close();
      return { id: request.id, ok: true };
    }
    default:
      return answerAtOnce(request);
  }
}

/** The requests answered without waiting on anything: the index's, manifests, file hashes and the loop delay. */
function answerAtOnce(request: SessionRequest): SessionReply {
  switch (request.op) {
    case 'index-open': {
      // Read into memory, not mapped: ~50–100 ms here while the pair loads, where a mapped index would
      // be copied on its first change, with the pair serving and its searches and runs waiting.
      const ann = openCheckedIndex(request.path, request.config, request.sha256);
      const id = nextModel++;
      indexes.set(id, ann);
      return { id: request.id, ok: true, index: id, config: ann.config, size: ann.size };
    }
    case 'index-search': {
      const found = indexOf(request.index).search(request.query, request.count);
      return {
        id: request.id,
        ok: true,
        keys: Float64Array.from(found.keys),
        scores: Float32Array.from(found.scores),
      };
    }
    case 'index-change': {
      const ann = indexOf(request.index);
      if (request.upsert !== undefined && request.upsert.keys.length > 0)
        ann.upsert(request.upsert.keys, request.upsert.vectors);
      if (request.remove !== undefined && request.remove.length > 0) ann.remove(request.remove);
      return { id: request.id, ok: true, size: ann.size };
    }
    case 'index-close':
      indexes.delete(request.index);
      return { id: request.id, ok: true };
    case 'read-index-manifest':
      return {
        id: request.id,
        ok: true,
        manifest: readIndexManifest(request.path, request.datasetPath, request.lift),
      };
    case 'sha256':
      return { id: request.id, ok: true, hashes: request.paths.map(sha256Of) };
    case 'loop-delay': {
      const delay = { maxSeconds: loopDelay.max / 1e9, p99Seconds: loopDelay.percentile(99) / 1e9 };
      loopDelay.reset();
      return { id: request.id, ok: true, loopDelay: delay };
    }
    default:
      throw new InferenceError(`unknown session request ${(request as { op: string }).op}`);
  }
}

port.on('message', (request: SessionRequest) => {
  answer(request).then(
    (reply) => port.postMessage(reply),
    (error: unknown) =>
      port.postMessage({
        id: request.id,
        ok: false,
        kind: kindOf(error),
        message: (error as Error).message ?? String(error),
      } satisfies SessionReply),
  );
});
