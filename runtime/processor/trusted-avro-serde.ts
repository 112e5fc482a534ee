/**
 * A sink serializer for values this application builds itself (enriched
 * interactions, training examples): Confluent wire format with the
 * subject's registered schema id, like `avroSerializer`, but without the
 * per-value validation pass, which explains bad *input* field by field and
 * costs as much as the encoding. These values come from typed code whose
 * output the schema and point-in-time tests decode; a value avsc cannot
 * write still fails the record (and dead-letters it).
 *
 * @example
 * ```ts
 * const examples = await trustedAvroSerializer(serde, 'rec.training-examples-value');
 * builder.addSink('training-examples', 'rec.training-examples', examples, ['item-features']);
 * ```
 */
import { parseAvroType } from '../serde/avro.js';
import type { Serde } from '../serde/serde.js';
import { WIRE_HEADER_SIZE, writeWireHeader } from '../serde/wire.js';
import type { ValueSerializer } from './processor.js';

export async function trustedAvroSerializer<T>(serde: Serde, subject: string): Promise<ValueSerializer<T>> {
  const { schemaId } = await serde.encoder(subject);
  // The encoder above has a local schema for the subject, or it threw.
  const type = parseAvroType(serde.localSchema(subject)!, subject);
  let scratch = Buffer.allocUnsafe(16 * 1024);
  writeWireHeader(scratch, schemaId);
  return {
    serialize(value: T): Buffer {
      let end = type.encode(value, scratch, WIRE_HEADER_SIZE);
      while (end < 0) {
        scratch = Buffer.allocUnsafe(Math.max(scratch.length * 2, scratch.length - end));
        writeWireHeader(scratch, schemaId);
        end = type.encode(value, scratch, WIRE_HEADER_SIZE);
      }
      return Buffer.from(scratch.subarray(0, end));
    },
  };
}
