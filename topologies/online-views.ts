/**
 * The processor stores responders read, as online-store feature views
 * (Feast's feature views): one line per view, naming the application and
 * store that hold it. The store's codec and changelog come from the
 * application's topology. `recstream materialize` copies exactly these
 * stores to Redis; without Redis they are read in-process.
 *
 * @example
 * ```ts
 * const resolved = await onlineViews(platform.serde);
 * const store = await openOnlineStore(platform.config, resolved, platform.logger, lookup);
 * ```
 */
import type { ResolvedViews } from '../runtime/online/view-spec.js';
import { type OnlineViewSpec, resolveViews } from '../runtime/online/view-spec.js';
import type { Serde } from '../runtime/serde/serde.js';
import { APPLICATIONS } from './index.js';

export const ONLINE_VIEWS: readonly OnlineViewSpec[] = [
  { view: 'interaction_counts', entity: 'user', application: 'interaction-counts', store: 'counts' },
];

/** ONLINE_VIEWS resolved against the topologies of the applications they name. */
export async function onlineViews(serde: Serde): Promise<ResolvedViews> {
  const topologies = [];
  for (const application of new Set(ONLINE_VIEWS.map((v) => v.application))) {
    const build = APPLICATIONS[application];
    if (build) topologies.push(await build(serde));
  }
  return resolveViews(ONLINE_VIEWS, topologies);
}
