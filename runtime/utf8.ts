/**
 * Where UTF-8 breaks. Node's `isUtf8` says whether bytes are UTF-8 but not
 * where they stop being so; the ingest responder and the importers name
 * that offset when they refuse input rather than letting Node decode it to
 * U+FFFD (which would store an altered event or merge distinct ids).
 *
 * @example
 * ```ts
 * firstInvalidUtf8(Buffer.from([0x61, 0xff])); // 1
 * firstInvalidUtf8(Buffer.from('é'));          // -1
 * ```
 */

/** Offset of the first byte that does not belong to a well-formed UTF-8 sequence (RFC 3629); -1 when every byte does. */
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
