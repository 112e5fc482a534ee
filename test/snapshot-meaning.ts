/**
 * What the snapshotter's state (`snapshot-open`, `snapshot-members`,
 * `snapshot-example-ids`) and
 * its published snapshots mean, told in `example_id`s instead of offsets of
 * `rec.training-examples`: a crash or a replay of `features` writes
 * examples at other offsets and in another order (outputs repeat, a replay
 * appends a new generation; consumers drop duplicate ids), so two data
 * dirs that agree can hold different offsets, but not different examples.
 *
 * @example
 * ```ts
 * assert.deepEqual((await snapshotMeaning(crashed)).byUser, (await snapshotMeaning(clean)).byUser);
 * ```
 */
import { activeRunnerOptions, selectTopologies } from '../app/platform.js';
import { exampleDigest } from '../processors/snapshotter/example-header.js';
import {
  type ExampleEntry,
  exampleKey,
  type MemberExamples,
  OPEN_KEY,
  type OpenSnapshot,
  SNAPSHOT_EXAMPLE_IDS_STORE,
  SNAPSHOT_MEMBERS_STORE,
  SNAPSHOT_OPEN_STORE,
} from '../processors/snapshotter/snapshot-stores.js';
import { StreamRunner } from '../runtime/engine/runner.js';
import { schemaIdOf } from '../runtime/serde/wire.js';
import type { OffsetRange, TrainingExample, TrainingSnapshot } from '../schemas/generated/types.js';
import type { Platform } from '../schemas/platform.js';
import { TRAINING_EXAMPLES_TOPIC, TRAINING_SNAPSHOTS_TOPIC } from '../schemas/topics.js';
import { withTestPlatform } from './platform.js';

export interface SnapshotMeaning {
  /** Per user: distinct `example_id event-time schema-id` over every snapshot, the open one included, sorted. */
  readonly byUser: Record<string, string[]>;
  /** Example ids placed in more than one snapshot of a partition (distinct snapshots, the open one included). */
  readonly inTwoSnapshots: number;
  /**
   * Where the stores contradict themselves or the topic: a count that is not
   * the number of distinct examples, members that are not the open
   * snapshot's examples, a member entry whose user, time or schema id is not
   * its example's, an `snapshot-example-ids` entry that is not the user,
   * id, offset and digest of a member or of an example of the partition's
   * last published snapshot. Empty when all is well.
   */
  readonly faults: string[];
  /** Distinct snapshots published, for a report of what was compared. */
  readonly published: number;
  /** Users and examples in `snapshot-members`. */
  readonly members: { readonly users: number; readonly examples: number };
}

interface Example {
  readonly id: string;
  readonly user: string;
  readonly ts: number;
  readonly schemaId: number;
  readonly digest: string;
}

/** Reads the snapshots application's committed stores and `rec.training-snapshots` of `dataDir`. */
export async function snapshotMeaning(dataDir: string): Promise<SnapshotMeaning> {
  return withTestPlatform(dataDir, async (platform) => {
    const examples = await readExamples(platform);
    const at = (partition: number, offset: number): Example => {
      const example = examples.get(partition)?.get(offset);
      if (example === undefined)
        throw new Error(`${TRAINING_EXAMPLES_TOPIC}[${partition}] has no example at offset ${offset}`);
      return example;
    };
    const faults: string[] = [];
    /** Per partition: the distinct examples of each snapshot. */
    const snapshots = new Map<number, Map<string, Example>[]>();
    const place = (partition: number, name: string, count: number, range: OffsetRange) => {
      const skip = new Set(range.excluded_offsets);
      const mine = new Map<string, Example>();
      for (let o = range.start_offset; o < range.end_offset; o++)
        if (!skip.has(o)) mine.set(at(partition, o).id, at(partition, o));
      if (mine.size !== count) faults.push(`${name} counts ${count} examples, holds ${mine.size} distinct`);
      snapshots.set(partition, [...(snapshots.get(partition) ?? []), mine]);
      return mine;
    };

    /** `snapshot-example-ids` entries of a closed snapshot, checked against the published ones. */
    const closedEntries: { partition: number; key: string; entry: ExampleEntry; example: Example }[] = [];
    const openStarts = new Map<number, number>();
    /** Per partition: the examples of the published snapshot each start offset begins. */
    const publishedAt = new Map<string, Map<string, Example>>();
    let memberUsers = 0;
    let memberExamples = 0;
    const [topology] = await selectTopologies(platform, 'snapshots');
    const runner = await StreamRunner.start(await activeRunnerOptions(platform, topology!));
    try {
      for (const { partition } of await platform.log.offsets(TRAINING_EXAMPLES_TOPIC)) {
        const state = runner.taskState(partition);
        if (state === undefined) throw new Error(`snapshots has no task for partition ${partition}`);
        const [open] = await state.readCommitted<OpenSnapshot>(SNAPSHOT_OPEN_STORE, [OPEN_KEY]);
        const name = `snapshot-open/${partition}`;
        const inOpen = open
          ? place(partition, name, open.count, {
              topic: TRAINING_EXAMPLES_TOPIC,
              partition,
              start_offset: open.start,
              end_offset: open.next,
              excluded_offsets: open.excluded,
            })
          : new Map<string, Example>();
        const members = new Set<string>();
        for await (const [user, flat] of state.store<MemberExamples>(SNAPSHOT_MEMBERS_STORE).range()) {
          memberUsers++;
          for (let i = 0; i < flat.length; i += 3) {
            const e = at(partition, flat[i]!);
            if (e.user !== user || e.ts !== flat[i + 1] || e.schemaId !== flat[i + 2])
              faults.push(
                `snapshot-members/${partition} ${user}: [${flat.slice(i, i + 3)}] is not example ${e.id}`,
              );
            members.add(e.id);
          }
        }
        memberExamples += members.size;
        const same = members.size === inOpen.size && [...members].every((id) => inOpen.has(id));
        if (!same) faults.push(`snapshot-members/${partition} are not the examples of ${name}`);
        const ids = new Set<string>();
        for await (const [key, entry] of state.store<ExampleEntry>(SNAPSHOT_EXAMPLE_IDS_STORE).range()) {
          const e = at(partition, entry.offset);
          const inClosed = entry.snapshot !== open?.start;
          if (
            key !== exampleKey(e.user, e.id) ||
            entry.digest !== e.digest ||
            (!inClosed && inOpen.get(e.id) !== e)
          )
            faults.push(
              `snapshot-example-ids/${partition} ${JSON.stringify(key)}: ${JSON.stringify(entry)} is not its example in ${name}`,
            );
          if (inClosed) closedEntries.push({ partition, key, entry, example: e });
          else ids.add(e.id);
        }
        if (ids.size !== inOpen.size)
          faults.push(
            `snapshot-example-ids/${partition} name ${ids.size} examples of ${name}, which holds ${inOpen.size}`,
          );
        if (open !== undefined) openStarts.set(partition, open.start);
      }
    } finally {
      await runner.close();
    }

    const seen = new Set<string>();
    const decoder = await platform.serde.decoder(`${TRAINING_SNAPSHOTS_TOPIC}-value`);
    await readTopic(platform, TRAINING_SNAPSHOTS_TOPIC, async (_partition, value) => {
      const s = (await decoder.decode(value)) as TrainingSnapshot;
      if (seen.has(s.snapshot_id)) return;
      seen.add(s.snapshot_id);
      if (s.ranges.length !== 1) throw new Error(`${s.snapshot_id} has ${s.ranges.length} ranges, not one`);
      const range = s.ranges[0]!;
      const mine = place(range.partition, s.snapshot_id, s.example_count, range);
      if (range.end_offset === openStarts.get(range.partition))
        publishedAt.set(`${range.partition}/${range.start_offset}`, mine);
      const schemaIds = [...new Set([...mine.values()].map((e) => e.schemaId))].sort((a, b) => a - b);
      if (JSON.stringify(schemaIds) !== JSON.stringify(s.schema_ids))
        faults.push(`${s.snapshot_id} names schema ids ${s.schema_ids}, holds ${schemaIds}`);
    });

    // The ids kept past a cut are the last closed snapshot's: the one that ends where the open one starts.
    for (const { partition, key, entry, example } of closedEntries)
      if (publishedAt.get(`${partition}/${entry.snapshot}`)?.get(example.id) !== example)
        faults.push(
          `snapshot-example-ids/${partition} ${JSON.stringify(key)}: ${JSON.stringify(entry)} is in no open snapshot nor the last published one`,
        );

    const byUser: Record<string, Set<string>> = {};
    let inTwoSnapshots = 0;
    for (const list of snapshots.values()) {
      const placed = new Set<string>();
      for (const mine of list)
        for (const e of mine.values()) {
          if (placed.has(e.id)) inTwoSnapshots++;
          placed.add(e.id);
          const mineOfUser = byUser[e.user] ?? new Set<string>();
          byUser[e.user] = mineOfUser.add(`${e.id} ${e.ts} ${e.schemaId}`);
        }
    }
    return {
      byUser: Object.fromEntries(Object.entries(byUser).map(([u, ids]) => [u, [...ids].sort()])),
      inTwoSnapshots,
      faults,
      published: seen.size,
      members: { users: memberUsers, examples: memberExamples },
    };
  });
}

/** Every example of `rec.training-examples` by partition and offset. */
async function readExamples(platform: Platform): Promise<Map<number, Map<number, Example>>> {
  const out = new Map<number, Map<number, Example>>();
  const decoder = await platform.serde.decoder(`${TRAINING_EXAMPLES_TOPIC}-value`);
  await readTopic(platform, TRAINING_EXAMPLES_TOPIC, async (partition, value, offset) => {
    const examples = out.get(partition) ?? new Map<number, Example>();
    out.set(partition, examples);
    const e = (await decoder.decode(value)) as TrainingExample;
    examples.set(offset, {
      id: e.example_id,
      user: e.user_id,
      ts: e.ts,
      schemaId: schemaIdOf(value),
      digest: exampleDigest(value),
    });
  });
  return out;
}

async function readTopic(
  platform: Platform,
  topic: string,
  fn: (partition: number, value: Buffer, offset: number) => Promise<void>,
): Promise<void> {
  for (const { partition, start, end } of await platform.log.offsets(topic))
    for (let offset = start; offset < end; ) {
      const records = await platform.log.read(topic, partition, offset, 5000);
      if (records.length === 0) break;
      for (const r of records) if (r.value !== null) await fn(partition, r.value, r.offset);
      offset = records.at(-1)!.offset + 1;
    }
}
