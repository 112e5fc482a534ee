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
import { jsonCodec, numberCodec } from '../../runtime/state/codecs/index.js';
import type { ValueCodec } from '../../runtime/state/store.js';

/** Store `snapshot-open`: one entry, {@link OPEN_KEY}, the snapshot being filled. */
export const SNAPSHOT_OPEN_STORE = 'snapshot-open';
/** Store `snapshot-members`: key user_id, the user's examples in the open snapshot. */
export const SNAPSHOT_MEMBERS_STORE = 'snapshot-members';
/**
 * Store `snapshot-example-ids`: key `<user_id>\u0000<example_id>` of each
 * example in the open snapshot, value its offset; a second copy of an
 * example (a crash or a replay of `features` writes it anew) replaces the
 * first in the snapshot.
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
export const exampleOffsetCodec: ValueCodec<number> = numberCodec;

/** The `snapshot-example-ids` key of a user's example. */
export function exampleKey(userId: string, exampleId: string): string {
  return `${userId}\u0000${exampleId}`;
}

/** The `snapshot-example-ids` keys of one user: `[gte, lt)`. */
export function userExampleKeys(userId: string): { gte: string; lt: string } {
  return { gte: `${userId}\u0000`, lt: `${userId}\u0001` };
}
