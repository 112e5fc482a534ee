/**
 * The enriched record as `item-features` holds it: every field decoded
 * except the user's features, which stay the Avro bytes `user-features`
 * wrote. `item-features` never reads them; it copies them into the
 * training example (`example-parts.ts`). Decoding a `UserFeatures` (recent
 * items, maps of counts) and encoding it again was a fifth of the
 * pipeline's work.
 *
 * Schema version 2 of `rec.interactions.enriched-value` puts `user` last,
 * so its bytes are the tail of the record: the other fields ("head") are
 * decoded with a record type of just those fields, and the rest is the
 * `["null", UserFeatures]` union. A record written under another version
 * is decoded in full and its features encoded once (`fromEnriched`).
 *
 * @example
 * ```ts
 * const wire = readEnrichedBody(bytes, WIRE_HEADER_SIZE, 'rec.interactions.enriched partition 3');
 * wire.userFeatures; // Buffer (Avro of rec.UserFeatures) or null
 * ```
 */
import type avro from 'avsc';
import { DeserializationError } from '../../runtime/errors.js';
import { parseAvroType } from '../../runtime/serde/avro.js';
import type { EnrichedInteraction, UserFeatures } from '../../schemas/generated/types.js';
import { loadSchema } from '../../schemas/index.js';

export const ENRICHED_SUBJECT = 'rec.interactions.enriched-value';

/** An enriched record whose user features are kept as their Avro binary encoding. */
export interface EnrichedWire extends Omit<EnrichedInteraction, 'user'> {
  /** Avro binary of the `rec.UserFeatures` record (no union branch), or null when the record has none. */
  readonly userFeatures: Buffer | null;
}

type EnrichedHead = Omit<EnrichedInteraction, 'user'>;

interface Layout {
  /** A record of every field before `user`. */
  readonly head: avro.Type;
  readonly user: avro.Type;
}

function layout(): Layout {
  const schema = loadSchema(ENRICHED_SUBJECT) as { fields: { name: string; type: unknown }[] };
  const last = schema.fields[schema.fields.length - 1];
  if (last?.name !== 'user')
    throw new Error(`${ENRICHED_SUBJECT}: the newest schema must end with the field 'user'`);
  const full = parseAvroType(schema as never, ENRICHED_SUBJECT);
  const headSchema = { ...schema, name: 'EnrichedHead', fields: schema.fields.slice(0, -1) };
  const head = parseAvroType(headSchema as never, `${ENRICHED_SUBJECT} head`);
  const union = (full as unknown as { field(name: string): { type: avro.Type } }).field('user').type;
  const user = (union as unknown as { types: avro.Type[] }).types[1]!;
  return { head, user };
}

const LAYOUT = layout();

/** Union branch bytes of `["null", UserFeatures]`: zig-zag 0 and 1. */
const NULL_BRANCH = 0;
const RECORD_BRANCH = 2;

/**
 * Reads the Avro body of a record written with the newest schema, from
 * `offset`. `what` names the record in errors. The features' bytes are
 * copied, so the record keeps no poll buffer alive.
 */
export function readEnrichedBody(bytes: Buffer, offset: number, what: string): EnrichedWire {
  let head: { value: unknown; offset: number };
  try {
    head = LAYOUT.head.decode(bytes, offset);
  } catch (err) {
    throw new DeserializationError(`${what}: corrupt enriched record: ${(err as Error).message}`, err);
  }
  if (head.offset < 0)
    throw new DeserializationError(`${what}: enriched record truncated before its features`);
  const branch = bytes[head.offset];
  let userFeatures: Buffer | null;
  if (branch === NULL_BRANCH && head.offset + 1 === bytes.length) userFeatures = null;
  else if (branch === RECORD_BRANCH && head.offset + 1 < bytes.length)
    userFeatures = Buffer.from(bytes.subarray(head.offset + 1));
  else
    throw new DeserializationError(
      `${what}: enriched record's user features are neither null nor a UserFeatures record (union byte ${branch}, ${bytes.length - head.offset} bytes)`,
    );
  return { ...(head.value as EnrichedHead), userFeatures };
}

/** The wire form of a fully decoded record (one written under an older schema version). */
export function fromEnriched(record: EnrichedInteraction): EnrichedWire {
  const { user, ...head } = record;
  return { ...head, userFeatures: user === null ? null : encodeUserFeatures(user) };
}

function encodeUserFeatures(user: UserFeatures): Buffer {
  return LAYOUT.user.toBuffer(user);
}
