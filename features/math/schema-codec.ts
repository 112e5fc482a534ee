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
import { parseAvroType } from '../../runtime/serde/avro.js';
import { avroCodec } from '../../runtime/state/codecs/index.js';
import type { ValueCodec } from '../../runtime/state/store.js';
import { loadSchema } from '../../schemas/index.js';

export function subjectCodec<T>(subject: string): ValueCodec<T> {
  return avroCodec<T>(parseAvroType(loadSchema(subject) as never, subject));
}
