/**
 * The value codecs stores are declared with. Each one is deterministic:
 * equal values give equal bytes, which `recstream state digest` relies on.
 *
 * @example
 * ```ts
 * import { jsonCodec, numberCodec } from '../runtime/state/codecs/index.js';
 * const stores = [{ name: 'counts', codec: numberCodec }, { name: 'profiles', codec: jsonCodec<Profile>() }];
 * ```
 */
export { avroCodec } from './avro-codec.js';
export { jsonCodec } from './json-codec.js';
export { numberCodec } from './number-codec.js';
export { stableStringify } from './stable-json.js';
export { stringCodec } from './string-codec.js';
