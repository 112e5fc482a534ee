/**
 * Commit markers: the record that closes each changelog batch of a task.
 * A marker carries the commit's sequence number, the input offsets the
 * state reflects, and the names of the stores the commit wrote (every store
 * of the task gets a batch in a commit that changed anything, so markers of
 * one commit can be matched across changelogs).
 *
 * Markers use a reserved key that stores refuse, plus a header, so they can
 * never be mistaken for a store entry; log compaction keeps the last one.
 *
 * @example
 * ```ts
 * await log.append(topic, [...entries, markerRecord(partition, { kind: 'commit', seq: 8, inputOffsets: { 'rec.interactions': 1200 }, stores: ['counts'] })]);
 * ```
 */
import { CorruptDataError } from '../../errors.js';
import type { LogRecord, OutgoingRecord } from '../../log/log.js';
import { stableStringify } from '../codecs/stable-json.js';

/** The changelog key of a marker; stores reject it as a key. */
export const MARKER_KEY = '\u0000commit';
/** The header that flags a marker (`recstream.marker=commit`). */
export const MARKER_HEADER = 'recstream.marker';

export interface CommitMarker {
  /** `commit` ends a regular commit; `correction` ends a batch that rolled orphans back; `wipe` ends a reset. */
  readonly kind: 'commit' | 'correction' | 'wipe';
  /** Commit sequence number of the task; equal in every changelog of one commit. */
  readonly seq: number;
  /** Next offset to read per input topic, for the task's partition. */
  readonly inputOffsets: Readonly<Record<string, number>>;
  /** Stores of the task at that commit. */
  readonly stores: readonly string[];
}

export function markerRecord(partition: number, marker: CommitMarker): OutgoingRecord {
  return {
    key: MARKER_KEY,
    value: Buffer.from(stableStringify(marker), 'utf8'),
    partition,
    headers: { [MARKER_HEADER]: 'commit' },
  };
}

export function isMarker(record: LogRecord): boolean {
  return record.headers?.[MARKER_HEADER] !== undefined;
}

export function parseMarker(record: LogRecord): CommitMarker {
  const where = `${record.topic}/${record.partition}@${record.offset}`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(record.value?.toString('utf8') ?? 'null');
  } catch (err) {
    throw new CorruptDataError(`commit marker at ${where} is not JSON`, err);
  }
  const m = parsed as Partial<CommitMarker> | null;
  const valid =
    m !== null &&
    typeof m === 'object' &&
    (m.kind === 'commit' || m.kind === 'correction' || m.kind === 'wipe') &&
    Number.isSafeInteger(m.seq) &&
    typeof m.inputOffsets === 'object' &&
    m.inputOffsets !== null &&
    Object.values(m.inputOffsets).every((o) => Number.isSafeInteger(o)) &&
    Array.isArray(m.stores) &&
    m.stores.every((s) => typeof s === 'string');
  if (!valid)
    throw new CorruptDataError(`commit marker at ${where} is malformed: ${record.value?.toString('utf8')}`);
  return m as CommitMarker;
}
