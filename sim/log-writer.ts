/**
 * Writes a simulation to the event log: `rec.items`, `rec.users` and
 * `rec.interactions`, every value encoded by the Serde encoder of its
 * subject (Avro, Confluent wire format, validated, schema registered in the
 * configured registry), keyed by item or user id, with the event time as the
 * record timestamp.
 *
 * A worker thread generates the records and encodes most of them
 * (simulation-worker.ts); this thread encodes the interactions the worker
 * sends as columns, appends each batch — catalog and user records first,
 * then the interactions they precede — and tells the worker, which stays at
 * most a few batches ahead, so memory stays flat however many events are
 * asked for.
 *
 * Batch mode appends as fast as the log accepts. Streaming mode
 * (`realTime`, for a world whose start is now) appends each batch once the
 * wall clock reaches the event time of its last record, batches being cut
 * every 100 ms of event time: records reach the log at their event time,
 * at most 100 ms late. A simulation with a live phase (`liveRate`) writes
 * its span as fast as the log accepts and then its live phase on the real
 * clock, without end, until `signal` stops it; `resumeAfter` continues a
 * live stream an earlier run wrote that many interactions of.
 *
 * @example
 * ```ts
 * const summary = await writeSimulation(
 *   { seed: 7, users: 10_000, items: 2_000, events: 100_000 },
 *   { log: platform.log, serde: platform.serde, registry: { dataDir: config.dataDir, url: config.schemaRegistryUrl } },
 *   { partitions: 4, onProgress: (p) => progress.update(p.interactions) },
 * );
 * ```
 */
import { Worker } from 'node:worker_threads';
import { ConfigError, RecstreamError } from '../runtime/errors.js';
import type { EventLog, OutgoingRecord, TopicSpec } from '../runtime/log/log.js';
import type { SchemaRegistryConfig } from '../runtime/registry/open.js';
import type { Encoder, Serde } from '../runtime/serde/serde.js';
import type { Interaction } from '../schemas/generated/types.js';
import {
  catalogueSpec,
  INPUT_TOPICS,
  INTERACTIONS_TOPIC,
  ITEMS_TOPIC,
  USERS_TOPIC,
} from '../schemas/topics.js';
import { expand, type InteractionBatch } from './compact-interactions.js';
import { resolveSimulation, type SimulationOptions } from './options.js';
import { type BatchMessage, unpack, type WorkerMessage } from './packed-batch.js';
import type { CreditMessage, WorkerInput } from './simulation-worker.js';
import { idPrefixOf } from './simulator.js';

export interface SimulationTarget {
  readonly log: EventLog;
  /** Encodes on this thread; over the same registry as `registry`. */
  readonly serde: Serde;
  /** The registry the worker registers and looks up schemas in (the platform's). */
  readonly registry: SchemaRegistryConfig;
}

export interface WriteProgress {
  readonly interactions: number;
  readonly items: number;
  readonly users: number;
  /** Event time of the last record appended; NaN before the first. */
  readonly lastTs: number;
}

export interface WriteOptions {
  /** Partitions for topics that do not exist yet. */
  readonly partitions: number;
  /** Interaction records per append. Default 5000. */
  readonly batchSize?: number;
  /** Append records no earlier than their event time (streaming mode). Default false. */
  readonly realTime?: boolean;
  /** Interactions of this simulation already in the log (a live stream resumed): not written again. Default 0. */
  readonly resumeAfter?: number;
  /**
   * Added to the event time of every record of a live simulation, e.g.
   * `Date.now() - simulator.historyEnd()` for a history that ends now. Default 0.
   */
  readonly shift?: number;
  /** Called after every append. */
  readonly onProgress?: (progress: WriteProgress) => void;
  /** Stops after the batch being appended (the summary then says `stopped`). */
  readonly signal?: AbortSignal;
}

export interface WriteSummary extends WriteProgress {
  readonly seconds: number;
  /** True when `signal` stopped the run before the simulation ended. */
  readonly stopped: boolean;
}

/** The topics a simulation writes, as the catalogue declares them (the catalog and users compacted). */
export function simulationTopics(partitions: number): TopicSpec[] {
  return INPUT_TOPICS.map((name) => catalogueSpec(name, partitions));
}

/** Batches the worker may have made that are not appended yet. */
const WINDOW = 3;
const TICK_MS = 100;
const MAX_SLEEP_MS = 100;

export async function writeSimulation(
  options: SimulationOptions,
  target: SimulationTarget,
  write: WriteOptions,
): Promise<WriteSummary> {
  const started = performance.now();
  const resolved = resolveSimulation(options);
  const { log } = target;
  for (const spec of simulationTopics(write.partitions)) await log.ensureTopic(spec);
  // Registered here first, so the worker finds the same schema id.
  const encoder = await target.serde.encoder('rec.interactions-value');
  const idPrefix = idPrefixOf(resolved);
  // A live phase is on the real clock whatever `realTime` says: unpaced, it would never end.
  const realTime = (write.realTime ?? false) || resolved.liveRate !== undefined;
  if (((write.resumeAfter ?? 0) > 0 || (write.shift ?? 0) !== 0) && resolved.liveRate === undefined)
    throw new ConfigError('only a simulation with a live phase (liveRate) resumes or is shifted');
  const signal = write.signal;
  const input: WorkerInput = {
    options: resolved,
    registry: target.registry,
    batchSize: write.batchSize ?? 5000,
    window: WINDOW,
    tickMs: realTime ? TICK_MS : 0,
    skipInteractions: write.resumeAfter ?? 0,
    shift: write.shift ?? 0,
  };
  const worker = new Worker(new URL('./simulation-worker.js', import.meta.url), { workerData: input });
  const inbox = new Inbox(worker);
  let progress: WriteProgress = { interactions: 0, items: 0, users: 0, lastTs: Number.NaN };
  let stopped = false;
  try {
    for (;;) {
      const message = await inbox.next();
      if (message.kind === 'end') break;
      if (message.kind === 'error') throw workerError(message);
      if (realTime) await sleepUntil(message.lastTs, signal);
      if (signal?.aborted) {
        stopped = true;
        break;
      }
      progress = await appendBatch(log, message, progress, (b) =>
        expand(b, idPrefix).map((e) => interactionRecord(encoder, e)),
      );
      worker.postMessage({ kind: 'credit' } satisfies CreditMessage);
      write.onProgress?.(progress);
    }
  } finally {
    await worker.terminate();
  }
  return { ...progress, seconds: (performance.now() - started) / 1000, stopped };
}

async function appendBatch(
  log: EventLog,
  batch: BatchMessage,
  before: WriteProgress,
  encodeColumns: (columns: InteractionBatch) => OutgoingRecord[],
): Promise<WriteProgress> {
  const payload = batch.interactions;
  const interactions = 'encoded' in payload ? unpack(payload.encoded) : encodeColumns(payload.columns);
  // Catalog and user records first: a reader of every topic sees an item before events about it.
  if (batch.items.count) await log.append(ITEMS_TOPIC, unpack(batch.items));
  if (batch.users.count) await log.append(USERS_TOPIC, unpack(batch.users));
  if (interactions.length) await log.append(INTERACTIONS_TOPIC, interactions);
  return {
    interactions: before.interactions + batch.interactionCount,
    items: before.items + batch.items.count,
    users: before.users + batch.users.count,
    lastTs: batch.lastTs,
  };
}

function interactionRecord(encoder: Encoder<Interaction>, e: Interaction): OutgoingRecord {
  return { key: e.user_id, value: encoder.encode(e), timestamp: e.ts };
}

/** Messages from the worker in order; a crash or an early exit becomes an error message. */
class Inbox {
  private readonly queue: WorkerMessage[] = [];
  private waiting: (() => void) | undefined;

  constructor(worker: Worker) {
    worker.on('message', (m: WorkerMessage) => this.put(m));
    worker.on('error', (e: Error) =>
      this.put({ kind: 'error', name: e.name, message: e.message, code: undefined, retriable: false }),
    );
    worker.on('exit', (code) =>
      this.put({
        kind: 'error',
        name: 'Error',
        message: `the simulation worker exited (code ${code}) before the end of the simulation`,
        code: undefined,
        retriable: false,
      }),
    );
  }

  async next(): Promise<WorkerMessage> {
    while (this.queue.length === 0) await new Promise<void>((resolve) => (this.waiting = resolve));
    return this.queue.shift()!;
  }

  private put(message: WorkerMessage): void {
    this.queue.push(message);
    this.waiting?.();
    this.waiting = undefined;
  }
}

function workerError(message: Extract<WorkerMessage, { kind: 'error' }>): Error {
  if (message.code === undefined) return new Error(`simulation failed: ${message.message}`);
  const error = new RecstreamError(message.message, { code: message.code, retriable: message.retriable });
  error.name = message.name;
  return error;
}

async function sleepUntil(ts: number, signal: AbortSignal | undefined): Promise<void> {
  for (let wait = ts - Date.now(); wait > 0 && !signal?.aborted; wait = ts - Date.now())
    await new Promise((resolve) => setTimeout(resolve, Math.min(wait, MAX_SLEEP_MS)));
}
