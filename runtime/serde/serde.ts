/**
 * Avro values in Confluent's wire format, with schemas from a registry.
 *
 * Writing: an `Encoder` holds the subject's schema and its registry id
 * (registered on first use, like Confluent's auto.register.schemas), checks
 * every value against the schema and throws SchemaValidationError naming each
 * bad field before a byte is written.
 *
 * Reading: a `Decoder` reads any version a producer wrote: it looks the
 * writer schema up by the id in the header once, builds an avsc resolver from
 * it to the reader's schema once, and afterwards decoding is a Map lookup and
 * a decode. Bad bytes give DeserializationError saying what is wrong with
 * them; a registry that cannot be reached gives its own (retriable) error,
 * never DeserializationError, so a record is only dead-lettered for its bytes.
 *
 * @example
 * ```ts
 * const serde = new Serde(registry, { contract }); // the application's shipped schemas and topics
 * const encoder = await serde.encoder('rec.interactions-value');
 * const bytes = encoder.encode(interaction);          // Buffer, wire format
 * const decoder = await serde.decoder('rec.interactions-value');
 * const back = await decoder.decode(bytes);          // Interaction
 * ```
 */
import { DeserializationError, SchemaNotFoundError, SchemaValidationError } from '../errors.js';
import type { SchemaRegistry } from '../registry/registry.js';
import { TopicCatalogue } from '../topics/topic-catalogue.js';
import { type AvroType, parseAvroType, type SchemaSource } from './avro.js';
import { fieldProblems, isStrictlyValid } from './validation.js';
import { schemaIdOf, WIRE_HEADER_SIZE, writeWireHeader } from './wire.js';

/**
 * The value type of each subject, for typed encoders and decoders. Empty in
 * the runtime, which knows no subject of its own: an application adds its
 * subjects' types by declaration merging
 * (`declare module '…/runtime/serde/serde.js' { interface SubjectValueTypes … }`).
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled in by declaration merging
export interface SubjectValueTypes {}

/** The value type of a subject: its type in SubjectValueTypes, unknown for a subject not there. */
export type ValueOf<S extends string> = S extends keyof SubjectValueTypes ? SubjectValueTypes[S] : unknown;

/**
 * What an application declares about its data: the schema it ships for
 * each of its subjects and its topics. The serde reads and writes a
 * shipped subject with that schema unless `SerdeOptions.schemas` names
 * another; the producer keys, timestamps and creates topics by the
 * catalogue.
 */
export interface DataContract {
  /** The schema shipped for a subject (its newest version); undefined for a subject not shipped. */
  schema(subject: string): SchemaSource | undefined;
  readonly topics: TopicCatalogue;
}

/** A contract that ships nothing: every schema comes from `SerdeOptions.schemas`. */
export const NO_CONTRACT: DataContract = { schema: () => undefined, topics: TopicCatalogue.EMPTY };

export interface SerdeOptions {
  /**
   * The schema this process reads and writes, per subject. Subjects of the
   * contract default to their shipped schema; a subject with no schema
   * either way cannot be encoded and is decoded as its writer wrote it.
   */
  readonly schemas?: Readonly<Record<string, SchemaSource>>;
  /** The application's data contract (default: none). */
  readonly contract?: DataContract;
  /**
   * Register a subject's schema when it is not registered yet (default true).
   * With false, encoding a subject whose schema nobody registered throws
   * SchemaNotFoundError, as Confluent serializers do with auto.register.schemas=false.
   */
  readonly autoRegister?: boolean;
}

/** Writes one subject's values. */
export interface Encoder<T> {
  readonly subject: string;
  /** Registry id of the schema written into every value's header. */
  readonly schemaId: number;
  /**
   * Validates and encodes a value.
   *
   * @throws SchemaValidationError listing every offending field
   */
  encode(value: T): Buffer;
}

/** Reads one subject's values, whichever registered version wrote them. */
export interface Decoder<T> {
  readonly subject: string;
  /**
   * Decodes a wire-format value, fetching its writer schema on first sight.
   *
   * @throws DeserializationError when the bytes are not a valid value of a registered schema
   */
  decode(bytes: Buffer): Promise<T>;
  /**
   * Decodes without waiting, for hot loops: the writer schema must have been
   * seen before (by `decode` or `prepare`).
   *
   * @throws SchemaNotFoundError when the writer schema id has not been prepared
   * @throws DeserializationError when the bytes are not a valid value
   */
  decodeSync(bytes: Buffer): T;
  /** Fetches the writer schemas of these values, so that `decodeSync` can read them. */
  prepare(values: Iterable<Buffer | null>): Promise<void>;
}

/**
 * Encoders and decoders for any number of subjects over one registry; each
 * is created once and cached, so asking again is cheap.
 *
 * @example
 * ```ts
 * const serde = new Serde(registry, { schemas: { 'my.topic-value': mySchema } });
 * const bytes = await serde.serialize('rec.users-value', user);
 * const same = await serde.deserialize('rec.users-value', bytes);
 * ```
 */
export class Serde {
  private readonly encoders = new Map<string, Promise<Encoder<unknown>>>();
  private readonly decoders = new Map<string, SubjectDecoder>();
  // Writer types by id, shared by every decoder: parsing a schema costs far more than a lookup.
  private readonly writerTypes = new Map<number, Promise<AvroType>>();
  private readonly autoRegister: boolean;
  /** The data contract this serde was given. */
  readonly contract: DataContract;

  constructor(
    private readonly registry: SchemaRegistry,
    private readonly options: SerdeOptions = {},
  ) {
    this.autoRegister = options.autoRegister ?? true;
    this.contract = options.contract ?? NO_CONTRACT;
  }

  /**
   * The encoder of a subject, registering (or looking up) its schema on first use.
   *
   * @throws SchemaNotFoundError when the subject has no local schema, or it is not registered and autoRegister is off
   * @throws IncompatibleSchemaError when registering it is refused
   */
  encoder<S extends string>(subject: S): Promise<Encoder<ValueOf<S>>> {
    let encoder = this.encoders.get(subject);
    if (encoder === undefined) {
      encoder = this.createEncoder(subject);
      this.encoders.set(subject, encoder);
      encoder.catch(() => this.encoders.delete(subject));
    }
    return encoder as Promise<Encoder<ValueOf<S>>>;
  }

  /** The decoder of a subject; reads with the subject's local schema when there is one. */
  async decoder<S extends string>(subject: S): Promise<Decoder<ValueOf<S>>> {
    let decoder = this.decoders.get(subject);
    if (decoder === undefined) {
      const source = this.localSchema(subject);
      decoder = new SubjectDecoder(
        subject,
        source === undefined ? undefined : parseAvroType(source, `the local schema of ${subject}`),
        (id) => this.writerType(id),
      );
      this.decoders.set(subject, decoder);
    }
    return decoder as Decoder<ValueOf<S>>;
  }

  /** Encodes one value; see `encoder`. */
  async serialize<S extends string>(subject: S, value: ValueOf<S>): Promise<Buffer> {
    return (await this.encoder(subject)).encode(value);
  }

  /** Decodes one value; see `decoder`. */
  async deserialize<S extends string>(subject: S, bytes: Buffer): Promise<ValueOf<S>> {
    return (await this.decoder(subject)).decode(bytes);
  }

  private async createEncoder(subject: string): Promise<Encoder<unknown>> {
    const source = this.localSchema(subject);
    if (source === undefined) {
      throw new SchemaNotFoundError(
        `no local schema for subject '${subject}'; pass it in SerdeOptions.schemas`,
        'subject',
      );
    }
    const type = parseAvroType(source, `the local schema of ${subject}`);
    let schemaId: number;
    if (this.autoRegister) {
      schemaId = await this.registry.register(subject, source);
    } else {
      const found = await this.registry.lookup(subject, source);
      if (found === undefined) {
        throw new SchemaNotFoundError(
          `the local schema of ${subject} is not registered, and autoRegister is off; register it first`,
          'schema',
        );
      }
      schemaId = found.id;
    }
    return new SubjectEncoder(subject, schemaId, type);
  }

  /** The schema this process writes for a subject (SerdeOptions.schemas, else the contract's); undefined when it has none. */
  localSchema(subject: string): SchemaSource | undefined {
    return this.options.schemas?.[subject] ?? this.contract.schema(subject);
  }

  private writerType(id: number): Promise<AvroType> {
    let type = this.writerTypes.get(id);
    if (type === undefined) {
      type = this.registry.getById(id).then(
        (text) => parseAvroType(text, `schema id ${id}`),
        (err: unknown) => {
          if (err instanceof SchemaNotFoundError) {
            throw new DeserializationError(`unknown schema id ${id}: the registry has no such schema`, err);
          }
          throw err;
        },
      );
      this.writerTypes.set(id, type);
      // Failures are not cached: the id may be registered a moment later, or the registry come back.
      type.catch(() => this.writerTypes.delete(id));
    }
    return type;
  }
}

class SubjectEncoder implements Encoder<unknown> {
  // Encoding goes through one growing scratch buffer, so each value costs a single exact-size allocation.
  private scratch = Buffer.allocUnsafe(4096);

  constructor(
    readonly subject: string,
    readonly schemaId: number,
    private readonly type: AvroType,
  ) {
    writeWireHeader(this.scratch, schemaId);
  }

  encode(value: unknown): Buffer {
    if (!isStrictlyValid(this.type, value)) {
      const fields = fieldProblems(this.type, value);
      const list = fields.map((f) => `${f.path}: ${f.reason}`).join('; ');
      throw new SchemaValidationError(`value does not match the schema of ${this.subject}: ${list}`, fields);
    }
    let end = this.type.encode(value, this.scratch, WIRE_HEADER_SIZE);
    while (end < 0) {
      const grown = Buffer.allocUnsafe(Math.max(this.scratch.length * 2, this.scratch.length - end));
      writeWireHeader(grown, this.schemaId);
      this.scratch = grown;
      end = this.type.encode(value, this.scratch, WIRE_HEADER_SIZE);
    }
    const out = Buffer.allocUnsafe(end);
    this.scratch.copy(out, 0, 0, end);
    return out;
  }
}

/** How to read one writer schema id: the type to decode with and the resolver to the reader's schema. */
interface ReadPlan {
  readonly type: AvroType;
  readonly resolver: ReturnType<AvroType['createResolver']> | undefined;
}

class SubjectDecoder implements Decoder<unknown> {
  private readonly plans = new Map<number, ReadPlan>();

  constructor(
    readonly subject: string,
    private readonly readerType: AvroType | undefined,
    private readonly writerType: (id: number) => Promise<AvroType>,
  ) {}

  async decode(bytes: Buffer): Promise<unknown> {
    const id = schemaIdOf(bytes);
    const plan = this.plans.get(id) ?? (await this.plan(id));
    return this.decodeBody(bytes, id, plan);
  }

  decodeSync(bytes: Buffer): unknown {
    const id = schemaIdOf(bytes);
    const plan = this.plans.get(id);
    if (plan === undefined) {
      throw new SchemaNotFoundError(
        `schema id ${id} has not been fetched for ${this.subject}; await decode() or prepare() first`,
        'schema',
      );
    }
    return this.decodeBody(bytes, id, plan);
  }

  async prepare(values: Iterable<Buffer | null>): Promise<void> {
    const ids = new Set<number>();
    for (const value of values) {
      if (value !== null && value.length >= WIRE_HEADER_SIZE && value[0] === 0)
        ids.add(value.readUInt32BE(1));
    }
    for (const id of ids) {
      if (this.plans.has(id)) continue;
      try {
        await this.plan(id);
      } catch (err) {
        // An unknown id is the record's fault and surfaces when it is decoded; anything else is ours.
        if (!(err instanceof DeserializationError)) throw err;
      }
    }
  }

  private async plan(id: number): Promise<ReadPlan> {
    const writer = await this.writerType(id);
    const reader = this.readerType;
    let plan: ReadPlan;
    if (reader === undefined || reader.equals(writer)) {
      plan = { type: reader ?? writer, resolver: undefined };
    } else {
      try {
        plan = { type: reader, resolver: reader.createResolver(writer) };
      } catch (err) {
        throw new DeserializationError(
          `schema id ${id} cannot be read as the local schema of ${this.subject}: ${(err as Error).message}`,
          err,
        );
      }
    }
    this.plans.set(id, plan);
    return plan;
  }

  private decodeBody(bytes: Buffer, id: number, plan: ReadPlan): unknown {
    let result: { value: unknown; offset: number };
    try {
      result = plan.type.decode(bytes, WIRE_HEADER_SIZE, plan.resolver);
    } catch (err) {
      throw new DeserializationError(
        `corrupt Avro body for ${this.subject} (schema id ${id}): ${(err as Error).message}`,
        err,
      );
    }
    if (result.offset < 0) {
      throw new DeserializationError(
        `truncated Avro body for ${this.subject} (schema id ${id}): its ${bytes.length - WIRE_HEADER_SIZE} bytes end before the value does`,
      );
    }
    if (result.offset !== bytes.length) {
      throw new DeserializationError(
        `${bytes.length - result.offset} trailing bytes after the Avro body for ${this.subject} (schema id ${id})`,
      );
    }
    return result.value;
  }
}
