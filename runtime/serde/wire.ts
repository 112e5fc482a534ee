/**
 * Confluent's wire format: magic byte 0, the writer schema's registry id as a
 * 4-byte big-endian integer, then the Avro binary body. Any Confluent
 * serializer (Java, Go, Python, kafkajs) reads and writes the same bytes.
 *
 * @example
 * ```ts
 * const bytes = Buffer.alloc(WIRE_HEADER_SIZE + body.length);
 * writeWireHeader(bytes, 42);
 * body.copy(bytes, WIRE_HEADER_SIZE);
 * schemaIdOf(bytes); // 42
 * ```
 */
import { DeserializationError } from '../errors.js';

export const MAGIC_BYTE = 0;
export const WIRE_HEADER_SIZE = 5;

/** Writes the 5-byte header at the start of `target`. */
export function writeWireHeader(target: Buffer, schemaId: number): void {
  target[0] = MAGIC_BYTE;
  target.writeUInt32BE(schemaId, 1);
}

/**
 * The writer schema id of a wire-format value.
 *
 * @throws DeserializationError when the bytes are too short for the header or do not start with the magic byte
 */
export function schemaIdOf(bytes: Buffer): number {
  if (bytes.length < WIRE_HEADER_SIZE) {
    throw new DeserializationError(
      `value is ${bytes.length} byte${bytes.length === 1 ? '' : 's'}, too short for the Confluent wire format ` +
        '(magic byte 0, 4-byte schema id, Avro body)',
    );
  }
  if (bytes[0] !== MAGIC_BYTE) {
    const first = bytes[0]!;
    const hint = first === 0x7b || first === 0x5b ? '; it looks like JSON' : '';
    throw new DeserializationError(
      `value starts with byte 0x${first.toString(16).padStart(2, '0')}, not the Confluent wire-format magic byte 0x00` +
        `, so it was not written by a schema-registry Avro serializer${hint}`,
    );
  }
  return bytes.readUInt32BE(1);
}
