/**
 * What the ingest answers for one batch of events: how many it appended,
 * how many it had accepted before, and each record it refused with the
 * fields that made it so.
 *
 * @example
 * ```ts
 * const refused = [conflict(3, 'e3', 'an event accepted earlier')];
 * const result: IngestResult = { accepted: 98, duplicates: 1, refused };
 * ```
 */
import type { FieldError } from './validate-event.js';

/** A record that was not accepted, and why. */
export interface Refusal {
  /** Position of the record in the request's array. */
  readonly index: number;
  /** Its event_id when it had a readable one. */
  readonly event_id?: string;
  readonly errors: readonly FieldError[];
}

export interface IngestResult {
  /** Records appended by this request. */
  readonly accepted: number;
  /** Records whose event_id was accepted before with the same content: already in the log, not appended again. */
  readonly duplicates: number;
  readonly refused: readonly Refusal[];
}

/** The refusal of record `index` (`raw`) for failing validation; named by its event_id when that is readable. */
export function refusal(index: number, raw: unknown, errors: readonly FieldError[]): Refusal {
  const id = (raw as { event_id?: unknown } | null)?.event_id;
  return typeof id === 'string' && id.length <= 256 ? { index, event_id: id, errors } : { index, errors };
}

/** The refusal of record `index`, whose event id `earlier` already used for other content. */
export function conflict(index: number, id: string, earlier: string): Refusal {
  return {
    index,
    event_id: id,
    errors: [
      {
        field: 'event_id',
        reason: `is already used by ${earlier} with different content; event ids must be unique per event`,
      },
    ],
  };
}
