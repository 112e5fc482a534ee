/**
 * A training example as `item-features` builds it: the decoded head
 * (ids, type, time, context, labels), the user's features as the Avro
 * bytes that came with the enriched record, and the item's features. An
 * Avro record's encoding is its fields' encodings one after another, so
 * `encodeExampleBody` writes exactly the bytes of a `TrainingExample` of
 * the newest `rec.training-examples-value` schema without decoding or
 * re-encoding the user's features.
 *
 * The same bytes are what store `label-join` holds for a waiting
 * impression; decoding one (only after a restart or a cache eviction)
 * reads the user's features once to find where they end.
 *
 * @example
 * ```ts
 * const parts: ExampleParts = { head, user: wire.userFeatures, item: itemFeaturesAt(view, ts, attrs) };
 * const body = encodeExampleBody(parts); // Avro of rec.TrainingExample
 * ```
 */
import type avro from 'avsc';
import { DeserializationError } from '../../runtime/errors.js';
import { parseAvroType } from '../../runtime/serde/avro.js';
import type { ValueCodec } from '../../runtime/state/store.js';
import type { ItemFeatures, TrainingExample } from '../../schemas/generated/types.js';
import { loadSchema } from '../../schemas/index.js';

export const TRAINING_EXAMPLE_SUBJECT = 'rec.training-examples-value';

/** Every field of a training example before `user`. */
export type ExampleHead = Omit<TrainingExample, 'user' | 'item'>;

export interface ExampleParts {
  readonly head: ExampleHead;
  /** Avro binary of the `rec.UserFeatures` record. */
  readonly user: Buffer;
  readonly item: ItemFeatures;
}

interface Layout {
  readonly head: avro.Type;
  readonly user: avro.Type;
  readonly item: avro.Type;
}

function layout(): Layout {
  const schema = loadSchema(TRAINING_EXAMPLE_SUBJECT) as { fields: { name: string }[] };
  const names = schema.fields.map((f) => f.name);
  if (names.at(-2) !== 'user' || names.at(-1) !== 'item')
    throw new Error(`${TRAINING_EXAMPLE_SUBJECT}: the newest schema must end with the fields 'user', 'item'`);
  const full = parseAvroType(schema as never, TRAINING_EXAMPLE_SUBJECT) as unknown as {
    field(name: string): { type: avro.Type };
  };
  const headSchema = { ...schema, name: 'TrainingExampleHead', fields: schema.fields.slice(0, -2) };
  return {
    head: parseAvroType(headSchema as never, `${TRAINING_EXAMPLE_SUBJECT} head`),
    user: full.field('user').type,
    item: full.field('item').type,
  };
}

const LAYOUT = layout();

// Encoding goes through one growing scratch buffer: each example costs one exact-size allocation.
let scratch = Buffer.allocUnsafe(16 * 1024);

/** Writes head and item into `scratch` from `start`, the user's bytes between them; returns the end. */
function writeParts(parts: ExampleParts, start: number): number {
  for (;;) {
    let end = LAYOUT.head.encode(parts.head, scratch, start);
    if (end >= 0 && end + parts.user.length <= scratch.length) {
      end += parts.user.copy(scratch, end);
      end = LAYOUT.item.encode(parts.item, scratch, end);
      if (end >= 0) return end;
    }
    const grown = Buffer.allocUnsafe(scratch.length * 2);
    scratch.copy(grown, 0, 0, start);
    scratch = grown;
  }
}

/**
 * `prefix` (e.g. a wire header) followed by the example's Avro body, as a
 * new buffer of exactly that size.
 */
export function encodeExample(parts: ExampleParts, prefix?: Buffer): Buffer {
  const start = prefix === undefined ? 0 : prefix.length;
  if (prefix !== undefined) {
    if (scratch.length < start) scratch = Buffer.allocUnsafe(start * 2);
    prefix.copy(scratch, 0);
  }
  const end = writeParts(parts, start);
  const out = Buffer.allocUnsafe(end);
  scratch.copy(out, 0, 0, end);
  return out;
}

/** Reads an example's Avro body back into its parts. */
export function decodeExample(bytes: Buffer, what: string): ExampleParts {
  try {
    const head = LAYOUT.head.decode(bytes, 0);
    const user = LAYOUT.user.decode(bytes, head.offset);
    const item = LAYOUT.item.decode(bytes, user.offset);
    if (head.offset < 0 || user.offset < 0 || item.offset !== bytes.length)
      throw new Error(`${bytes.length} bytes are not one whole example`);
    return {
      head: head.value as ExampleHead,
      user: Buffer.from(bytes.subarray(head.offset, user.offset)),
      item: item.value as ItemFeatures,
    };
  } catch (err) {
    throw new DeserializationError(`${what}: not a training example: ${(err as Error).message}`, err);
  }
}

/** Store `label-join`: a waiting impression's example, as the Avro body of a `TrainingExample`. */
export const exampleCodec: ValueCodec<ExampleParts> = {
  encode: (parts) => encodeExample(parts),
  decode: (bytes) => decodeExample(bytes, 'store label-join'),
};
