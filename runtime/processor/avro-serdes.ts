/**
 * Adapters from the registry-backed Avro serde to the processor API's
 * (de)serializers. Decoding takes the synchronous path once a writer schema
 * has been seen, so the hot loop pays no await per record.
 *
 * @example
 * ```ts
 * const interactions = avroDeserializer(await serde.decoder('rec.interactions-value'));
 * builder.addSource('interactions', ['rec.interactions'], interactions);
 * ```
 */
import { SchemaNotFoundError } from '../errors.js';
import type { Decoder, Encoder } from '../serde/serde.js';
import type { ValueDeserializer, ValueSerializer } from './processor.js';

export function avroDeserializer<T>(decoder: Decoder<T>): ValueDeserializer<T> {
  return {
    deserialize(bytes: Buffer): T | Promise<T> {
      try {
        return decoder.decodeSync(bytes);
      } catch (error) {
        // First value written with this schema id: fetch the writer schema once.
        if (error instanceof SchemaNotFoundError) return decoder.decode(bytes);
        throw error;
      }
    },
  };
}

export function avroSerializer<T>(encoder: Encoder<T>): ValueSerializer<T> {
  return { serialize: (value: T) => encoder.encode(value) };
}
