/**
 * Worker thread of `writeSimulation`: runs the simulator and the Serde
 * encoders (over its own connection to the configured schema registry) and
 * posts batches to the appending thread, at most `window` batches ahead of
 * the appends it has been told about. Generating and encoding is most of
 * the work: the worker generates everything and encodes the catalog, the
 * users and one batch of interactions in three; the interactions of the
 * other two go as columns (compact-interactions.ts) for the appending
 * thread to encode between its appends. Measured, that split keeps both
 * threads about equally busy (the appending thread also runs the log).
 *
 * In real-time mode a batch also ends at every `tickMs` boundary of event
 * time (for a simulation with a live phase, once it is live), so that the
 * appending thread can release each batch when the clock reaches it.
 *
 * A live simulation is anchored to the wall clock where its span ends, or
 * where an earlier run stopped (`skipInteractions`: the records up to that
 * interaction are made again, to rebuild the world's state, and not sent).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { RecstreamError } from '../runtime/errors.js';
import { openSchemaRegistry, type SchemaRegistryConfig } from '../runtime/registry/open.js';
import { platformSerde } from '../schemas/platform.js';
import { INTERACTIONS_TOPIC, ITEMS_TOPIC } from '../schemas/topics.js';
import { columnBuffer, InteractionColumns } from './compact-interactions.js';
import type { SimRecord } from './event-stream.js';
import type { ResolvedSimulation } from './options.js';
import {
  type BatchMessage,
  type InteractionPayload,
  TopicPacker,
  transferables,
  type WorkerMessage,
} from './packed-batch.js';
import { Simulator } from './simulator.js';

export interface WorkerInput {
  readonly options: ResolvedSimulation;
  readonly registry: SchemaRegistryConfig;
  readonly batchSize: number;
  readonly window: number;
  /** Cut batches at multiples of this much event time; 0 for no cut. */
  readonly tickMs: number;
  /** Interactions an earlier run already wrote: made again and not sent. */
  readonly skipInteractions: number;
  /** Added to every record's event time of a live simulation (the live anchor's `shift`). */
  readonly shift: number;
}

/** What the appending thread sends: one credit per batch it has appended. */
export interface CreditMessage {
  readonly kind: 'credit';
}

/** The worker encodes the interactions of one batch in this many. */
const ENCODED_HERE = 3;

const port = parentPort!;
const input = workerData as WorkerInput;
let credits = input.window;
let wake: (() => void) | undefined;
port.on('message', (message: CreditMessage) => {
  if (message.kind !== 'credit') return;
  credits++;
  wake?.();
});

async function run(): Promise<void> {
  const registry = await openSchemaRegistry(input.registry);
  try {
    const serde = platformSerde(registry);
    const encodeItem = await serde.encoder('rec.items-value');
    const encodeUser = await serde.encoder('rec.users-value');
    const encodeInteraction = await serde.encoder('rec.interactions-value');
    const items = new TopicPacker('i', input.batchSize);
    const users = new TopicPacker('u', input.batchSize);
    const encoded = new TopicPacker('u', input.batchSize);
    const sim = new Simulator(input.options);
    const columns = new InteractionColumns(sim.idPrefix, input.batchSize);
    const { events, liveRate } = input.options;
    const skip = input.skipInteractions;
    const stream = sim.stream(
      liveRate === undefined
        ? undefined
        : { from: Math.max(events, skip), clock: Date.now, shift: input.shift },
    );
    let record = stream.next();
    // Up to and including the `skip`-th interaction: interaction n (1-based) leaves `emitted` at n.
    const written = (r: SimRecord) =>
      stream.emitted < skip || (stream.emitted === skip && r.topic === INTERACTIONS_TOPIC);
    while (record !== undefined && written(record)) record = stream.next();
    for (let n = 0; record !== undefined; n++) {
      const encodeHere = n % ENCODED_HERE === 0;
      const interactions = encodeHere ? encoded : columns;
      while (credits === 0) await new Promise<void>((resolve) => (wake = resolve));
      const tickEnd =
        input.tickMs > 0 && (liveRate === undefined || stream.live)
          ? (Math.floor(record.ts / input.tickMs) + 1) * input.tickMs
          : Number.POSITIVE_INFINITY;
      let lastTs = record.ts;
      // A batch holds one phase: the first live record starts a batch of its own, cut by ticks.
      const live = stream.live;
      while (
        record !== undefined &&
        record.ts < tickEnd &&
        stream.live === live &&
        interactions.count < input.batchSize &&
        items.count + users.count < input.batchSize
      ) {
        lastTs = record.ts;
        if (record.topic === INTERACTIONS_TOPIC) {
          if (encodeHere)
            encoded.add(idNumber(record.key), encodeInteraction.encode(record.value), record.ts);
          else columns.add(record.value);
        } else if (record.topic === ITEMS_TOPIC)
          items.add(idNumber(record.key), encodeItem.encode(record.value), record.ts);
        else users.add(idNumber(record.key), encodeUser.encode(record.value), record.ts);
        record = stream.next();
      }
      const interactionCount = interactions.count;
      const packed: InteractionPayload = encodeHere
        ? { encoded: encoded.take() }
        : { columns: columns.take() };
      const batch: BatchMessage = {
        kind: 'batch',
        items: items.take(),
        users: users.take(),
        interactions: packed,
        interactionCount,
        lastTs,
      };
      credits--;
      port.postMessage(batch, [
        ...transferables(batch.items, batch.users),
        ...('encoded' in packed ? transferables(packed.encoded) : [columnBuffer(packed.columns)]),
      ]);
    }
    port.postMessage({ kind: 'end' } satisfies WorkerMessage);
  } finally {
    await registry.close();
  }
}

/** The n of a simulated id `u<n>` or `i<n>`. */
function idNumber(id: string): number {
  return Number(id.slice(1));
}

run().then(
  () => port.close(),
  (error: unknown) => {
    const e = error instanceof Error ? error : new Error(String(error));
    port.postMessage({
      kind: 'error',
      name: e.name,
      message: e.message,
      code: e instanceof RecstreamError ? e.code : undefined,
      retriable: e instanceof RecstreamError && e.retriable,
    } satisfies WorkerMessage);
    port.close();
  },
);
