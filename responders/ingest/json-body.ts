/**
 * Turns a request body into JSON, refusing what a lenient parser would
 * silently change: bytes that are not UTF-8 (Node would decode them to
 * U+FFFD and the event would be stored altered) are refused with the offset
 * of the first bad byte, and a parse error keeps V8's position.
 *
 * @example
 * ```ts
 * parseJsonBody(Buffer.from('[{"a":1}]')); // [{ a: 1 }]
 * parseJsonBody(Buffer.from([0x5b, 0xff, 0x5d])); // throws BodyError: … not valid UTF-8 at byte 1
 * ```
 */
import { isUtf8 } from 'node:buffer';

/** A body-level problem: the whole request is refused with `status` and a `code` a client can branch on. */
export class BodyError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(message);
    this.name = 'BodyError';
  }
}

export function parseJsonBody(body: Buffer): unknown {
  if (!isUtf8(body)) {
    const at = firstInvalidUtf8(body);
    throw new BodyError(
      `the body is not valid UTF-8: byte ${at} (0x${body[at]?.toString(16).padStart(2, '0')}) cannot start or continue a character; send JSON encoded as UTF-8`,
      400,
      'INVALID_UTF8',
    );
  }
  const text = body.toString('utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new BodyError(`the body is not valid JSON: ${(err as Error).message}`, 400, 'INVALID_JSON');
  }
}

/** Offset of the first byte that breaks UTF-8 (only called on bodies `isUtf8` refused). */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    let need: number;
    let min: number;
    if (b < 0x80) {
      i++;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
      min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      min = 0x10000;
    } else {
      return i;
    }
    let code = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      code = (code << 6) | (c & 0x3f);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8 either.
    if (code < min || (code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff) return i;
    i += need + 1;
  }
  return bytes.length;
}
