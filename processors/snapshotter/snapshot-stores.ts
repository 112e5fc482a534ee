/**
 * The snapshotter's stores and what they hold. One set per task, so per
 * partition of `rec.training-examples` (snapshots are per partition, see
 * docs/decisions.md §15).
 *
 * @example
 * ```ts
 * builder.addStore({ name: SNAPSHOT_OPEN_STORE, codec: openSnapshotCodec }, ['snapshotter']);
 * ```
 */
import { DeserializationError } from '../../runtime/errors.js';
import { jsonCodec, numberCodec } from '../../runtime/state/codecs/index.js';
import type { ValueCodec } from '../../runtime/state/store.js';

/** Store `snapshot-open`: one entry, {@link OPEN_KEY}, the snapshot being filled. */
export const SNAPSHOT_OPEN_STORE = 'snapshot-open';
/** Store `snapshot-members`: key user_id, the user's examples in the open snapshot. */
export const SNAPSHOT_MEMBERS_STORE = 'snapshot-members';
/**
 * Store `snapshot-example-ids`: key `<user_id>\u0000<example_id>` of each
 * example in the open snapshot and in the last closed one, value an
 * {@link ExampleEntry}. A second copy of an example (a crash or a replay of
 * `features` writes it anew) is recognised by it: an unchanged copy is
 * excluded, a changed one replaces the first in the open snapshot.
 */
export const SNAPSHOT_EXAMPLE_IDS_STORE = 'snapshot-example-ids';
/** Store `snapshot-opt-outs`: key user_id of a user whose current profile opts out, value its `updated_ts`. */
export const SNAPSHOT_OPT_OUTS_STORE = 'snapshot-opt-outs';

export const OPEN_KEY = 'open';

/** The snapshot a task is filling: offsets `[start, next)` of its partition. */
export interface OpenSnapshot {
  readonly start: number;
  next: number;
  /** Examples in the snapshot now (members; excluded offsets not counted). */
  count: number;
  /** Event time of the first example, where the `snapshotEveryMs` span starts. */
  firstTs: number | null;
  /** Offsets in `[start, next)` left out; unsorted until the snapshot closes. */
  excluded: number[];
}

/**
 * A user's examples in the open snapshot as flat triples
 * `[offset, event time, schema id, …]`: their min/max event time and
 * schema ids are only final at close, when purged users are known.
 */
export type MemberExamples = number[];

export const openSnapshotCodec: ValueCodec<OpenSnapshot> = jsonCodec<OpenSnapshot>();
export const memberExamplesCodec: ValueCodec<MemberExamples> = jsonCodec<MemberExamples>();
export const optOutCodec: ValueCodec<number> = numberCodec;

/** What `snapshot-example-ids` keeps of an example's copy in a snapshot. */
export interface ExampleEntry {
  /** Offset of the copy the snapshot holds. */
  readonly offset: number;
  /** `start` of the snapshot that holds it: the open one's, or the last closed one's. */
  readonly snapshot: number;
  /** The copy's content digest (`exampleDigest`, 16 hex digits). */
  readonly digest: string;
}

/** An {@link ExampleEntry} in 24 bytes: offset, snapshot start, digest. */
export const exampleEntryCodec: ValueCodec<ExampleEntry> = {
  encode(entry) {
    const bytes = Buffer.alloc(24);
    bytes.writeDoubleBE(entry.offset, 0);
    bytes.writeDoubleBE(entry.snapshot, 8);
    bytes.write(entry.digest, 16, 8, 'hex');
    return bytes;
  },
  decode(bytes) {
    if (bytes.length !== 24)
      throw new DeserializationError(`a snapshot-example-ids entry is 24 bytes, this one ${bytes.length}`);
    return {
      offset: bytes.readDoubleBE(0),
      snapshot: bytes.readDoubleBE(8),
      digest: bytes.toString('hex', 16, 24),
    };
  },
};

/** The `snapshot-example-ids` key of a user's example. */
export function exampleKey(userId: string, exampleId: string): string {
  return `${userId}\u0000${exampleId}`;
}

/** The `snapshot-example-ids` keys of one user: `[gte, lt)`. */
export function userExampleKeys(userId: string): { gte: string; lt: string } {
  return { gte: `${userId}\u0000`, lt: `${userId}\u0001` };
}
