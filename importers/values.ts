/**
 * Field parsers shared by every import format. Each one either returns a
 * value the Avro schema accepts or throws BadFieldError naming the field and
 * what is wrong with it, which the importer turns into a bad-line report.
 *
 * @example
 * ```ts
 * parseTimestamp('ts', '881250949', 's');          // 881250949000
 * parseTimestamp('ts', '2024-05-01T10:00:00Z', 'auto');
 * parseId('item_id', '');                          // throws BadFieldError: item_id: is empty
 * ```
 */
import { describeUser } from '../runtime/observability/user-hash.js';
import { INTERACTION_TYPE_SYMBOLS, type InteractionType } from '../schemas/generated/types.js';

/** One field of one input line is unusable; `field` names it as the output schema does. */
export class BadFieldError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
    this.name = 'BadFieldError';
  }
}

/** Ids longer than this are refused: they are almost always a mis-split line, not an id. */
export const MAX_ID_LENGTH = 512;

/**
 * How a timestamp column is read. `auto`: an integer below 10^11 is unix
 * seconds (before year 5138), a larger one milliseconds, anything else an
 * ISO-8601 date.
 */
export type TimestampUnit = 'auto' | 's' | 'ms' | 'iso';
export const TIMESTAMP_UNITS: readonly TimestampUnit[] = ['auto', 's', 'ms', 'iso'];

const SECONDS_BELOW = 1e11;
const INTEGER = /^[+-]?\d+$/;

export function parseId(
  field: string,
  raw: string | undefined,
  show: (id: string) => string = quote,
): string {
  if (raw === undefined) throw new BadFieldError(field, 'is missing');
  const id = raw.trim();
  if (id.length === 0) throw new BadFieldError(field, 'is empty');
  if (id.length > MAX_ID_LENGTH)
    throw new BadFieldError(field, `is ${id.length} characters long (max ${MAX_ID_LENGTH})`);
  // Control characters in an id are a broken file, and would make keys that print as something else.
  if (/[\u0000-\u001f\u007f]/.test(id))
    throw new BadFieldError(field, `contains a control character: ${show(id)}`);
  return id;
}

/** A user id: as `parseId`, but a refusal names it by its keyed hash (bad-line reports are read like logs). */
export function parseUserId(field: string, raw: string | undefined): string {
  return parseId(field, raw, describeUser);
}

export function parseTimestamp(field: string, raw: string | undefined, unit: TimestampUnit): number {
  if (raw === undefined) throw new BadFieldError(field, 'is missing');
  const text = raw.trim();
  if (text.length === 0) throw new BadFieldError(field, 'is empty');
  let ms: number;
  if (unit === 'iso' || (unit === 'auto' && !INTEGER.test(text))) {
    ms = Date.parse(text);
    if (Number.isNaN(ms))
      throw new BadFieldError(
        field,
        `${quote(text)} is not a timestamp (unix seconds, milliseconds or ISO-8601)`,
      );
  } else {
    if (!INTEGER.test(text))
      throw new BadFieldError(
        field,
        `${quote(text)} is not a whole number of ${unit === 'ms' ? 'milliseconds' : 'seconds'}`,
      );
    const n = Number(text);
    ms = unit === 's' || (unit === 'auto' && Math.abs(n) < SECONDS_BELOW) ? n * 1000 : n;
  }
  if (ms < 0) throw new BadFieldError(field, `${quote(text)} is before 1970 (negative timestamp)`);
  if (!Number.isSafeInteger(ms) || ms > 8.64e15)
    throw new BadFieldError(field, `${quote(text)} is out of range`);
  return ms;
}

/** A rating or other numeric value; empty is null (no value). */
export function parseValue(field: string, raw: string | undefined): number | null {
  if (raw === undefined) return null;
  const text = raw.trim();
  if (text.length === 0) return null;
  const n = Number(text);
  if (!Number.isFinite(n) || !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) {
    throw new BadFieldError(field, `${quote(text)} is not a number`);
  }
  return n;
}

export function parseInteractionType(field: string, raw: string | undefined): InteractionType {
  if (raw === undefined) throw new BadFieldError(field, 'is missing');
  const text = raw.trim();
  if (!(INTERACTION_TYPE_SYMBOLS as readonly string[]).includes(text)) {
    throw new BadFieldError(
      field,
      `${quote(text)} is not an interaction type (one of ${INTERACTION_TYPE_SYMBOLS.join(', ')})`,
    );
  }
  return text as InteractionType;
}

/** A non-negative whole number, e.g. watch_ms; empty is null. */
export function parseCount(field: string, raw: string | undefined): number | null {
  if (raw === undefined || raw.trim().length === 0) return null;
  const text = raw.trim();
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new BadFieldError(field, `${quote(text)} is not a non-negative whole number`);
  }
  return Number(text);
}

/** Optional free text (context fields); empty is null. */
export function parseOptionalText(field: string, raw: string | undefined): string | null {
  if (raw === undefined) return null;
  const text = raw.trim();
  if (text.length === 0) return null;
  if (text.length > MAX_ID_LENGTH)
    throw new BadFieldError(field, `is ${text.length} characters long (max ${MAX_ID_LENGTH})`);
  return text;
}

/** Quotes a value for a message, cut short so one huge field cannot flood a report. */
export function quote(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text);
}
