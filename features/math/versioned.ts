/**
 * Versioned table values (Kafka Streams' versioned key-value stores): a key
 * keeps its last few versions, each valid from its own event time, so that
 * a stream-table join can read the table *as of the event's time* instead
 * of as of whenever the join happened to run. A replay then joins exactly
 * as the live run did, and no event sees a table change from its future.
 *
 * `asOf(t)` is the newest version with `ts <= t` (a change at the event's
 * very millisecond is visible to it). Versions arriving out of order are
 * slotted in by time; equal times replace. Only the newest `MAX_VERSIONS`
 * are kept: an event older than all of them reads as if the key had no
 * value yet.
 *
 * @example
 * ```ts
 * let v = withVersion(undefined, 100, 'blue');
 * v = withVersion(v, 200, 'red');
 * asOf(v, 150); // 'blue'
 * latest(v);    // 'red'
 * ```
 */

export interface Version<T> {
  readonly ts: number;
  readonly value: T;
}

/** Versions of one key, oldest first. */
export interface Versioned<T> {
  readonly versions: readonly Version<T>[];
}

export const MAX_VERSIONS = 8;

/** A new value with `value` valid from `ts` (the input is left as it is: readers may hold it). */
export function withVersion<T>(current: Versioned<T> | undefined, ts: number, value: T): Versioned<T> {
  const versions = current ? [...current.versions] : [];
  let i = versions.length;
  while (i > 0 && versions[i - 1]!.ts > ts) i--;
  if (i > 0 && versions[i - 1]!.ts === ts) versions[i - 1] = { ts, value };
  else versions.splice(i, 0, { ts, value });
  return { versions: versions.length > MAX_VERSIONS ? versions.slice(-MAX_VERSIONS) : versions };
}

/** The value valid at `t`: the newest version with `ts <= t`, or undefined. */
export function asOf<T>(versioned: Versioned<T> | undefined, t: number): T | undefined {
  if (versioned === undefined) return undefined;
  const versions = versioned.versions;
  for (let i = versions.length - 1; i >= 0; i--) if (versions[i]!.ts <= t) return versions[i]!.value;
  return undefined;
}

/** The newest version's value. */
export function latest<T>(versioned: Versioned<T> | undefined): T | undefined {
  return versioned?.versions.at(-1)?.value;
}
