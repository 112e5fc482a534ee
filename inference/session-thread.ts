/**
 * ONNX sessions that live on a worker thread of their own (`session-worker.ts`).
 * onnxruntime-node creates a session synchronously, so a responder that
 * loads a new model version on its event loop stops answering for as long
 * as parsing and optimising the three graphs takes (150–350 ms measured on
 * the serving world). Sessions created here cost the event loop nothing
 * while they load, and run with the same checks as `OnnxModel`: errors
 * come back as the same classes (`InferenceError`,
 * `ArtifactIntegrityError`). The thread keeps the process alive only
 * while an answer is awaited, and ends when its last session closes.
 *
 * @example
 * ```ts
 * const thread = new SessionThread();
 * const tower = await thread.load(join(artifactDir, 'user_tower.onnx'), { threads: 1 });
 * const { embedding } = await tower.run(inputs);
 * await tower.close(); // the thread ends with its last session
 * ```
 */
import { Worker } from 'node:worker_threads';
import { ArtifactIntegrityError } from '../registry/errors.js';
import type { AnnIndexConfig } from './ann-index.js';
import { InferenceError } from './errors.js';
import type { Column, ModelSession, SessionOptions, ValueSpec } from './onnx-session.js';
import type {
  FileHash,
  LoopDelay,
  ReadIndexManifest,
  SessionReply,
  SessionRequest,
  SessionWorkerData,
} from './session-worker.js';
import { ThreadIndex } from './thread-index.js';

type Pending = { resolve: (reply: SessionReply & { ok: true }) => void; reject: (error: Error) => void };
type Ask = SessionRequest extends infer R ? (R extends SessionRequest ? Omit<R, 'id'> : never) : never;

const live = new Set<SessionThread>();

/** The session threads of this process that have not ended, for their metrics. */
export function liveSessionThreads(): readonly SessionThread[] {
  return [...live];
}

export class SessionThread {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private open = 0;
  private failure: Error | undefined;

  /**
   * A `background` thread starts at the lowest priority, so what it loads
   * takes only CPU other threads leave idle, until `foreground()`; where the
   * process could not bring it back (`thread-priority.ts`) it is not lowered.
   */
  constructor(options: SessionWorkerData = {}) {
    this.worker = new Worker(new URL('./session-worker.js', import.meta.url), { workerData: options });
    this.worker.unref();
    this.worker.on('message', (reply: SessionReply) => this.settle(reply));
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', (code) => {
      live.delete(this);
      this.fail(new InferenceError(`the ONNX session thread exited (${code})`));
    });
    live.add(this);
  }

  /**
   * The thread's longest and 99th-percentile event-loop delay since the
   * previous call: how long a request for it waited behind its own turns.
   */
  async loopDelay(): Promise<LoopDelay> {
    return (await this.ask({ op: 'loop-delay' })).loopDelay!;
  }

  /**
   * Creates a session for the model at `path` on the thread; with `sha256`,
   * from the file's bytes read once and checked against it
   * (`ArtifactIntegrityError` when they differ).
   */
  async load(path: string, options: SessionOptions = {}, sha256?: string): Promise<ModelSession> {
    this.open++;
    try {
      const reply = await this.ask({ op: 'load', path, options, sha256 });
      return new ThreadModel(this, reply.model!, path, reply.inputs!, reply.outputs!);
    } catch (error) {
      await this.closed();
      throw error;
    }
  }

  /**
   * Reads the saved ANN index at `path` into memory on the thread
   * (`AnnIndex.load`): its searches and changes then run there, beside the
   * calling thread. With `sha256`, the file is hashed as it is opened for
   * loading and refused (`ArtifactIntegrityError`) when it differs.
   */
  async openIndex(path: string, config: Partial<AnnIndexConfig> = {}, sha256?: string): Promise<ThreadIndex> {
    this.open++;
    try {
      const reply = await this.ask({ op: 'index-open', path, config, sha256 });
      return new ThreadIndex(this, reply.index!, reply.config!, reply.size!);
    } catch (error) {
      await this.closed();
      throw error;
    }
  }

  /**
   * Reads, hashes and parses an index manifest on the thread, with its items
   * laid over the item vocabulary of the model's `dataset.json` at
   * `datasetPath` (`keyed-items.ts`): the calling thread gets one number per
   * key instead of 94,000 rows to walk. That `dataset.json` comes back too,
   * read once, its arrays at the dotted `lift` paths as columns
   * (`json-lift.ts`: a large array costs the calling thread a few
   * milliseconds instead of its parse). A thread with nothing open yet
   * answers too; `endIfIdle` ends it when nothing is opened after all. A
   * manifest or vocabulary that is not of this format is refused with
   * `ArtifactIntegrityError`.
   */
  async readIndexManifest(
    path: string,
    datasetPath: string,
    lift: readonly string[] = [],
  ): Promise<ReadIndexManifest> {
    return (await this.ask({ op: 'read-index-manifest', path, datasetPath, lift })).manifest!;
  }

  /**
   * The sha256 of each file, hashed on the thread: a new pair's artifacts
   * (~160 MB on the serving world, ~200 ms of hashing) are verified without
   * taking that time from the calling thread's requests. A file that
   * cannot be read answers its error instead.
   */
  async sha256(paths: readonly string[]): Promise<FileHash[]> {
    return (await this.ask({ op: 'sha256', paths })).hashes!;
  }

  /** Brings a `background` thread back to the priority it started from: before it serves. */
  async foreground(): Promise<void> {
    await this.ask({ op: 'foreground' });
  }

  /** Ends the thread if nothing is open on it: for a caller whose loading failed before anything opened. */
  async endIfIdle(): Promise<void> {
    if (this.open === 0) await this.worker.terminate();
  }

  /** @internal */
  async searchIndex(index: number, query: Float32Array, count: number) {
    const reply = await this.ask({ op: 'index-search', index, query, count });
    return { keys: reply.keys!, scores: reply.scores! };
  }

  /** @internal Resolves to the index's size after the change. */
  async changeIndex(
    index: number,
    change: {
      readonly upsert?: { readonly keys: readonly number[]; readonly vectors: Float32Array };
      readonly remove?: readonly number[];
    },
  ): Promise<number> {
    return (await this.ask({ op: 'index-change', index, ...change })).size!;
  }

  /** @internal */
  async closeIndex(index: number): Promise<void> {
    try {
      await this.ask({ op: 'index-close', index });
    } finally {
      await this.closed();
    }
  }

  /** @internal */
  async run(model: number, inputs: Readonly<Record<string, Column>>, rows?: number) {
    return (await this.ask({ op: 'run', model, inputs, rows })).out!;
  }

  /** @internal */
  async close(model: number): Promise<void> {
    try {
      await this.ask({ op: 'close', model });
    } finally {
      await this.closed();
    }
  }

  private async closed(): Promise<void> {
    this.open--;
    if (this.open === 0) await this.worker.terminate();
  }

  private ask(request: Ask): Promise<SessionReply & { ok: true }> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const id = this.nextId++;
    if (this.pending.size === 0) this.worker.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...request, id });
    });
  }

  private settle(reply: SessionReply): void {
    const waiting = this.pending.get(reply.id);
    if (waiting === undefined) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker.unref();
    if (reply.ok) waiting.resolve(reply);
    else if (reply.kind === 'inference') waiting.reject(new InferenceError(reply.message));
    else if (reply.kind === 'artifact') waiting.reject(new ArtifactIntegrityError(reply.message));
    else waiting.reject(new Error(reply.message));
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiting of this.pending.values()) waiting.reject(error);
    this.pending.clear();
  }
}

/** A session on a `SessionThread`, used as an `OnnxModel` is. */
class ThreadModel implements ModelSession {
  constructor(
    private readonly thread: SessionThread,
    private readonly id: number,
    readonly path: string,
    readonly inputs: readonly ValueSpec[],
    readonly outputs: readonly ValueSpec[],
  ) {}

  run(inputs: Readonly<Record<string, Column>>, rows?: number): Promise<Record<string, Float32Array>> {
    return this.thread.run(this.id, inputs, rows);
  }

  close(): Promise<void> {
    return this.thread.close(this.id);
  }
}
