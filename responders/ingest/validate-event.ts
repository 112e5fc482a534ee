/**
 * Checks one JSON event of `POST /v1/events` against the `Interaction`
 * schema and the rules the schema's docs state but Avro cannot express, and
 * returns either the event ready to encode or every problem, by field.
 *
 * Lenient where it is safe: the nullable fields with a default (`value`,
 * `watch_ms`, each part of `context`) and `context` itself may be left out
 * and become null. Strict where silence would lose data: unknown fields (a
 * typo such as `watchMs`) and strings that are not valid Unicode are refused,
 * as are timestamps that cannot be epoch milliseconds of a real event.
 *
 * @example
 * ```ts
 * const checked = validateEvent({ event_id: 'e1', user_id: 'u1', item_id: 'i1', type: 'click', ts: -1 });
 * // { ok: false, errors: [{ field: 'ts', reason: 'is negative (-1); send epoch milliseconds (UTC)' }] }
 * ```
 */

import { parseAvroType, type SchemaSource } from '../../runtime/serde/avro.js';
import { fieldProblems, isStrictlyValid } from '../../runtime/serde/validation.js';
import type { Interaction } from '../../schemas/generated/types.js';
import { loadSchema } from '../../schemas/index.js';

/** One reason a record was refused. */
export interface FieldError {
  readonly field: string;
  readonly reason: string;
}

export type CheckedEvent =
  | { readonly ok: true; readonly event: Interaction }
  | { readonly ok: false; readonly errors: readonly FieldError[] };

/** Longest id (event, user, item) and context string accepted, in UTF-16 code units. */
export const MAX_STRING_LENGTH = 256;
/** How far ahead of the server clock an event time may be (client clocks drift). */
export const MAX_FUTURE_MS = 24 * 3600 * 1000;
/** 1973-03-03 in epoch ms: a smaller `ts` is almost surely seconds, not milliseconds. */
const MIN_PLAUSIBLE_TS = 100_000_000_000;

const TYPE = parseAvroType(
  loadSchema('rec.interactions-value') as SchemaSource,
  'the rec.interactions-value schema',
);
const ID_FIELDS = ['event_id', 'user_id', 'item_id'] as const;
const CONTEXT_FIELDS = ['device', 'country', 'session_id', 'surface', 'request_id'] as const;
const FRACTION_TYPES = new Set(['view', 'complete']);
// With the u flag a paired surrogate is one code point, so only unpaired halves match.
const LONE_SURROGATE = /\p{Cs}/u;

export function validateEvent(raw: unknown, now = Date.now()): CheckedEvent {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return {
      ok: false,
      errors: [{ field: '(event)', reason: `expected an object (an Interaction), got ${describe(raw)}` }],
    };
  }
  const event = withDefaults(raw as Record<string, unknown>);
  const errors: FieldError[] = isStrictlyValid(TYPE, event)
    ? []
    : fieldProblems(TYPE, event).map((p) => ({ field: p.path, reason: p.reason }));
  const typed = new Set(errors.map((e) => e.field));
  for (const problem of ruleProblems(event, now)) {
    if (!typed.has(problem.field)) errors.push(problem);
  }
  return errors.length === 0 ? { ok: true, event: event as unknown as Interaction } : { ok: false, errors };
}

function withDefaults(raw: Record<string, unknown>): Record<string, unknown> {
  const event: Record<string, unknown> = { ...raw };
  if (!Object.hasOwn(raw, 'value')) event.value = null;
  if (!Object.hasOwn(raw, 'watch_ms')) event.watch_ms = null;
  const context = raw.context;
  if (context === undefined) {
    event.context = { device: null, country: null, session_id: null, surface: null, request_id: null };
  } else if (context !== null && typeof context === 'object' && !Array.isArray(context)) {
    event.context = {
      device: null,
      country: null,
      session_id: null,
      surface: null,
      request_id: null,
      ...context,
    };
  }
  return event;
}

/** The rules beyond Avro types; each only looks at a field whose type is right. */
function ruleProblems(event: Record<string, unknown>, now: number): FieldError[] {
  const out: FieldError[] = [];
  for (const field of ID_FIELDS) {
    const value = event[field];
    if (typeof value !== 'string') continue;
    if (value.trim() === '') out.push({ field, reason: 'must not be empty' });
    else stringProblem(field, value, out);
  }
  const context = event.context as Record<string, unknown> | undefined;
  if (context !== null && typeof context === 'object') {
    for (const field of CONTEXT_FIELDS) {
      const value = context[field];
      if (typeof value === 'string') stringProblem(`context.${field}`, value, out);
    }
  }
  const ts = event.ts;
  if (typeof ts === 'number' && Number.isSafeInteger(ts)) {
    if (ts < 0) {
      out.push({ field: 'ts', reason: `is negative (${ts}); send epoch milliseconds (UTC)` });
    } else if (ts < MIN_PLAUSIBLE_TS) {
      out.push({
        field: 'ts',
        reason: `${ts} is before 1973-03-03 as epoch milliseconds: was it sent in seconds? send epoch milliseconds (UTC)`,
      });
    } else if (ts > now + MAX_FUTURE_MS) {
      out.push({
        field: 'ts',
        reason: `${new Date(ts).toISOString()} is more than 24 h ahead of the server clock (${new Date(now).toISOString()})`,
      });
    }
  }
  const watchMs = event.watch_ms;
  if (typeof watchMs === 'number' && watchMs < 0) {
    out.push({ field: 'watch_ms', reason: `must not be negative, got ${watchMs}` });
  }
  const value = event.value;
  const type = event.type;
  if (typeof value === 'number' && !Number.isFinite(value)) {
    out.push({ field: 'value', reason: `must be a finite number, got ${value}` });
  } else if (type === 'rate' && value === null) {
    out.push({ field: 'value', reason: 'is required for type rate (the rating)' });
  } else if (typeof value === 'number' && FRACTION_TYPES.has(type as string) && (value < 0 || value > 1)) {
    out.push({
      field: 'value',
      reason: `is the watch fraction for type ${type} and must be in [0, 1], got ${value}`,
    });
  }
  return out;
}

function stringProblem(field: string, value: string, out: FieldError[]): void {
  if (value.length > MAX_STRING_LENGTH) {
    out.push({ field, reason: `is ${value.length} characters long; at most ${MAX_STRING_LENGTH}` });
  } else if (LONE_SURROGATE.test(value)) {
    out.push({
      field,
      reason:
        'contains an unpaired UTF-16 surrogate (an escape such as \\ud800 with no partner); send valid Unicode',
    });
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string')
    return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return `${typeof value} ${String(value)}`;
}
