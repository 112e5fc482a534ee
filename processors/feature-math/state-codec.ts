/**
 * Codec for the feature views' own records: plain Avro binary, with the
 * entries of the record's top-level maps written in sorted key order so
 * that equal views give equal bytes (store digests compare bytes). The
 * general `avroCodec` copies the whole value to sort maps at any depth;
 * views only have maps at the top level, and are encoded at every commit,
 * so this one looks at just those maps, and copies one only when its keys
 * are out of order (the views keep theirs in order: `sorted-map.ts`).
 *
 * @example
 * ```ts
 * const codec = viewCodec<UserView>(schema, ['affinity']);
 * codec.encode(view); // affinity entries in key order
 * ```
 */
import avro from 'avsc';
import { DeserializationError, StateStoreError } from '../../runtime/errors.js';
import { encodeAvro } from '../../runtime/serde/avro.js';
import type { ValueCodec } from '../../runtime/state/store.js';

function sorted(map: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(map).sort()) out[key] = map[key];
  return out;
}

function inOrder(map: Record<string, unknown>): boolean {
  let previous: string | undefined;
  for (const key in map) {
    if (previous !== undefined && previous > key) return false;
    previous = key;
  }
  return true;
}

export function viewCodec<V extends object>(
  schema: avro.Schema,
  mapFields: readonly (keyof V & string)[],
): ValueCodec<V> {
  const type = avro.Type.forSchema(schema);
  return {
    encode(value: V): Buffer {
      let written = value as Record<string, unknown>;
      for (const field of mapFields) {
        const map = written[field] as Record<string, unknown>;
        if (!inOrder(map)) written = { ...written, [field]: sorted(map) };
      }
      try {
        return encodeAvro(type, written);
      } catch (err) {
        throw new StateStoreError(
          `value does not match Avro type ${type.name}: ${(err as Error).message}`,
          err,
        );
      }
    },
    decode(bytes: Buffer): V {
      try {
        return type.fromBuffer(bytes) as V;
      } catch (err) {
        throw new DeserializationError(
          `bytes are not a valid ${type.name} Avro value: ${(err as Error).message}`,
          err,
        );
      }
    },
  };
}
