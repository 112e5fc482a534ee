/**
 * The snapshotter's deserializer for `rec.training-examples`: it needs an
 * example's writer schema id, nothing of its body (the key is the user id,
 * the record timestamp its event time), so it reads the 5-byte wire header
 * and skips Avro decoding. A value without the header throws, and the
 * runner dead-letters it; the snapshot then lists its offset as excluded.
 *
 * @example
 * ```ts
 * builder.addSource('training-examples', ['rec.training-examples'], exampleHeaderDeserializer);
 * ```
 */
import type { ValueDeserializer } from '../../runtime/processor/processor.js';
import { schemaIdOf } from '../../runtime/serde/wire.js';

/** What the snapshotter keeps of a training example. */
export interface ExampleHeader {
  readonly kind: 'example';
  readonly schemaId: number;
}

export const exampleHeaderDeserializer: ValueDeserializer<ExampleHeader> = {
  deserialize: (bytes) => ({ kind: 'example', schemaId: schemaIdOf(bytes) }),
};
