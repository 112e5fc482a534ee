/**
 * `snapshotter`: cuts `rec.training-examples` into training snapshots and
 * publishes each as a `TrainingSnapshot` to `rec.training-snapshots`.
 *
 * Each task snapshots its own partition (docs/decisions.md §15): a snapshot
 * is the offset range `[start, end)` of one partition less its
 * `excluded_offsets`, so replaying the range and skipping those offsets
 * yields exactly its examples, byte for byte. The next snapshot starts where
 * the previous one ended. A snapshot closes after `everyExamples` examples,
 * or when an example's event time is `everyMs` or more past the snapshot's
 * first one (that example opens the next snapshot).
 *
 * Opt-out: the task also reads `rec.users` (co-partitioned by user id).
 * While a user's current profile opts out, their examples are excluded as
 * they arrive, and an opt-out (or a deletion) moves the examples they
 * already have in the open snapshot to its exclusions. So no snapshot
 * closed after the opt-out was processed holds their examples, including
 * the ones `item-features` emitted before it. Snapshots closed earlier are
 * immutable records; the trainer is told by the opt-out topic itself.
 *
 * An example written again (`features` at-least-once after a crash, or
 * replayed) is snapshotted once (store `snapshot-example-ids`, which keeps
 * the ids of the open snapshot and of the last closed one): an unchanged
 * copy (a crash repeat) is excluded, so a repeat that falls past a cut
 * does not reach the next snapshot; a changed copy (a replay after a fix)
 * replaces the older in the open snapshot, whose offset joins the
 * exclusions, or goes into the open snapshot when the older one is in a
 * closed snapshot. A snapshot's count is its distinct examples.
 *
 * The snapshot id is a hash of the range and its exclusions, and
 * `created_ts` is the event time of the example that closed the snapshot:
 * a repeat after a crash is the same record, which readers drop.
 *
 * A bounded input (`Processor.endOfInput`: a finite import run to its end,
 * as `recstream eval` does) closes the open snapshot after its last
 * example, with that example's time as `created_ts`, so every example of
 * the input is in a closed snapshot. A live pipeline never ends its
 * input: its open snapshot waits for a count or a time span as above.
 *
 * @example
 * ```ts
 * builder.addSource('training-examples', ['rec.training-examples'], exampleHeaderDeserializer)
 *   .addSource('users', ['rec.users'], userDeserializer)
 *   .addProcessor('snapshotter', () => new Snapshotter({ everyExamples: 100_000, everyMs: 86_400_000 }), ['training-examples', 'users']);
 * ```
 */
import { createHash } from 'node:crypto';
import { ProcessingError } from '../../runtime/errors.js';
import { describeUser } from '../../runtime/observability/user-hash.js';
import type { Processor, ProcessorContext, StreamRecord } from '../../runtime/processor/processor.js';
import { stableStringify } from '../../runtime/state/codecs/index.js';
import type { KeyValueStore } from '../../runtime/state/store.js';
import type { OffsetRange, TrainingSnapshot, User } from '../../schemas/generated/types.js';
import { TRAINING_EXAMPLES_TOPIC } from '../../schemas/topics.js';
import type { ExampleHeader } from './example-header.js';
import {
  type ExampleEntry,
  exampleKey,
  type MemberExamples,
  OPEN_KEY,
  type OpenSnapshot,
  SNAPSHOT_EXAMPLE_IDS_STORE,
  SNAPSHOT_MEMBERS_STORE,
  SNAPSHOT_OPEN_STORE,
  SNAPSHOT_OPT_OUTS_STORE,
  userExampleKeys,
} from './snapshot-stores.js';

export interface SnapshotterOptions {
  /** Close a snapshot once it holds this many examples. */
  readonly everyExamples: number;
  /** Close a snapshot when an example is this much event time past its first one. */
  readonly everyMs: number;
}

/** The deterministic id of a snapshot: a hash of its lineage. */
export function snapshotId(ranges: readonly OffsetRange[]): string {
  return `snap-${createHash('sha256').update(stableStringify(ranges)).digest('hex').slice(0, 32)}`;
}

export class Snapshotter implements Processor<ExampleHeader | User | null, TrainingSnapshot> {
  private ctx!: ProcessorContext<TrainingSnapshot>;
  private open!: KeyValueStore<OpenSnapshot>;
  private members!: KeyValueStore<MemberExamples>;
  private optOuts!: KeyValueStore<number>;
  private exampleIds!: KeyValueStore<ExampleEntry>;

  constructor(private readonly options: SnapshotterOptions) {}

  init(ctx: ProcessorContext<TrainingSnapshot>): void {
    this.ctx = ctx;
    this.open = ctx.store(SNAPSHOT_OPEN_STORE);
    this.members = ctx.store(SNAPSHOT_MEMBERS_STORE);
    this.optOuts = ctx.store(SNAPSHOT_OPT_OUTS_STORE);
    this.exampleIds = ctx.store(SNAPSHOT_EXAMPLE_IDS_STORE);
  }

  async process(record: StreamRecord<ExampleHeader | User | null>): Promise<void> {
    const key = record.key;
    const source = this.ctx.recordMetadata();
    if (key === null)
      throw new ProcessingError(`${source?.topic} record has no key (the key is the user_id)`);
    const value = record.value;
    if (source?.topic === TRAINING_EXAMPLES_TOPIC) {
      await this.addExample(key, value as ExampleHeader, record.timestamp, source.offset);
    } else {
      await this.applyProfile(key, value as User | null);
    }
  }

  private async addExample(
    userId: string,
    example: ExampleHeader,
    ts: number,
    offset: number,
  ): Promise<void> {
    let open = (await this.open.get(OPEN_KEY)) ?? fresh(offset);
    if (open.count > 0 && open.firstTs !== null && ts - open.firstTs >= this.options.everyMs) {
      open = await this.closeSnapshot(open, ts);
    }
    // Offsets the snapshotter never saw were dead-lettered: not examples.
    for (let gap = open.next; gap < offset; gap++) open.excluded.push(gap);
    open.next = offset + 1;
    if ((await this.optOuts.get(userId)) !== undefined) {
      open.excluded.push(offset);
    } else {
      const id = exampleKey(userId, example.exampleId);
      const earlier = await this.exampleIds.get(id);
      if (earlier?.digest === example.digest) {
        // The same bytes again (`features` killed before its commit writes its batch anew): the
        // copy the open or the last closed snapshot holds stands, so a repeat that falls past a
        // cut is not a second example in the next snapshot.
        open.excluded.push(offset);
      } else {
        const mine = (await this.members.get(userId)) ?? [];
        if (earlier !== undefined && earlier.snapshot === open.start) {
          // A changed copy (a replay of `features` after a fix): the newest is the one the
          // snapshot keeps, as the trainer keeps it, and the count stays its distinct examples.
          open.excluded.push(earlier.offset);
          const at = memberAt(mine, earlier.offset);
          if (at >= 0) {
            mine.splice(at, 3);
            open.count -= 1;
          }
        }
        mine.push(offset, ts, example.schemaId);
        this.members.put(userId, mine);
        this.exampleIds.put(id, { offset, snapshot: open.start, digest: example.digest });
        open.count += 1;
        if (open.firstTs === null) open.firstTs = ts;
      }
    }
    if (open.count >= this.options.everyExamples) open = await this.closeSnapshot(open, ts);
    this.open.put(OPEN_KEY, open);
  }

  /** The input ended: the open snapshot closes after its last example (nothing to do when it holds none). */
  async endOfInput(): Promise<void> {
    const open = await this.open.get(OPEN_KEY);
    if (open === undefined || open.count === 0) return;
    this.open.put(OPEN_KEY, await this.closeSnapshot(open, null));
  }

  private async applyProfile(userId: string, user: User | null): Promise<void> {
    if (user !== null && user.user_id !== userId)
      throw new ProcessingError(
        `rec.users record key ${describeUser(userId)} is not its user_id ${describeUser(user.user_id)}`,
      );
    const optedOutAt = await this.optOuts.get(userId);
    if (user !== null && !user.opt_out) {
      // An older version arriving late does not undo a newer opt-out.
      if (optedOutAt !== undefined && user.updated_ts > optedOutAt) this.optOuts.delete(userId);
      return;
    }
    if (user === null) this.optOuts.delete(userId);
    else if (optedOutAt === undefined || user.updated_ts > optedOutAt)
      this.optOuts.put(userId, user.updated_ts);
    await this.purge(userId);
  }

  /** Moves the user's examples in the open snapshot to its exclusions. */
  private async purge(userId: string): Promise<void> {
    const mine = await this.members.get(userId);
    if (mine === undefined) return;
    const open = (await this.open.get(OPEN_KEY))!;
    for (let i = 0; i < mine.length; i += 3) open.excluded.push(mine[i]!);
    open.count -= mine.length / 3;
    this.members.delete(userId);
    await this.forgetIds(this.exampleIds.range(userExampleKeys(userId)), () => true);
    this.open.put(OPEN_KEY, open);
  }

  /** Deletes the example ids of `entries` that `which` picks (collected first: a range is not changed while read). */
  private async forgetIds(
    entries: AsyncIterable<[string, ExampleEntry]>,
    which: (entry: ExampleEntry) => boolean,
  ): Promise<void> {
    const ids: string[] = [];
    for await (const [id, entry] of entries) if (which(entry)) ids.push(id);
    for (const id of ids) this.exampleIds.delete(id);
  }

  /**
   * Publishes the open snapshot and returns the next one, starting where it ended. `closingTs`:
   * the time of the example that closed it; null when the input ended, its own last example's.
   */
  private async closeSnapshot(open: OpenSnapshot, closingTs: number | null): Promise<OpenSnapshot> {
    let start: number | null = null;
    let end: number | null = null;
    const schemaIds = new Set<number>();
    const users: string[] = [];
    for await (const [userId, mine] of this.members.range()) {
      users.push(userId);
      for (let i = 0; i < mine.length; i += 3) {
        const ts = mine[i + 1]!;
        if (start === null || ts < start) start = ts;
        if (end === null || ts > end) end = ts;
        schemaIds.add(mine[i + 2]!);
      }
    }
    for (const userId of users) this.members.delete(userId);
    // The closing snapshot's ids stay, to recognise a repeat written after the cut; the ones
    // of the snapshot before it go.
    await this.forgetIds(this.exampleIds.range(), (entry) => entry.snapshot !== open.start);
    const range: OffsetRange = {
      topic: TRAINING_EXAMPLES_TOPIC,
      partition: this.ctx.partition,
      start_offset: open.start,
      end_offset: open.next,
      excluded_offsets: [...open.excluded].sort((a, b) => a - b),
    };
    const created = closingTs ?? end ?? this.ctx.streamTime();
    const snapshot: TrainingSnapshot = {
      snapshot_id: snapshotId([range]),
      created_ts: created,
      ranges: [range],
      example_count: open.count,
      event_time_start: start,
      event_time_end: end,
      schema_ids: [...schemaIds].sort((a, b) => a - b),
    };
    this.ctx.forward({ key: snapshot.snapshot_id, value: snapshot, timestamp: created });
    return fresh(open.next);
  }
}

/** Where the triple of `offset` starts in a user's flat members, or -1. */
function memberAt(mine: MemberExamples, offset: number): number {
  for (let i = 0; i < mine.length; i += 3) if (mine[i] === offset) return i;
  return -1;
}

function fresh(start: number): OpenSnapshot {
  return { start, next: start, count: 0, firstTs: null, excluded: [] };
}
