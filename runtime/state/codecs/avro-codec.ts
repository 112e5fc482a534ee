/**
 * A codec for Avro values (plain Avro binary, no Confluent framing: the store
 * knows its schema). Avro writes map entries in the order of the object's
 * keys, so maps are written with sorted keys here at every depth; equal
 * values then give equal bytes whatever order their entries were added in.
 * Schemas without maps pay nothing for this.
 *
 * Values encoded at every commit whose maps sit at the top level only and
 * are usually kept in key order already (the feature views: sorted-map.ts)
 * name those fields in `topLevelMaps`: the codec then looks at just those
 * maps and copies one only when its keys are out of order.
 *
 * @example
 * ```ts
 * const codec = avroCodec<{ clicks: number; byCategory: Record<string, number> }>({
 *   type: 'record', name: 'UserStats',
 *   fields: [{ name: 'clicks', type: 'long' }, { name: 'byCategory', type: { type: 'map', values: 'long' } }],
 * });
 * codec.encode({ clicks: 2, byCategory: { music: 1, film: 1 } }); // film before music
 * const viewCodec = avroCodec<UserView>(userViewSchema, { topLevelMaps: ['affinity'] });
 * ```
 */
import avro from 'avsc';
import { DeserializationError, StateStoreError } from '../../errors.js';
import { encodeAvro } from '../../serde/avro.js';
import type { ValueCodec } from '../store.js';

type AvroType = avro.Type;

export interface AvroCodecOptions<V> {
  /**
   * The only fields that hold maps, all at the top level: each is copied
   * sorted only when out of order, instead of the whole value at every depth.
   */
  readonly topLevelMaps?: readonly (keyof V & string)[];
}

export function avroCodec<V>(
  schemaOrType: avro.Schema | AvroType,
  options: AvroCodecOptions<V> = {},
): ValueCodec<V> {
  const type = schemaOrType instanceof avro.Type ? schemaOrType : avro.Type.forSchema(schemaOrType);
  const { topLevelMaps } = options;
  const sortMaps = containsMap(type, new Set());
  const ordered = (value: V): unknown => {
    if (topLevelMaps !== undefined)
      return withTopLevelMapsSorted(value as Record<string, unknown>, topLevelMaps);
    return sortMaps ? canonical(type, value) : value;
  };
  return {
    encode(value: V): Buffer {
      try {
        return encodeAvro(type, ordered(value));
      } catch (err) {
        throw new StateStoreError(
          `value does not match Avro type ${type.name ?? type.typeName}: ${(err as Error).message}`,
          err,
        );
      }
    },
    decode(bytes: Buffer): V {
      try {
        return type.fromBuffer(bytes) as V;
      } catch (err) {
        throw new DeserializationError(
          `bytes are not a valid ${type.name ?? type.typeName} Avro value: ${(err as Error).message}`,
          err,
        );
      }
    },
  };
}

function withTopLevelMapsSorted(
  value: Record<string, unknown>,
  fields: readonly string[],
): Record<string, unknown> {
  let written = value;
  for (const field of fields) {
    const map = written[field] as Record<string, unknown>;
    if (!inOrder(map)) written = { ...written, [field]: sortedByKey(map) };
  }
  return written;
}

function inOrder(map: Record<string, unknown>): boolean {
  let previous: string | undefined;
  for (const key in map) {
    if (previous !== undefined && previous > key) return false;
    previous = key;
  }
  return true;
}

function sortedByKey(map: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(map).sort()) out[key] = map[key];
  return out;
}

function containsMap(type: AvroType, seen: Set<AvroType>): boolean {
  if (seen.has(type)) return false;
  seen.add(type);
  return children(type).some((child) => child.typeName === 'map' || containsMap(child, seen));
}

function children(type: AvroType): AvroType[] {
  if (type instanceof avro.types.RecordType) return type.fields.map((field) => field.type);
  if (type instanceof avro.types.ArrayType) return [type.itemsType];
  if (type instanceof avro.types.MapType) return [type.valuesType as AvroType];
  if (type instanceof avro.types.UnwrappedUnionType || type instanceof avro.types.WrappedUnionType)
    return type.types;
  return [];
}

/** A copy of `value` whose maps have their keys in sorted order; other values are returned as they are. */
function canonical(type: AvroType, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return value;
  if (type instanceof avro.types.MapType) {
    const map = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(map).sort()) out[key] = canonical(type.valuesType as AvroType, map[key]);
    return out;
  }
  if (type instanceof avro.types.RecordType) {
    const record = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const field of type.fields) out[field.name] = canonical(field.type, record[field.name]);
    return out;
  }
  if (type instanceof avro.types.ArrayType) {
    return Array.isArray(value) ? value.map((item) => canonical(type.itemsType, item)) : value;
  }
  if (type instanceof avro.types.WrappedUnionType) {
    const [branch] = Object.keys(value);
    const branchType = type.types.find((t) => t.branchName === branch);
    return branch === undefined || branchType === undefined
      ? value
      : { [branch]: canonical(branchType, (value as Record<string, unknown>)[branch]) };
  }
  if (type instanceof avro.types.UnwrappedUnionType) {
    // avsc allows one branch per value kind in an unwrapped union: one array branch, one map-or-record branch.
    const wanted = Array.isArray(value) ? ['array'] : ['map', 'record', 'error'];
    const branchType = type.types.find((t) => wanted.includes(t.typeName));
    return branchType === undefined ? value : canonical(branchType, value);
  }
  return value;
}
