/**
 * The one way recstream turns an Avro schema into an avsc `Type`, so that the
 * serde, the registry and the type generator agree on how values look in
 * JavaScript: records are plain objects, unions are never wrapped (a nullable
 * string is `string | null`), logical types are left to their underlying type
 * (timestamp-millis is a number of milliseconds), bytes are Buffers.
 *
 * @example
 * ```ts
 * const type = parseAvroType(loadSchema('rec.items-value'));
 * type.isValid(item); // true
 * ```
 */
import avsc from 'avsc';
import { InvalidSchemaError } from '../errors.js';

export type AvroType = avsc.Type;

/** A parsed `.avsc` document: an Avro schema as JSON. */
export type AvroSchema = string | readonly unknown[] | { readonly [key: string]: unknown };

/** A schema as JSON text (the way Confluent's REST API carries it) or as a parsed `.avsc` document. */
export type SchemaSource = string | Exclude<AvroSchema, string>;

// A fresh object per parse: avsc stores its registry of named types in the
// options it is given, and a shared one would make every schema that defines
// rec.Interaction collide with the first.
function typeOptions() {
  return { wrapUnions: 'never', omitRecordMethods: true, registry: {} as Record<string, avsc.Type> } as const;
}

/**
 * Makes the records avsc decodes plain objects. avsc builds each with a
 * generated constructor, whose instances fail `deepStrictEqual` against
 * literals and differ between two parses of one schema; with the
 * constructor's prototype set to Object.prototype they are ordinary objects
 * of one shape, which V8 handles just as fast.
 *
 * Also gives each record's field-name lookup no prototype: avsc keeps it in
 * a plain object, so its undeclared-field check took a key such as
 * `__proto__` or `constructor` for a declared field and let it through.
 */
function usePlainRecords(registry: Record<string, avsc.Type>): void {
  for (const type of Object.values(registry)) {
    const recordClass = (type as { recordConstructor?: { prototype: object } }).recordConstructor;
    if (recordClass !== undefined) recordClass.prototype = Object.prototype;
    const fieldsByName = (type as { _fieldsByName?: object })._fieldsByName;
    if (fieldsByName !== undefined) Object.setPrototypeOf(fieldsByName, null);
  }
}

/**
 * Parses a schema, given as JSON text or as a parsed document.
 *
 * @throws InvalidSchemaError when it is not JSON or not valid Avro
 */
export function parseAvroType(schema: SchemaSource, what = 'schema'): AvroType {
  let document: unknown = schema;
  if (typeof schema === 'string') {
    try {
      document = JSON.parse(schema);
    } catch (err) {
      throw new InvalidSchemaError(`${what} is not valid JSON: ${(err as Error).message}`, err);
    }
  }
  const options = typeOptions();
  let type: AvroType;
  try {
    type = avsc.Type.forSchema(document as Parameters<typeof avsc.Type.forSchema>[0], options);
  } catch (err) {
    throw new InvalidSchemaError(`${what} is not valid Avro: ${(err as Error).message}`, err);
  }
  usePlainRecords(options.registry);
  return type;
}

/** The parts of avsc's internal reading cursor that a bounded read needs. */
interface Tap {
  readonly buf: Buffer;
  pos: number;
  readLong(): number;
  skipLong(): void;
  readString(): string;
}

interface Reader {
  _read(tap: Tap): unknown;
}

/**
 * Arrays and maps stop reading once the bytes are used up. avsc trusts a
 * block's item count: a corrupt count (one flipped bit of a record) of a few
 * billion made it loop that many times over an exhausted buffer, holding a
 * processor for minutes and growing its heap by gigabytes, instead of failing
 * the record at once. Every item of these schemas takes a byte at least, so
 * reading stops past the end and the body reads as truncated. Set on the
 * prototypes, once: avsc freezes its types, and resolvers copy the method.
 */
const { ArrayType, MapType } = (avsc as unknown as { types: Record<string, { prototype: object }> }).types;
(ArrayType!.prototype as Reader)._read = function (this: { itemsType: Reader }, tap: Tap) {
  const values: unknown[] = [];
  for (let n = blockCount(tap); n > 0; n = blockCount(tap))
    while (n-- > 0 && tap.pos <= tap.buf.length) values.push(this.itemsType._read(tap));
  return values;
};
(MapType!.prototype as Reader)._read = function (this: { valuesType: Reader }, tap: Tap) {
  const values: Record<string, unknown> = {};
  for (let n = blockCount(tap); n > 0; n = blockCount(tap))
    while (n-- > 0 && tap.pos <= tap.buf.length) {
      const key = tap.readString();
      values[key] = this.valuesType._read(tap);
    }
  return values;
};

/** The item count of the next block (a negative count is followed by the block's size in bytes); 0 at the end. */
function blockCount(tap: Tap): number {
  if (tap.pos >= tap.buf.length) {
    tap.pos = tap.buf.length + 1;
    return 0;
  }
  let n = tap.readLong();
  if (n < 0) {
    n = -n;
    tap.skipLong();
  }
  return n;
}

/**
 * The compact JSON text a schema is stored and compared as. Two inputs that
 * differ only in whitespace get the same text, hence the same registry id.
 *
 * @example
 * ```ts
 * schemaText('{ "type": "string" }'); // '{"type":"string"}'
 * ```
 */
export function schemaText(schema: SchemaSource): string {
  if (typeof schema !== 'string') return JSON.stringify(schema);
  try {
    return JSON.stringify(JSON.parse(schema));
  } catch (err) {
    throw new InvalidSchemaError(`schema is not valid JSON: ${(err as Error).message}`, err);
  }
}

// One growing buffer every `encodeAvro` call writes into before copying out.
let encodeScratch = Buffer.allocUnsafe(16 * 1024);

/**
 * `type.toBuffer(value)` without its allocation per value, which is
 * zero-filled and outside Node's buffer pool: the value is encoded into a
 * shared growing buffer and copied into `Buffer.allocUnsafe`, pooled below
 * 4 KB. Store values are encoded by the thousand at every commit.
 *
 * @example
 * ```ts
 * const bytes = encodeAvro(type, { clicks: 2 }); // the same bytes as type.toBuffer(…)
 * ```
 */
export function encodeAvro(type: AvroType, value: unknown): Buffer {
  let end = type.encode(value, encodeScratch, 0);
  while (end < 0) {
    encodeScratch = Buffer.allocUnsafe(Math.max(encodeScratch.length * 2, -end));
    end = type.encode(value, encodeScratch, 0);
  }
  const out = Buffer.allocUnsafe(end);
  encodeScratch.copy(out, 0, 0, end);
  return out;
}
