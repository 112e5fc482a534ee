/**
 * Which processor stores are feature views: a list of (view → application +
 * store) specs, resolved against the topologies so each view takes its
 * store's codec and changelog topic from the one place they are declared.
 * The result feeds both back-ends: in-process bindings (where to read) and
 * materializer sources (which changelog fills which view).
 *
 * @example
 * ```ts
 * const resolved = resolveViews(
 *   [{ view: 'user', entity: 'user', application: 'user-features', store: 'user-view' }],
 *   [await userFeaturesTopology(serde)],
 * );
 * resolved.sources; // [{ topic: 'rec.user-features.user-view.changelog', view: 'user' }]
 * ```
 */
import { OnlineStoreError } from '../errors.js';
import type { Topology } from '../processor/topology.js';
import type { InProcessBinding } from './in-process/in-process-store.js';
import type { MaterializedSource } from './materializer.js';
import { type FeatureView, ViewRegistry } from './views.js';

export interface OnlineViewSpec {
  /** The view's name in the online store (what responders ask for). */
  readonly view: string;
  /** `user`, `item`, or another entity read through bundle lookups. */
  readonly entity: string;
  readonly application: string;
  readonly store: string;
  /** The record key the application partitions by, for a key of this view (default the key). */
  readonly routingKey?: (key: string) => string;
}

export interface ResolvedViews {
  readonly views: ViewRegistry;
  readonly bindings: readonly InProcessBinding[];
  readonly sources: readonly MaterializedSource[];
}

export function resolveViews(
  specs: readonly OnlineViewSpec[],
  topologies: readonly Topology[],
): ResolvedViews {
  const byApplication = new Map(topologies.map((t) => [t.applicationId, t]));
  const bindings: InProcessBinding[] = [];
  const sources: MaterializedSource[] = [];
  for (const spec of specs) {
    const topology = byApplication.get(spec.application);
    if (topology === undefined)
      throw new OnlineStoreError(
        `feature view ${spec.view} names application ${spec.application}, which is not among ${[...byApplication.keys()].join(', ') || 'no applications'}`,
      );
    const store = topology.stores.find((s) => s.name === spec.store);
    if (store === undefined)
      throw new OnlineStoreError(
        `feature view ${spec.view} names store ${spec.store} of ${spec.application}, which declares ${topology.stores.map((s) => s.name).join(', ') || 'no store'}`,
      );
    const view: FeatureView = { name: spec.view, entity: spec.entity, codec: store.codec };
    bindings.push({
      view,
      application: spec.application,
      store: spec.store,
      ...(spec.routingKey ? { routingKey: spec.routingKey } : {}),
    });
    sources.push({ topic: store.changelogTopic, view: spec.view });
  }
  return { views: new ViewRegistry(bindings.map((b) => b.view)), bindings, sources };
}
