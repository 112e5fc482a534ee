/**
 * Byte layout of a task's engine, shared by every store of the task:
 *
 * - `m` — the task metadata (one JSON value, see `task-meta.ts`);
 * - `s` + store name + `\0` + UTF-8 key — store entries.
 *
 * The NUL after the store name makes prefixes prefix-free (store `a` never
 * sees the keys of store `a/b`), which is why store names may not contain NUL.
 *
 * @example
 * ```ts
 * const prefix = storePrefix('counts');          // <73 63 6f 75 6e 74 73 00>
 * engine.iterate({ gte: prefix, lt: prefixEnd(prefix) });
 * ```
 */
import { StateStoreError } from '../errors.js';
import { MARKER_KEY } from './changelog/marker.js';

/** The key of the task metadata. Sorts before every store entry. */
export const META_KEY = Buffer.from('m', 'latin1');

/** First and last-plus-one byte of the store entries (`s` ... `t`). */
export const DATA_START = Buffer.from('s', 'latin1');
export const DATA_END = Buffer.from('t', 'latin1');

/** The engine prefix of a store's entries. */
export function storePrefix(storeName: string): Buffer {
  if (storeName.length === 0 || storeName.includes('\u0000')) {
    throw new StateStoreError(
      `invalid store name ${JSON.stringify(storeName)}: it must be non-empty and contain no NUL character`,
    );
  }
  return Buffer.concat([DATA_START, Buffer.from(storeName, 'utf8'), Buffer.from([0])]);
}

/** The smallest key greater than every key starting with `prefix` (prefixes here never end in 0xff). */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  end[end.length - 1] = (end[end.length - 1] as number) + 1;
  return end;
}

/** `prefix` followed by the UTF-8 bytes of `key`, in one allocation. */
export function prefixedKey(prefix: Buffer, key: string): Buffer {
  const out = Buffer.allocUnsafe(prefix.length + Buffer.byteLength(key, 'utf8'));
  prefix.copy(out, 0);
  out.write(key, prefix.length, 'utf8');
  return out;
}

/**
 * Orders strings as their UTF-8 bytes are ordered (the engines' order), which
 * is code point order. Plain `<` compares UTF-16 code units and puts
 * surrogate pairs (code points above U+FFFF) before U+E000–U+FFFF; UTF-8 puts
 * them after.
 */
export function compareUtf8(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return x >= 0xd800 && y >= 0xd800 ? utf8Rank(x) - utf8Rank(y) : x - y;
  }
  return a.length - b.length;
}

function utf8Rank(unit: number): number {
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}

/** Whether `key` lies in [gte, lt) in UTF-8 order; absent bounds are open. */
export function inRange(key: string, gte: string | undefined, lt: string | undefined): boolean {
  return (gte === undefined || compareUtf8(key, gte) >= 0) && (lt === undefined || compareUtf8(key, lt) < 0);
}

/** String.prototype.isWellFormed (Node 20+), which the ES2022 lib does not declare. */
interface WellFormed {
  isWellFormed(): boolean;
}

/**
 * Whether `key` may be a store's key: a string of well-formed UTF-16 (lone
 * surrogates would be replaced by U+FFFD in UTF-8, making two keys one),
 * other than the changelog's reserved marker key.
 */
export function isValidKey(key: string): boolean {
  return typeof key === 'string' && key !== MARKER_KEY && (key as unknown as WellFormed).isWellFormed();
}
