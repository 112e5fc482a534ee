/**
 * Schema evolution rules, checked over parsed schemas so that every problem
 * names the field it is about (Confluent's own messages often do not). The
 * rules are Avro's schema resolution: a reader can read a writer when every
 * reader field is in the writer or has a default, types match or promote
 * (int → long → float → double, string ↔ bytes), enum symbols the writer may
 * send are known to the reader (or the reader has a default), and every
 * branch a writer union may send is readable. avsc's own resolver is run as a
 * cross-check, so a rule missed here still cannot let an unreadable schema in.
 *
 * @example
 * ```ts
 * const messages = compatibilityMessages({
 *   subject: 'rec.items-value', level: 'BACKWARD',
 *   candidate: { version: 3, type: parseAvroType(v3) },
 *   previous: [{ version: 1, type: t1 }, { version: 2, type: t2 }],
 * });
 * // ["rec.items-value v3 is not BACKWARD compatible with v2: field 'language' has no default and is missing from the writer schema"]
 * ```
 */
import avsc from 'avsc';
import type { AvroType } from '../serde/avro.js';
import type { CompatibilityLevel } from './registry.js';

/** A schema as one (possibly not yet registered) version of a subject. */
export interface VersionedType {
  readonly version: number;
  readonly type: AvroType;
}

export interface CompatibilityCheck {
  readonly subject: string;
  readonly level: CompatibilityLevel;
  readonly candidate: VersionedType;
  /** The subject's versions, ascending. */
  readonly previous: readonly VersionedType[];
}

/** One problem, kept structured until it is worded for a direction. */
type Issue =
  | { kind: 'type'; path: string; reader: AvroType; writer: AvroType }
  | { kind: 'missing'; path: string }
  | { kind: 'symbols'; path: string; enumName: string; symbols: string[] }
  | { kind: 'resolver'; path: string; detail: string };

/** Which side of the pair is the schema being registered. */
type Direction = 'new-reads-old' | 'old-reads-new';

// biome-ignore lint/suspicious/noExplicitAny: avsc's typings do not describe the fields of its concrete types
type AnyType = any;

const PROMOTIONS: Readonly<Record<string, readonly string[]>> = {
  int: ['long', 'float', 'double'],
  long: ['float', 'double'],
  float: ['double'],
  string: ['bytes'],
  bytes: ['string'],
};

/**
 * Every reason the candidate may not be registered under the level, one
 * message per problem, each naming the subject, the versions and the field.
 * Empty when the candidate is compatible.
 */
export function compatibilityMessages(check: CompatibilityCheck): string[] {
  const { level, candidate, previous } = check;
  if (level === 'NONE' || previous.length === 0) return [];
  const against = level.endsWith('_TRANSITIVE') ? [...previous].reverse() : previous.slice(-1);
  const backward = level.startsWith('BACKWARD') || level.startsWith('FULL');
  const forward = level.startsWith('FORWARD') || level.startsWith('FULL');
  const messages: string[] = [];
  for (const old of against) {
    const prefix = `${check.subject} v${candidate.version} is not ${level} compatible with v${old.version}: `;
    if (backward) {
      for (const issue of readIssues(candidate.type, old.type)) {
        messages.push(prefix + describeIssue(issue, 'new-reads-old'));
      }
    }
    if (forward) {
      for (const issue of readIssues(old.type, candidate.type)) {
        messages.push(prefix + describeIssue(issue, 'old-reads-new'));
      }
    }
  }
  return messages;
}

/** The first field path a message names, for IncompatibleSchemaError.field. */
export function fieldOfMessage(message: string): string | undefined {
  return /field '([^']+)'/.exec(message)?.[1];
}

/** Problems reading data written with `writer` through `reader`. */
function readIssues(reader: AvroType, writer: AvroType): Issue[] {
  const issues = compare(reader, writer, '', new Set());
  if (issues.length > 0) return issues;
  try {
    reader.createResolver(writer);
    return [];
  } catch (err) {
    return [{ kind: 'resolver', path: '', detail: (err as Error).message }];
  }
}

function compare(reader: AnyType, writer: AnyType, path: string, seen: Set<string>): Issue[] {
  if (isUnion(writer)) return compareWriterUnion(reader, writer, path, seen);
  if (isUnion(reader)) {
    const branch = readerBranchFor(reader, writer);
    return branch === undefined
      ? [{ kind: 'type', path, reader, writer }]
      : compare(branch, writer, path, seen);
  }
  if (!sameKind(reader, writer)) {
    return canPromote(writer, reader) ? [] : [{ kind: 'type', path, reader, writer }];
  }
  switch (writer.typeName) {
    case 'record':
    case 'error':
      return compareRecords(reader, writer, path, seen);
    case 'enum': {
      const missing = (writer.symbols as string[]).filter((s) => !reader.symbols.includes(s));
      return missing.length > 0 && reader.default === undefined
        ? [{ kind: 'symbols', path, enumName: reader.name, symbols: missing }]
        : [];
    }
    case 'fixed':
      return reader.size === writer.size ? [] : [{ kind: 'type', path, reader, writer }];
    case 'array':
      return compare(reader.itemsType, writer.itemsType, `${path}[]`, seen);
    case 'map':
      return compare(reader.valuesType, writer.valuesType, `${path}{}`, seen);
    default:
      return [];
  }
}

function compareRecords(reader: AnyType, writer: AnyType, path: string, seen: Set<string>): Issue[] {
  // Recursive schemas would otherwise loop; a pair already under comparison is assumed fine.
  const key = `${reader.name}<-${writer.name}`;
  if (seen.has(key)) return [];
  seen.add(key);
  const issues: Issue[] = [];
  for (const field of reader.fields as AnyType[]) {
    const names = [field.name, ...(field.aliases ?? [])];
    const fieldPath = path === '' ? field.name : `${path}.${field.name}`;
    const written = (writer.fields as AnyType[]).find((w) => names.includes(w.name));
    if (written !== undefined) issues.push(...compare(field.type, written.type, fieldPath, seen));
    else if (field.defaultValue() === undefined) issues.push({ kind: 'missing', path: fieldPath });
  }
  seen.delete(key);
  return issues;
}

function compareWriterUnion(reader: AnyType, writer: AnyType, path: string, seen: Set<string>): Issue[] {
  const issues: Issue[] = [];
  let unreadableBranch = false;
  for (const branch of writer.types as AnyType[]) {
    for (const issue of compare(reader, branch, path, seen)) {
      if (issue.kind === 'type' && issue.path === path) unreadableBranch = true;
      else issues.push(issue);
    }
  }
  // Word a wholly unreadable branch in terms of the two unions, as a person reading the schemas sees them.
  return unreadableBranch ? [{ kind: 'type', path, reader, writer }, ...issues] : issues;
}

function readerBranchFor(reader: AnyType, writer: AnyType): AnyType | undefined {
  const branches = reader.types as AnyType[];
  return branches.find((b) => sameKind(b, writer)) ?? branches.find((b) => canPromote(writer, b));
}

function sameKind(reader: AnyType, writer: AnyType): boolean {
  if (reader.typeName !== writer.typeName) return false;
  if (!isNamed(reader)) return true;
  return reader.name === writer.name || (reader.aliases ?? []).includes(writer.name);
}

function canPromote(writer: AnyType, reader: AnyType): boolean {
  return PROMOTIONS[writer.typeName]?.includes(reader.typeName) ?? false;
}

function isNamed(type: AnyType): boolean {
  return ['record', 'error', 'enum', 'fixed'].includes(type.typeName);
}

function isUnion(type: AnyType): boolean {
  return avsc.Type.isType(type, 'union');
}

function describeIssue(issue: Issue, direction: Direction): string {
  const where = issue.path === '' ? 'the schema' : `field '${issue.path}'`;
  switch (issue.kind) {
    case 'type': {
      const [before, after] =
        direction === 'new-reads-old' ? [issue.writer, issue.reader] : [issue.reader, issue.writer];
      return `${where} changed from ${describeType(before)} to ${describeType(after)}`;
    }
    case 'missing':
      return direction === 'new-reads-old'
        ? `${where} has no default and is missing from the writer schema`
        : `${where} was removed, and the old schema has no default for it, so old readers cannot read new data`;
    case 'symbols': {
      const list = issue.symbols.map((s) => `'${s}'`).join(', ');
      return direction === 'new-reads-old'
        ? `${where} (enum ${issue.enumName}) dropped symbol ${list} that old data may hold, and has no default`
        : `${where} (enum ${issue.enumName}) gained symbol ${list} that old readers do not know, and the old enum has no default`;
    }
    case 'resolver':
      return `${where} cannot be resolved: ${issue.detail}`;
  }
}

function describeType(type: AnyType): string {
  if (isUnion(type)) return (type.types as AnyType[]).map(describeType).join(' | ');
  switch (type.typeName) {
    case 'record':
    case 'error':
    case 'enum':
      return `${type.typeName} ${type.name}`;
    case 'fixed':
      return `fixed ${type.name}(${type.size})`;
    case 'array':
      return `array<${describeType(type.itemsType)}>`;
    case 'map':
      return `map<${describeType(type.valuesType)}>`;
    default:
      return type.typeName;
  }
}
