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
import { firstInvalidUtf8 } from '../../runtime/utf8.js';

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
