/**
 * The schema registry port. Serde, producers and tools talk only to this
 * interface; `embedded/` (a file in the data dir) and `confluent/` (a
 * Confluent-compatible REST registry) are its back-ends and both pass
 * `registry.contract.ts`.
 *
 * The model is Confluent's: schema ids are global and identify a schema's
 * text (the same schema under two subjects has one id); each subject has
 * versions 1, 2, … and a compatibility level that registration enforces.
 *
 * @example
 * ```ts
 * const registry = await openSchemaRegistry({ dataDir: './data' });
 * const id = await registry.register('rec.items-value', loadSchema('rec.items-value'));
 * const { version, schema } = await registry.getLatest('rec.items-value');
 * const sameSchema = await registry.getById(id);
 * ```
 */
import type { SchemaSource } from '../serde/avro.js';

/** Confluent's compatibility levels; BACKWARD is the default. */
export const COMPATIBILITY_LEVELS = [
  'NONE',
  'BACKWARD',
  'BACKWARD_TRANSITIVE',
  'FORWARD',
  'FORWARD_TRANSITIVE',
  'FULL',
  'FULL_TRANSITIVE',
] as const;

export type CompatibilityLevel = (typeof COMPATIBILITY_LEVELS)[number];

/** The level a subject gets when nobody set one, as in Confluent Schema Registry. */
export const DEFAULT_COMPATIBILITY: CompatibilityLevel = 'BACKWARD';

/** True for a string that names a compatibility level. */
export function isCompatibilityLevel(value: unknown): value is CompatibilityLevel {
  return typeof value === 'string' && (COMPATIBILITY_LEVELS as readonly string[]).includes(value);
}

/** A schema as one version of one subject. */
export interface SubjectVersion {
  readonly subject: string;
  readonly version: number;
  /** Global schema id (the one in the wire format). */
  readonly id: number;
  /** The schema as compact JSON text. */
  readonly schema: string;
}

/** Whether a schema could be registered under a subject now, and if not, why. */
export interface CompatibilityReport {
  readonly compatible: boolean;
  /** One line per problem, each naming the field (empty when compatible). */
  readonly messages: readonly string[];
}

/**
 * A schema offered to the registry: either JSON text, exactly as Confluent's
 * REST API carries it, or a parsed `.avsc` document.
 */
export type SchemaInput = SchemaSource;

export interface SchemaRegistry {
  /**
   * Registers a schema under a subject and returns its global id. Idempotent:
   * a schema already registered under the subject returns its id and adds no
   * version.
   *
   * @throws IncompatibleSchemaError when the subject's compatibility level
   *   refuses it; the message names the field
   * @throws InvalidSchemaError when it is not valid Avro
   */
  register(subject: string, schema: SchemaInput): Promise<number>;

  /** The version of a subject that holds this schema, or undefined when it is not registered there. */
  lookup(subject: string, schema: SchemaInput): Promise<SubjectVersion | undefined>;

  /**
   * The schema text of a global id.
   *
   * @throws SchemaNotFoundError (missing: 'schema')
   */
  getById(id: number): Promise<string>;

  /**
   * The newest version of a subject.
   *
   * @throws SchemaNotFoundError (missing: 'subject')
   */
  getLatest(subject: string): Promise<SubjectVersion>;

  /**
   * One version of a subject.
   *
   * @throws SchemaNotFoundError (missing: 'subject' or 'version')
   */
  getVersion(subject: string, version: number): Promise<SubjectVersion>;

  /** Every subject with at least one version, sorted. */
  listSubjects(): Promise<string[]>;

  /**
   * The versions of a subject, ascending.
   *
   * @throws SchemaNotFoundError (missing: 'subject')
   */
  listVersions(subject: string): Promise<number[]>;

  /** The subject's level, or the default level when the subject has none of its own. */
  getCompatibility(subject: string): Promise<CompatibilityLevel>;

  /** Sets the subject's own level; later registrations under it are checked against it. */
  setCompatibility(subject: string, level: CompatibilityLevel): Promise<void>;

  /** The level of subjects that have none of their own (Confluent's global `/config`). */
  getDefaultCompatibility(): Promise<CompatibilityLevel>;

  setDefaultCompatibility(level: CompatibilityLevel): Promise<void>;

  /** What `register` would decide for this schema, without registering it. */
  checkCompatibility(subject: string, schema: SchemaInput): Promise<CompatibilityReport>;

  /** Releases files, sockets and timers. */
  close(): Promise<void>;
}
