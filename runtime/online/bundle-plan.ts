/**
 * Turns a bundle request into the list of (view, key) reads both back-ends
 * perform, and their answers back into an `OnlineBundle`, so the two
 * back-ends agree on what a bundle holds.
 *
 * @example
 * ```ts
 * const reads = planBundle(views, 'u42', { items: ['i1'] });
 * const values = await readAll(reads);               // back-end specific, one round trip
 * return assembleBundle('blue', 'u42', reads, values, []);
 * ```
 */
import type { BundleRequest, OnlineBundle } from './online-store.js';
import type { FeatureView, ViewRegistry } from './views.js';

/** One value a bundle needs. */
export interface PlannedRead {
  readonly view: FeatureView;
  readonly key: string;
  readonly part: 'user' | 'item' | 'lookup';
}

export function planBundle(views: ViewRegistry, userId: string, request: BundleRequest = {}): PlannedRead[] {
  const reads: PlannedRead[] = [];
  const userViews =
    request.userViews === undefined ? views.ofEntity('user') : request.userViews.map((n) => views.get(n));
  for (const view of userViews) reads.push({ view, key: userId, part: 'user' });
  const itemViews =
    request.itemViews === undefined ? views.ofEntity('item') : request.itemViews.map((n) => views.get(n));
  for (const item of new Set(request.items ?? [])) {
    for (const view of itemViews) reads.push({ view, key: item, part: 'item' });
  }
  for (const lookup of request.lookups ?? []) {
    const view = views.get(lookup.view);
    for (const key of new Set(lookup.keys)) reads.push({ view, key, part: 'lookup' });
  }
  return reads;
}

/** `values[i]` answers `reads[i]`; undefined values are left out of the bundle. */
export function assembleBundle(
  namespace: string,
  userId: string,
  reads: readonly PlannedRead[],
  values: readonly unknown[],
  unavailable: readonly string[],
): OnlineBundle {
  const user = new Map<string, unknown>();
  const items = new Map<string, Map<string, unknown>>();
  const lookups = new Map<string, Map<string, unknown>>();
  reads.forEach((read, i) => {
    const value = values[i];
    if (value === undefined) return;
    if (read.part === 'user') {
      user.set(read.view.name, value);
      return;
    }
    const outer = read.part === 'item' ? items : lookups;
    const [first, second] = read.part === 'item' ? [read.key, read.view.name] : [read.view.name, read.key];
    let inner = outer.get(first);
    if (!inner) {
      inner = new Map();
      outer.set(first, inner);
    }
    inner.set(second, value);
  });
  return { namespace, userId, user, items, lookups, unavailable };
}
