/**
 * The `topology` suite's floor: how long it takes merely to move the
 * records the `features` and `snapshots` applications must read and write,
 * with no processor, store, commit or watermark. Every record of
 * `rec.interactions`, `rec.interactions.enriched` and
 * `rec.training-examples` (as a run of the topology left them) is read from
 * the log and decoded with the applications' own source deserializers;
 * every enriched record and example is encoded with their own sink
 * serializers and appended to a scratch topic in batches. Only those steps
 * are timed (building the serializers' inputs is not), so the sum is less
 * than any run of the topology can take on one thread: no change to the
 * processors can make the pipeline faster than this.
 *
 * @example
 * ```ts
 * const floor = await movingFloor(log, serde, config, 'bench.floor');
 * console.log(written.events / floor.seconds, 'events/s at most');
 * ```
 */

import { decodeExample } from '../../processors/item-features/example-parts.js';
import type { Config } from '../../runtime/config.js';
import type { EventLog, LogRecord, OutgoingRecord } from '../../runtime/log/log.js';
import type { ValueDeserializer, ValueSerializer } from '../../runtime/processor/processor.js';
import type { Topology } from '../../runtime/processor/topology.js';
import type { Serde } from '../../runtime/serde/serde.js';
import { WIRE_HEADER_SIZE } from '../../runtime/serde/wire.js';
import { ENRICHED_TOPIC, TRAINING_EXAMPLES_TOPIC } from '../../schemas/topics.js';
import { featuresOptions, featuresTopology } from '../../topologies/features.js';
import { snapshotsTopology, snapshotterOptions } from '../../topologies/snapshots.js';

/** Records per read and per append: the runner's poll size. */
const BATCH = 2000;

export interface MovingFloor {
  /** Sum of the timed steps. */
  readonly seconds: number;
  /** The same, by step. */
  readonly steps: Readonly<Record<string, number>>;
}

/**
 * Times reading, decoding, encoding and appending what the pipeline moves;
 * appends go to `<scratchPrefix>.enriched` and `<scratchPrefix>.examples`.
 */
export async function movingFloor(
  log: EventLog,
  serde: Serde,
  config: Config,
  scratchPrefix: string,
): Promise<MovingFloor> {
  const features = await featuresTopology(serde, featuresOptions(config));
  const snapshots = await snapshotsTopology(serde, snapshotterOptions(config));
  const enrichedDecoder = await serde.decoder('rec.interactions.enriched-value');
  const steps: Record<string, number> = {};
  // Batch by batch, as the runner moves them: holding every record at once would time the GC of a huge heap.
  const timed = async <T>(step: string, work: () => Promise<T> | T): Promise<T> => {
    const started = process.hrtime.bigint();
    const result = await work();
    steps[step] = (steps[step] ?? 0) + Number(process.hrtime.bigint() - started) / 1e9;
    return result;
  };

  await eachBatch(log, 'rec.interactions', timed, 'interactions', async (batch) => {
    await timed('decode interactions', () => decodeAll(batch, sourceDeserializer(features, 'interactions')));
  });

  await ensureScratch(log, ENRICHED_TOPIC, `${scratchPrefix}.enriched`);
  await eachBatch(log, ENRICHED_TOPIC, timed, 'enriched', async (batch) => {
    await timed('decode enriched', () =>
      decodeAll(batch, sourceDeserializer(features, 'enriched-interactions')),
    );
    await enrichedDecoder.prepare(batch.map((r) => r.value));
    const values = batch.map((r) => (r.value === null ? null : enrichedDecoder.decodeSync(r.value)));
    const out = await timed('encode enriched', () =>
      encodeAll(batch, values, sinkSerializer(features, ENRICHED_TOPIC)),
    );
    await timed('append enriched', () => log.append(`${scratchPrefix}.enriched`, out));
  });

  await ensureScratch(log, TRAINING_EXAMPLES_TOPIC, `${scratchPrefix}.examples`);
  await eachBatch(log, TRAINING_EXAMPLES_TOPIC, timed, 'examples', async (batch) => {
    await timed('decode examples', () =>
      decodeAll(batch, sourceDeserializer(snapshots, 'training-examples')),
    );
    const parts = batch.map((r) =>
      r.value === null ? null : decodeExample(r.value.subarray(WIRE_HEADER_SIZE), TRAINING_EXAMPLES_TOPIC),
    );
    const out = await timed('encode examples', () =>
      encodeAll(batch, parts, sinkSerializer(features, TRAINING_EXAMPLES_TOPIC)),
    );
    await timed('append examples', () => log.append(`${scratchPrefix}.examples`, out));
  });

  return { seconds: Object.values(steps).reduce((a, b) => a + b, 0), steps };
}

type Timed = <T>(step: string, work: () => Promise<T> | T) => Promise<T>;

/** Reads a topic batch by batch (timed as `read <what>`) and hands each batch on. */
async function eachBatch(
  log: EventLog,
  topic: string,
  timed: Timed,
  what: string,
  use: (batch: LogRecord[]) => Promise<void>,
): Promise<void> {
  for (const { partition, start, end } of await log.offsets(topic)) {
    for (let offset = start; offset < end; ) {
      const batch = await timed(`read ${what}`, () => log.read(topic, partition, offset, BATCH));
      if (batch.length === 0) break;
      await use(batch);
      offset = batch[batch.length - 1]!.offset + 1;
    }
  }
}

async function ensureScratch(log: EventLog, like: string, scratch: string): Promise<void> {
  await log.ensureTopic({ name: scratch, partitions: (await log.offsets(like)).length });
}

function sourceDeserializer(topology: Topology, name: string): ValueDeserializer<unknown> {
  const node = topology.node(name);
  if (node.kind !== 'source') throw new Error(`${topology.applicationId}: ${name} is not a source`);
  return node.deserializer;
}

function sinkSerializer(topology: Topology, topic: string): ValueSerializer<unknown> {
  const sink = topology.sinks.find((s) => s.topic === topic);
  if (sink === undefined) throw new Error(`${topology.applicationId} has no sink to ${topic}`);
  return sink.serializer;
}

async function decodeAll(
  records: readonly LogRecord[],
  deserializer: ValueDeserializer<unknown>,
): Promise<void> {
  for (const r of records) {
    if (r.value === null) continue;
    const value = deserializer.deserialize(r.value, r.topic);
    if (value instanceof Promise) await value;
  }
}

function encodeAll(
  records: readonly LogRecord[],
  values: readonly unknown[],
  serializer: ValueSerializer<unknown>,
): OutgoingRecord[] {
  return records.map((r, i) => {
    const value = values[i] === null ? null : serializer.serialize(values[i], r.topic);
    if (value instanceof Promise)
      throw new Error(`the ${r.topic} serializer is asynchronous; the floor times synchronous ones`);
    return { key: r.key, partition: r.partition, value, timestamp: r.timestamp };
  });
}
