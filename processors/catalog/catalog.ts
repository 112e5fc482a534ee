/**
 * `catalog`: the items table of `rec.items` (compacted, keyed by item_id).
 * Store `items` holds each item's newest version (by `updated_ts`; an older
 * update arriving late is ignored) and a tombstone deletes the item. It is
 * what responders and the online store read for an item's attributes.
 *
 * Feature processors do not join against this store: they read the
 * `catalog-versions` global table (`catalog-versions.ts`), which every task
 * sees in full and which answers "the item as of time t".
 *
 * @example
 * ```ts
 * builder.addSource('items', ['rec.items'], itemDeserializer)
 *   .addProcessor('catalog', () => new CatalogProcessor(), ['items'])
 *   .addStore({ name: ITEMS_STORE, codec: itemCodec, keyedByRecordKey: true }, ['catalog']);
 * ```
 */
import { subjectCodec } from '../../features/math/schema-codec.js';
import { ProcessingError } from '../../runtime/errors.js';
import type { Processor, ProcessorContext, StreamRecord } from '../../runtime/processor/processor.js';
import type { KeyValueStore, ValueCodec } from '../../runtime/state/store.js';
import type { Item } from '../../schemas/generated/types.js';

export const ITEMS_STORE = 'items';

/** Store `items`: key item_id, value the `Item` (Avro binary of rec.items-value). */
export const itemCodec: ValueCodec<Item> = subjectCodec<Item>('rec.items-value');

export class CatalogProcessor implements Processor<Item | null, never> {
  private items!: KeyValueStore<Item>;

  init(ctx: ProcessorContext<never>): void {
    this.items = ctx.store(ITEMS_STORE);
  }

  async process(record: StreamRecord<Item | null>): Promise<void> {
    const key = record.key;
    if (key === null) throw new ProcessingError('rec.items record has no key (the key is the item_id)');
    const item = record.value;
    if (item === null) {
      this.items.delete(key);
      return;
    }
    if (item.item_id !== key)
      throw new ProcessingError(
        `rec.items record key ${JSON.stringify(key)} is not its item_id ${JSON.stringify(item.item_id)}`,
      );
    const current = await this.items.get(key);
    if (current !== undefined && current.updated_ts > item.updated_ts) return;
    this.items.put(key, item);
  }
}
