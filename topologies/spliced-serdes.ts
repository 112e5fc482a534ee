/**
 * The `features` application's serdes around item-features, which pass the
 * user's features through as bytes (`processors/item-features/enriched-wire.ts`,
 * `example-parts.ts`): the enriched source keeps them encoded, and the
 * training-example sink copies them into the example. Both write and read
 * the Confluent wire format with the subjects' registered schema ids, so
 * any Avro reader of the topics sees ordinary records.
 *
 * An enriched record written under another version of its schema (before
 * `user` moved to the end) is decoded in full through the registry and its
 * features encoded once.
 *
 * @example
 * ```ts
 * builder.addSource('enriched-interactions', [ENRICHED_TOPIC], await enrichedWireDeserializer(serde))
 *   .addSink('training-examples', TRAINING_EXAMPLES_TOPIC, await exampleSerializer(serde), ['item-features']);
 * ```
 */
import {
  ENRICHED_SUBJECT,
  type EnrichedWire,
  fromEnriched,
  readEnrichedBody,
} from '../processors/item-features/enriched-wire.js';
import {
  type ExampleParts,
  encodeExample,
  TRAINING_EXAMPLE_SUBJECT,
} from '../processors/item-features/example-parts.js';
import { avroDeserializer } from '../runtime/processor/avro-serdes.js';
import type { ValueDeserializer, ValueSerializer } from '../runtime/processor/processor.js';
import type { Serde } from '../runtime/serde/serde.js';
import { schemaIdOf, WIRE_HEADER_SIZE, writeWireHeader } from '../runtime/serde/wire.js';
import type { EnrichedInteraction } from '../schemas/generated/types.js';

export async function enrichedWireDeserializer(serde: Serde): Promise<ValueDeserializer<EnrichedWire>> {
  const { schemaId } = await serde.encoder(ENRICHED_SUBJECT);
  const other = avroDeserializer<EnrichedInteraction>(await serde.decoder(ENRICHED_SUBJECT));
  return {
    deserialize(bytes, topic) {
      if (schemaIdOf(bytes) === schemaId) return readEnrichedBody(bytes, WIRE_HEADER_SIZE, topic);
      const decoded = other.deserialize(bytes, topic);
      return decoded instanceof Promise ? decoded.then(fromEnriched) : fromEnriched(decoded);
    },
  };
}

export async function exampleSerializer(serde: Serde): Promise<ValueSerializer<ExampleParts>> {
  const { schemaId } = await serde.encoder(TRAINING_EXAMPLE_SUBJECT);
  const header = Buffer.alloc(WIRE_HEADER_SIZE);
  writeWireHeader(header, schemaId);
  return { serialize: (parts) => encodeExample(parts, header) };
}
