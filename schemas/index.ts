/**
 * The platform's Avro schemas as shipped with the package: one folder per
 * registry subject (Confluent TopicNameStrategy, `<topic>-value`), with the
 * versions side by side (`v1.avsc`, `v2.avsc`, …). The newest version of a
 * subject is the one this build reads and writes; older versions stay so
 * that evolution can be checked and old records resolved.
 *
 * @example
 * ```ts
 * import { loadSchema, latestSchemaVersion, topicForSubject } from '../schemas/index.js';
 * const schema = loadSchema('rec.items-value', latestSchemaVersion('rec.items-value'));
 * topicForSubject('rec.items-value'); // 'rec.items'
 * ```
 */
import { readdirSync, readFileSync } from 'node:fs';
import { SchemaNotFoundError } from '../runtime/errors.js';
import type { AvroSchema } from '../runtime/serde/avro.js';
import { TOPIC_BY_SUBJECT } from './topics.js';

/** Topic of every value subject, in pipeline order (from the topic catalogue). */
export { TOPIC_BY_SUBJECT };

/** A value subject this package ships a schema for. */
export type Subject = keyof typeof TOPIC_BY_SUBJECT;

/** A topic whose values have a shipped schema. */
export type Topic = (typeof TOPIC_BY_SUBJECT)[Subject];

/** Every shipped subject, in pipeline order. */
export const SUBJECTS = Object.keys(TOPIC_BY_SUBJECT) as readonly Subject[];

/** A parsed `.avsc` document: an Avro schema as JSON. */
export type { AvroSchema };

/**
 * The value subject of a topic under TopicNameStrategy.
 *
 * @example
 * ```ts
 * valueSubject('rec.users'); // 'rec.users-value'
 * ```
 */
export function valueSubject(topic: string): string {
  return `${topic}-value`;
}

/**
 * The topic a shipped subject belongs to.
 *
 * @example
 * ```ts
 * topicForSubject('rec.dlq-value'); // 'rec.dlq'
 * ```
 */
export function topicForSubject(subject: Subject): Topic {
  return TOPIC_BY_SUBJECT[subject];
}

/** True for the subjects this package ships schemas for. */
export function isShippedSubject(subject: string): subject is Subject {
  return Object.hasOwn(TOPIC_BY_SUBJECT, subject);
}

// Resolved against the compiled file: copy-assets puts the .avsc files beside
// dist/schemas/index.js, so this works from dist/ and from an installed package.
const schemasDir = new URL('./', import.meta.url);

/**
 * The versions shipped for a subject, ascending.
 *
 * @example
 * ```ts
 * schemaVersions('rec.interactions-value'); // [1]
 * ```
 */
export function schemaVersions(subject: string): number[] {
  let names: string[];
  try {
    names = readdirSync(new URL(`${encodeURIComponent(subject)}/`, schemasDir));
  } catch {
    throw new SchemaNotFoundError(`no schemas are shipped for subject '${subject}'`, 'subject');
  }
  const versions = names
    .map((name) => /^v(\d+)\.avsc$/.exec(name)?.[1])
    .filter((v): v is string => v !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
  if (versions.length === 0) {
    throw new SchemaNotFoundError(`no schemas are shipped for subject '${subject}'`, 'subject');
  }
  return versions;
}

/** The newest shipped version of a subject: the one this build writes. */
export function latestSchemaVersion(subject: string): number {
  return schemaVersions(subject).at(-1)!;
}

/**
 * Reads and parses a shipped schema.
 *
 * @param version - defaults to the newest shipped version
 * @example
 * ```ts
 * const schema = loadSchema('rec.interactions-value', 1);
 * avsc.Type.forSchema(schema as never);
 * ```
 */
export function loadSchema(subject: string, version: number = latestSchemaVersion(subject)): AvroSchema {
  let text: string;
  try {
    text = readFileSync(new URL(`${encodeURIComponent(subject)}/v${version}.avsc`, schemasDir), 'utf8');
  } catch {
    throw new SchemaNotFoundError(`version ${version} of subject '${subject}' is not shipped`, 'version');
  }
  return JSON.parse(text) as AvroSchema;
}
