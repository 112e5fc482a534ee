/**
 * Store keys that sort by event time: `<ts as 12 hex digits>\u0000<id>`.
 * Stores iterate keys in byte order, so a range scan of such a store walks
 * its entries in (event time, id) order — the order events are released in.
 *
 * @example
 * ```ts
 * timeKey(1_735_689_600_000, 'e1'); // '019420ef9400\u0000e1'
 * ```
 */

export function timeKey(ts: number, id: string): string {
  return `${ts.toString(16).padStart(12, '0')}\u0000${id}`;
}

/** Orders (ts, id) pairs the way their time keys sort: by time, then by the id's UTF-8 bytes. */
export function compareTimeId(aTs: number, aId: string, bTs: number, bId: string): number {
  if (aTs !== bTs) return aTs < bTs ? -1 : 1;
  return Buffer.compare(Buffer.from(aId, 'utf8'), Buffer.from(bId, 'utf8'));
}
