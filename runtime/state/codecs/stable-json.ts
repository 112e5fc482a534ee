/**
 * JSON text with object keys in sorted order at every depth, so that equal
 * values give equal bytes whatever order their keys were added in. Follows
 * JSON.stringify otherwise: `toJSON` is honoured, `undefined`, functions and
 * symbols are left out of objects and become `null` in arrays, and
 * non-finite numbers become `null`.
 *
 * @example
 * ```ts
 * stableStringify({ b: 1, a: [true, null] }); // '{"a":[true,null],"b":1}'
 * ```
 */
import { StateStoreError } from '../../errors.js';

export function stableStringify(value: unknown): string {
  const text = write(value, new Set());
  if (text === undefined) throw new StateStoreError(`cannot encode ${typeof value} as JSON`);
  return text;
}

function write(value: unknown, ancestors: Set<object>): string | undefined {
  if (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as { toJSON?: unknown }).toJSON === 'function'
  ) {
    value = (value as { toJSON(): unknown }).toJSON();
  }
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
      return JSON.stringify(value);
    case 'bigint':
      throw new StateStoreError('cannot encode a bigint as JSON; store it as a string or number');
    case 'object':
      break;
    default:
      return undefined;
  }
  if (value === null) return 'null';
  if (ancestors.has(value)) throw new StateStoreError('cannot encode a cyclic value as JSON');
  ancestors.add(value);
  let out: string;
  if (Array.isArray(value)) {
    out = `[${value.map((item) => write(item, ancestors) ?? 'null').join(',')}]`;
  } else {
    const record = value as Record<string, unknown>;
    const parts: string[] = [];
    for (const key of Object.keys(record).sort()) {
      const text = write(record[key], ancestors);
      if (text !== undefined) parts.push(`${JSON.stringify(key)}:${text}`);
    }
    out = `{${parts.join(',')}}`;
  }
  ancestors.delete(value);
  return out;
}
