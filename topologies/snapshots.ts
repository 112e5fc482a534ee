/**
 * The `snapshots` application: the snapshotter, cutting
 * `rec.training-examples` into `TrainingSnapshot`s on
 * `rec.training-snapshots`.
 *
 * ```
 * rec.training-examples (key user_id) ─┐
 * rec.users (key user_id, opt-out) ────┴─► snapshotter ─► rec.training-snapshots (key snapshot_id)
 *                                          stores snapshot-open, snapshot-members, snapshot-opt-outs,
 *                                          snapshot-example-ids
 * ```
 *
 * An application of its own rather than a part of `features`: a snapshot's
 * state is made of offsets of `rec.training-examples`, which a replay of
 * `features` appends anew, so inside `features` its stores could not be
 * byte-identical after a replay. Both inputs are keyed by user id, so each
 * task sees a user's examples and profile (docs/decisions.md §15).
 *
 * @example
 * ```ts
 * const topology = await snapshotsTopology(platform.serde, { everyExamples: 100_000, everyMs: 86_400_000 });
 * console.log(String(topology.describe()));
 * ```
 */
import { exampleHeaderDeserializer } from '../processors/snapshotter/example-header.js';
import {
  exampleEntryCodec,
  memberExamplesCodec,
  openSnapshotCodec,
  optOutCodec,
  SNAPSHOT_EXAMPLE_IDS_STORE,
  SNAPSHOT_MEMBERS_STORE,
  SNAPSHOT_OPEN_STORE,
  SNAPSHOT_OPT_OUTS_STORE,
} from '../processors/snapshotter/snapshot-stores.js';
import { Snapshotter, type SnapshotterOptions } from '../processors/snapshotter/snapshotter.js';
import type { Config } from '../runtime/config.js';
import { avroDeserializer } from '../runtime/processor/avro-serdes.js';
import { type Topology, TopologyBuilder } from '../runtime/processor/topology.js';
import { trustedAvroSerializer } from '../runtime/processor/trusted-avro-serde.js';
import type { Serde } from '../runtime/serde/serde.js';
import { TRAINING_EXAMPLES_TOPIC, TRAINING_SNAPSHOTS_TOPIC, USERS_TOPIC } from '../schemas/topics.js';

export const SNAPSHOTS_APPLICATION = 'snapshots';

/** The snapshotter's settings from the configuration (RECSTREAM_SNAPSHOT_EVERY_EXAMPLES, …_MS). */
export function snapshotterOptions(config: Config): SnapshotterOptions {
  return { everyExamples: config.snapshotEveryExamples, everyMs: config.snapshotEveryMs };
}

export async function snapshotsTopology(serde: Serde, options: SnapshotterOptions): Promise<Topology> {
  const users = avroDeserializer(await serde.decoder('rec.users-value'));
  const snapshots = await trustedAvroSerializer(serde, 'rec.training-snapshots-value');
  return new TopologyBuilder(SNAPSHOTS_APPLICATION)
    .addSource('training-examples', [TRAINING_EXAMPLES_TOPIC], exampleHeaderDeserializer)
    .addSource('users', [USERS_TOPIC], users)
    .addProcessor('snapshotter', () => new Snapshotter(options), ['training-examples', 'users'])
    .addStore({ name: SNAPSHOT_OPEN_STORE, codec: openSnapshotCodec }, ['snapshotter'])
    .addStore({ name: SNAPSHOT_MEMBERS_STORE, codec: memberExamplesCodec, keyedByRecordKey: true }, [
      'snapshotter',
    ])
    .addStore({ name: SNAPSHOT_OPT_OUTS_STORE, codec: optOutCodec, keyedByRecordKey: true }, ['snapshotter'])
    .addStore({ name: SNAPSHOT_EXAMPLE_IDS_STORE, codec: exampleEntryCodec }, ['snapshotter'])
    .addSink('training-snapshots', TRAINING_SNAPSHOTS_TOPIC, snapshots, ['snapshotter'])
    .build();
}
