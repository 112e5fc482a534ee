/**
 * The shipped subjects' value types, given to the runtime by declaration
 * merging: the runtime's serde and producer know no subject of their own,
 * and with this module in the program `serde.decoder('rec.items-value')`
 * decodes an `Item` and `producer.send('rec.items', [{ value }])` takes one.
 * The package entry (index.ts) imports it, so users of the package get the
 * same types.
 *
 * @example
 * ```ts
 * import '../schemas/value-types.js';
 * const item = await (await serde.decoder('rec.items-value')).decode(bytes); // Item
 * ```
 */
import type { SubjectValueTypes as ShippedValueTypes } from './generated/types.js';

declare module '../runtime/serde/serde.js' {
  interface SubjectValueTypes extends ShippedValueTypes {}
}
