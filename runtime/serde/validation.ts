/**
 * Explains why a value does not match its schema, field by field: every
 * offending path (`context.device`, `items[2].score`, `metrics["ndcg"]`) with
 * a reason a producer can act on. Built on avsc's `isValid` error hook, plus a
 * walk for fields the schema does not declare (a typo such as `watchMs`
 * would otherwise be dropped without a word).
 *
 * @example
 * ```ts
 * fieldProblems(interactionType, { ...interaction, ts: 'yesterday' });
 * // [{ path: 'ts', reason: 'expected long, got string "yesterday"' }]
 * ```
 */
import avsc from 'avsc';
import type { AvroType } from './avro.js';

export interface FieldProblem {
  readonly path: string;
  readonly reason: string;
}

// biome-ignore lint/suspicious/noExplicitAny: avsc's typings do not describe the fields of its concrete types
type AnyType = any;

/** Every problem with `value` under `type`; empty when the value is valid. */
export function fieldProblems(type: AvroType, value: unknown): FieldProblem[] {
  const problems: FieldProblem[] = [];
  type.isValid(value, {
    errorHook: (path: string[], actual: unknown, at: AvroType) => {
      problems.push({ path: formatPath(type, path), reason: reasonFor(actual, at) });
    },
  });
  undeclaredFields(type, value, [], problems, type);
  return problems;
}

/**
 * Whether `value` is valid, fields the schema does not declare included. The fast path. Both checks
 * are exact for types from `parseAvroType`, whose records look field names up among their own fields
 * only (avsc's plain lookup object would take `__proto__` or `constructor` for a field).
 */
export function isStrictlyValid(type: AvroType, value: unknown): boolean {
  return type.isValid(value, { noUndeclaredFields: true });
}

function undeclaredFields(
  type: AnyType,
  value: unknown,
  path: string[],
  problems: FieldProblem[],
  root: AvroType,
): void {
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return;
  const branch = avsc.Type.isType(type, 'union') ? branchFor(type, value) : type;
  if (branch === undefined) return;
  if (branch.typeName === 'record' || branch.typeName === 'error') {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const field = branch.field(key);
      if (field === undefined) {
        problems.push({ path: formatPath(root, [...path, key]), reason: `is not a field of ${branch.name}` });
      } else {
        path.push(key);
        undeclaredFields(field.type, record[key], path, problems, root);
        path.pop();
      }
    }
  } else if (branch.typeName === 'array' && Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      path.push(String(i));
      undeclaredFields(branch.itemsType, item, path, problems, root);
      path.pop();
    }
  } else if (branch.typeName === 'map' && !Array.isArray(value)) {
    for (const [key, item] of Object.entries(value)) {
      path.push(key);
      undeclaredFields(branch.valuesType, item, path, problems, root);
      path.pop();
    }
  }
}

/** The union branch an object or array value goes to, as avsc picks it. */
function branchFor(union: AnyType, value: object): AnyType | undefined {
  const wanted = Array.isArray(value) ? ['array'] : ['record', 'error', 'map'];
  return (union.types as AnyType[]).find((t) => wanted.includes(t.typeName));
}

/** Renders avsc's path segments, which do not say whether a segment is a field, an index or a map key. */
function formatPath(root: AnyType, segments: readonly string[]): string {
  let type: AnyType = root;
  let out = '';
  for (const segment of segments) {
    if (type !== undefined && avsc.Type.isType(type, 'union')) {
      type = (type.types as AnyType[]).find((t) =>
        t.typeName === 'record' || t.typeName === 'error'
          ? t.field(segment) !== undefined
          : t.typeName !== 'null',
      );
    }
    switch (type?.typeName) {
      case 'array':
        out += `[${segment}]`;
        type = type.itemsType;
        break;
      case 'map':
        out += `[${JSON.stringify(segment)}]`;
        type = type.valuesType;
        break;
      default:
        out += out === '' ? segment : `.${segment}`;
        type = type?.field?.(segment)?.type;
    }
  }
  return out === '' ? '(value)' : out;
}

function reasonFor(value: unknown, type: AnyType): string {
  const expected = describeType(type);
  if (value === undefined) return `missing (expected ${expected})`;
  if (type.typeName === 'enum' && typeof value === 'string') {
    return `"${value}" is not a symbol of ${type.name} (expected one of ${(type.symbols as string[]).join(', ')})`;
  }
  if (typeof value === 'number' && (type.typeName === 'int' || type.typeName === 'long')) {
    const range = type.typeName === 'int' ? 'a 32-bit integer' : 'a safe integer';
    return `expected ${type.typeName} (${range}), got ${value}`;
  }
  return `expected ${expected}, got ${describeValue(value)}`;
}

function describeType(type: AnyType): string {
  if (avsc.Type.isType(type, 'union')) return (type.types as AnyType[]).map(describeType).join(' or ');
  switch (type.typeName) {
    case 'record':
    case 'error':
      return `record ${type.name} (an object)`;
    case 'enum':
      return `enum ${type.name}`;
    case 'fixed':
      return `fixed ${type.name} (a Buffer of ${type.size} bytes)`;
    case 'bytes':
      return 'bytes (a Buffer)';
    case 'map':
      return `map of ${describeType(type.valuesType)} (an object)`;
    case 'array':
      return `array of ${describeType(type.itemsType)}`;
    default:
      return type.typeName;
  }
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Buffer.isBuffer(value)) return `a Buffer of ${value.length} bytes`;
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string':
      return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
    case 'number':
    case 'boolean':
    case 'bigint':
      return `${typeof value} ${String(value)}`;
    case 'object':
      return 'an object';
    default:
      return typeof value;
  }
}
