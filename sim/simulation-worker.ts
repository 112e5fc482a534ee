/**
 * Worker thread of `writeSimulation`: runs the simulator and the Serde
 * encoders (over its own connection to the configured schema registry) and
 * posts encoded batches to the appending thread, at most `window` batches
 * ahead of the appends it has been told about. Generating and encoding is
 * most of the work; doing it here leaves the appending thread free to hand
 * batches to the log while the next ones are made.
 *
 * In real-time mode a batch also ends at every `tickMs` boundary of event
 * time, so that the appending thread can release each batch when the clock
 * reaches it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { RecstreamError } from '../runtime/errors.js';
import { openSchemaRegistry, type SchemaRegistryConfig } from '../runtime/registry/open.js';
import { Serde } from '../runtime/serde/serde.js';
import { INTERACTIONS_TOPIC, ITEMS_TOPIC } from './event-stream.js';
import type { ResolvedSimulation } from './options.js';
import { type BatchMessage, TopicPacker, transferables, type WorkerMessage } from './packed-batch.js';
import { Simulator } from './simulator.js';

export interface WorkerInput {
  readonly options: ResolvedSimulation;
  readonly registry: SchemaRegistryConfig;
  readonly batchSize: number;
  readonly window: number;
  /** Cut batches at multiples of this much event time; 0 for no cut. */
  readonly tickMs: number;
}

/** What the appending thread sends: one credit per batch it has appended. */
export interface CreditMessage {
  readonly kind: 'credit';
}

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
    const serde = new Serde(registry);
    const encodeItem = await serde.encoder('rec.items-value');
    const encodeUser = await serde.encoder('rec.users-value');
    const encodeInteraction = await serde.encoder('rec.interactions-value');
    const items = new TopicPacker();
    const users = new TopicPacker();
    const interactions = new TopicPacker();
    const stream = new Simulator(input.options).stream();
    let record = stream.next();
    while (record !== undefined) {
      while (credits === 0) await new Promise<void>((resolve) => (wake = resolve));
      const tickEnd =
        input.tickMs > 0
          ? (Math.floor(record.ts / input.tickMs) + 1) * input.tickMs
          : Number.POSITIVE_INFINITY;
      let lastTs = record.ts;
      while (
        record !== undefined &&
        record.ts < tickEnd &&
        interactions.count < input.batchSize &&
        items.count + users.count < input.batchSize
      ) {
        lastTs = record.ts;
        if (record.topic === INTERACTIONS_TOPIC)
          interactions.add(record.key, encodeInteraction.encode(record.value), record.ts);
        else if (record.topic === ITEMS_TOPIC)
          items.add(record.key, encodeItem.encode(record.value), record.ts);
        else users.add(record.key, encodeUser.encode(record.value), record.ts);
        record = stream.next();
      }
      const batch: BatchMessage = {
        kind: 'batch',
        items: items.take(),
        users: users.take(),
        interactions: interactions.take(),
        lastTs,
      };
      credits--;
      port.postMessage(batch, transferables(batch.items, batch.users, batch.interactions));
    }
    port.postMessage({ kind: 'end' } satisfies WorkerMessage);
  } finally {
    await registry.close();
  }
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
