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

/** Offset of the first byte that does not belong to a well-formed UTF-8 sequence (RFC 3629). */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min: number;
    let max = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
      min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      // Overlong forms and UTF-16 surrogates are excluded by the second byte's range.
      min = b === 0xe0 ? 0xa0 : 0x80;
      if (b === 0xed) max = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      min = b === 0xf0 ? 0x90 : 0x80;
      if (b === 0xf4) max = 0x8f;
    } else {
      return i;
    }
    const second = bytes[i + 1];
    if (second === undefined || second < min || second > max) return i;
    for (let k = 2; k <= need; k++) {
      const next = bytes[i + k];
      if (next === undefined || next < 0x80 || next > 0xbf) return i;
    }
    i += need + 1;
  }
  return -1;
}
