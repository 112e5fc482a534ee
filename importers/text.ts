/**
 * Bytes to text for importers. Event files must be UTF-8: a line that is not
 * is bad input, reported with the offset of its first invalid byte rather
 * than silently turned into U+FFFD (which would merge distinct ids).
 * Metadata files of older MovieLens releases are Latin-1, so metadata is
 * read as UTF-8 when it is valid UTF-8 and as Latin-1 otherwise.
 *
 * @example
 * ```ts
 * decodeUtf8(Buffer.from([0x61, 0xff])); // throws BadFieldError: invalid UTF-8 at byte 1
 * decodeMetadata(Buffer.from([0x43, 0x61, 0x66, 0xe9])); // 'Café' (Latin-1)
 * ```
 */
import { isUtf8 } from 'node:buffer';
import { firstInvalidUtf8 } from '../runtime/utf8.js';
import { BadFieldError } from './values.js';

export function decodeUtf8(bytes: Buffer): string {
  if (!isUtf8(bytes)) {
    throw new BadFieldError('line', `invalid UTF-8 at byte ${firstInvalidUtf8(bytes)}`);
  }
  return bytes.toString('utf8');
}

export function decodeMetadata(bytes: Buffer): string {
  return isUtf8(bytes) ? bytes.toString('utf8') : bytes.toString('latin1');
}
