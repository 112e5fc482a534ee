/**
 * What the embedded registry keeps, as one JSON document. Ids are positions
 * in `schemas` (id n is `schemas[n - 1]`) and versions are positions in a
 * subject's list, so both are stable for as long as the file exists and
 * nothing is ever renumbered.
 *
 * @example
 * ```ts
 * const state = parseState(text, path);
 * const id = idOfText(state, '{"type":"string"}'); // undefined until registered
 * ```
 */
import { CorruptDataError } from '../../errors.js';
import { type CompatibilityLevel, DEFAULT_COMPATIBILITY, isCompatibilityLevel } from '../registry.js';

export interface RegistryState {
  readonly format: 1;
  /** Schema text by id - 1. */
  readonly schemas: string[];
  /** Schema id of each version (version - 1 → id) by subject. */
  readonly subjects: Record<string, number[]>;
  defaultCompatibility: CompatibilityLevel;
  /** Levels subjects set for themselves. */
  readonly compatibility: Record<string, CompatibilityLevel>;
}

export function emptyState(): RegistryState {
  return {
    format: 1,
    schemas: [],
    subjects: {},
    defaultCompatibility: DEFAULT_COMPATIBILITY,
    compatibility: {},
  };
}

/**
 * Parses and checks the registry file, so that a hand-edited or damaged file
 * is reported as such instead of surfacing later as a wrong schema.
 *
 * @throws CorruptDataError naming the file and what is wrong with it
 */
export function parseState(text: string, file: string): RegistryState {
  let doc: Partial<RegistryState>;
  try {
    doc = JSON.parse(text) as Partial<RegistryState>;
  } catch (err) {
    throw new CorruptDataError(
      `schema registry file ${file} is not valid JSON: ${(err as Error).message}`,
      err,
    );
  }
  const fail = (what: string): never => {
    throw new CorruptDataError(`schema registry file ${file} is damaged: ${what}`);
  };
  if (doc === null || typeof doc !== 'object' || doc.format !== 1)
    fail('unknown format (expected "format": 1)');
  if (!Array.isArray(doc.schemas) || !doc.schemas.every((s) => typeof s === 'string'))
    fail('"schemas" must be an array of strings');
  const schemaCount = doc.schemas!.length;
  const subjects = doc.subjects;
  if (subjects === null || typeof subjects !== 'object') fail('"subjects" must be an object');
  for (const [subject, ids] of Object.entries(subjects!)) {
    if (!Array.isArray(ids) || !ids.every((id) => Number.isInteger(id) && id >= 1 && id <= schemaCount)) {
      fail(`subject '${subject}' refers to a schema id that does not exist`);
    }
  }
  if (!isCompatibilityLevel(doc.defaultCompatibility))
    fail('"defaultCompatibility" is not a compatibility level');
  const levels = doc.compatibility;
  if (levels === null || typeof levels !== 'object' || !Object.values(levels).every(isCompatibilityLevel)) {
    fail('"compatibility" must map subjects to compatibility levels');
  }
  return doc as RegistryState;
}

export function serializeState(state: RegistryState): string {
  return `${JSON.stringify(state, null, 1)}\n`;
}

/** The id of a schema text, or undefined when no subject has registered it. */
export function idOfText(state: RegistryState, text: string): number | undefined {
  const index = state.schemas.indexOf(text);
  return index < 0 ? undefined : index + 1;
}
