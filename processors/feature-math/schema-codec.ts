/**
 * Store codecs from the shipped Avro schemas: a store holding `Item`s or
 * `Interaction`s writes them as plain Avro binary of the subject's newest
 * schema, so the changelog (and the online store materialized from it)
 * holds the same bytes a reader of the subject's schema understands.
 *
 * @example
 * ```ts
 * const itemCodec = subjectCodec<Item>('rec.items-value');
 * ```
 */
import { encodeAvro, parseAvroType } from '../../runtime/serde/avro.js';
import { avroCodec } from '../../runtime/state/codecs/index.js';
import type { ValueCodec } from '../../runtime/state/store.js';
import { loadSchema } from '../../schemas/index.js';

export function subjectCodec<T>(subject: string): ValueCodec<T> {
  return avroCodec<T>(parseAvroType(loadSchema(subject) as never, subject));
}

/**
 * Like `subjectCodec`, but map entries are written in the order the value
 * holds them instead of being sorted first. Only for values whose maps are
 * always built in one order (the feature records this application builds
 * and decodes), where sorting would be a copy of every value at every
 * commit for nothing.
 */
export function orderedSubjectCodec<T>(subject: string): ValueCodec<T> {
  const type = parseAvroType(loadSchema(subject) as never, subject);
  return {
    encode: (value) => encodeAvro(type, value),
    decode: (bytes) => type.fromBuffer(bytes) as T,
  };
}

/** The JSON of a subject's newest schema, to nest its record types in a store's own schema. */
export function subjectSchema(subject: string): Record<string, unknown> {
  return structuredClone(loadSchema(subject)) as Record<string, unknown>;
}
