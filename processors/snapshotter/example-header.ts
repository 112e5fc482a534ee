/**
 * The snapshotter's deserializer for `rec.training-examples`: it needs an
 * example's writer schema id and its `example_id`, nothing else of its
 * body (the key is the user id, the record timestamp its event time), so
 * it reads the 5-byte wire header and the body's first field, and skips
 * the rest of the Avro decoding; a digest of the whole value tells a copy
 * written again unchanged (a crash repeat) from a changed one (a replay of
 * `features` after a fix). `example_id` is the first field of every
 * version of `TrainingExample` (pinned by `example-header.test.ts`). A
 * value without the header, or too short for its id, throws, and the
 * runner dead-letters it; the snapshot then lists its offset as excluded.
 *
 * @example
 * ```ts
 * builder.addSource('training-examples', ['rec.training-examples'], exampleHeaderDeserializer);
 * ```
 */
import { hash } from 'node:crypto';
import { DeserializationError } from '../../runtime/errors.js';
import type { ValueDeserializer } from '../../runtime/processor/processor.js';
import { schemaIdOf, WIRE_HEADER_SIZE } from '../../runtime/serde/wire.js';

/** What the snapshotter keeps of a training example. */
export interface ExampleHeader {
  readonly kind: 'example';
  readonly schemaId: number;
  readonly exampleId: string;
  /** {@link exampleDigest} of the whole value: equal for an unchanged copy. */
  readonly digest: string;
}

/**
 * A training example's content digest: the first 8 bytes of the SHA-1 of
 * its whole value (wire header included), as 16 hex digits. Two copies of
 * an example with equal digests are the same bytes but with odds of 2⁻⁶⁴.
 *
 * @example
 * ```ts
 * exampleDigest(Buffer.from([0, 0, 0, 0, 7])); // 'c37becf07ccb3e8c'
 * ```
 */
export function exampleDigest(bytes: Buffer): string {
  return hash('sha1', bytes, 'hex').slice(0, 16);
}

/** The Avro string at `at`: a zig-zag varint length, then that many UTF-8 bytes. */
function avroStringAt(bytes: Buffer, at: number): string {
  let zigzag = 0;
  let shift = 0;
  let pos = at;
  for (;;) {
    if (pos >= bytes.length || shift > 28)
      throw new DeserializationError(`training example too short for its example_id (${bytes.length} bytes)`);
    const byte = bytes[pos++]!;
    zigzag |= (byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) break;
    shift += 7;
  }
  const length = (zigzag >>> 1) ^ -(zigzag & 1);
  if (length < 0 || pos + length > bytes.length)
    throw new DeserializationError(
      `training example's example_id claims ${length} bytes, ${bytes.length - pos} left`,
    );
  return bytes.toString('utf8', pos, pos + length);
}

export const exampleHeaderDeserializer: ValueDeserializer<ExampleHeader> = {
  deserialize: (bytes) => ({
    kind: 'example',
    schemaId: schemaIdOf(bytes),
    exampleId: avroStringAt(bytes, WIRE_HEADER_SIZE),
    digest: exampleDigest(bytes),
  }),
};
