/**
 * Feature views as the online store knows them: a name, the entity their
 * keys identify, and the codec of their values. The online store is generic
 * over views, so processors can change their value types without touching
 * it; a view's codec is its store's codec (the bytes in the changelog are
 * the bytes in Redis).
 *
 * @example
 * ```ts
 * const userView: FeatureView<UserFeatures> = { name: 'user', entity: 'user', codec: userFeaturesCodec };
 * const views = new ViewRegistry([userView, itemView]);
 * const bundle = await store.bundle('u42', { items: ['i7'] });
 * userValue(bundle, userView)?.recent_items;
 * ```
 */
import { OnlineStoreError } from '../errors.js';
import type { ValueCodec } from '../state/store.js';
import type { OnlineBundle } from './online-store.js';

export interface FeatureView<V = unknown> {
  /** Letters, digits, `_`, `.`, `-`: it is a Redis hash field and a metric label. */
  readonly name: string;
  /**
   * What the keys identify. `user` views are keyed by user id and read by
   * `bundle` for its user; `item` views by item id, read for its items; any
   * other entity (`segment`, `country`) is read through `bundle` lookups.
   */
  readonly entity: string;
  readonly codec: ValueCodec<V>;
}

const VIEW_NAME = /^[A-Za-z0-9_.-]+$/;
const ENTITY_NAME = /^[a-z][a-z0-9_]*$/;

/** The views a store serves, by name and by entity. */
export class ViewRegistry {
  private readonly byName = new Map<string, FeatureView>();
  private readonly byEntity = new Map<string, FeatureView[]>();

  constructor(views: readonly FeatureView<unknown>[]) {
    for (const view of views) {
      if (!VIEW_NAME.test(view.name))
        throw new OnlineStoreError(
          `feature view name ${JSON.stringify(view.name)} must be letters, digits, '_', '.' or '-'`,
        );
      if (!ENTITY_NAME.test(view.entity))
        throw new OnlineStoreError(
          `feature view ${view.name}: entity ${JSON.stringify(view.entity)} must be lower-case letters, digits or '_'`,
        );
      if (this.byName.has(view.name))
        throw new OnlineStoreError(`feature view ${view.name} is declared twice`);
      this.byName.set(view.name, view);
      const list = this.byEntity.get(view.entity) ?? [];
      list.push(view);
      this.byEntity.set(view.entity, list);
    }
  }

  /** The view named `name`; an OnlineStoreError naming the known views otherwise. */
  get(name: string): FeatureView {
    const view = this.byName.get(name);
    if (view === undefined)
      throw new OnlineStoreError(
        `unknown feature view ${JSON.stringify(name)}; known: ${[...this.byName.keys()].join(', ') || 'none'}`,
      );
    return view;
  }

  /** Views of one entity, in declaration order. */
  ofEntity(entity: string): readonly FeatureView[] {
    return this.byEntity.get(entity) ?? [];
  }

  all(): readonly FeatureView[] {
    return [...this.byName.values()];
  }
}

/** The user's value of `view` in a bundle, typed by the view. */
export function userValue<V>(bundle: OnlineBundle, view: FeatureView<V>): V | undefined {
  return bundle.user.get(view.name) as V | undefined;
}

/** An item's value of `view` in a bundle, typed by the view. */
export function itemValue<V>(bundle: OnlineBundle, view: FeatureView<V>, itemId: string): V | undefined {
  return bundle.items.get(itemId)?.get(view.name) as V | undefined;
}

/** A lookup's value in a bundle, typed by the view. */
export function lookupValue<V>(bundle: OnlineBundle, view: FeatureView<V>, key: string): V | undefined {
  return bundle.lookups.get(view.name)?.get(key) as V | undefined;
}
