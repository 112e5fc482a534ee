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

import { CO_VISITATION_STORE } from '../features/views/co-visitation.js';
import { ITEM_FRONTIER_STORE, ITEM_FRONTIER_VIEW } from '../features/views/item-frontier.js';
import { ITEM_VIEW_STORE } from '../features/views/item-view.js';
import { USER_VIEW_STORE } from '../features/views/user-view.js';
import { ITEMS_STORE } from '../processors/catalog/catalog.js';
import { EXPERIMENT_FIGURES_STORE } from '../processors/experiment-metrics/report.js';
import { namespacedTopology } from '../runtime/engine/namespace.js';
import { SchemaNotFoundError } from '../runtime/errors.js';
import type { ResolvedViews } from '../runtime/online/view-spec.js';
import { type OnlineViewSpec, resolveViews } from '../runtime/online/view-spec.js';
import type { Serde } from '../runtime/serde/serde.js';
import { APPLICATIONS } from './index.js';

/** The online view of each experiment's figures, key experiment id (`readExperimentFigures`). */
export const EXPERIMENT_FIGURES_VIEW = 'experiment_figures';

/**
 * The `users` profile store is left out on purpose: it keeps an opted-out
 * user's record (with the flag), and an opted-out user must have no key in
 * the online store. Their user view is purged, so responders find no
 * features and serve non-personalised results.
 */
export const ONLINE_VIEWS: readonly OnlineViewSpec[] = [
  { view: 'user', entity: 'user', application: 'features', store: USER_VIEW_STORE },
  { view: 'item', entity: 'item', application: 'features', store: ITEM_VIEW_STORE },
  { view: 'catalog', entity: 'item', application: 'features', store: ITEMS_STORE },
  // Keys `itemFrontierKeys(partitions)`, each on its own task's partition.
  { view: ITEM_FRONTIER_VIEW, entity: 'frontier', application: 'features', store: ITEM_FRONTIER_STORE },
  { view: 'interaction_counts', entity: 'user', application: 'interaction-counts', store: 'counts' },
  { view: 'co_visitation', entity: 'item', application: 'co-visitation', store: CO_VISITATION_STORE },
  {
    view: EXPERIMENT_FIGURES_VIEW,
    entity: 'experiment',
    application: 'experiment-metrics',
    store: EXPERIMENT_FIGURES_STORE,
  },
];

/** ONLINE_VIEWS resolved, plus the applications left out because they have never run. */
export interface OnlineViews extends ResolvedViews {
  /** Applications whose topology could not be built: their schemas are not registered yet. */
  readonly notRun: readonly string[];
}

/**
 * ONLINE_VIEWS resolved against the topologies of the applications they
 * name. With `skipNotRun` (read-only tools beside running processors), an
 * application whose schemas are not registered yet is left out with its
 * views instead of failing. With `namespaceOf` (the active state namespace
 * of an application), changelogs are that namespace's.
 */
export async function onlineViews(
  serde: Serde,
  options: {
    skipNotRun?: boolean;
    namespaceOf?: (application: string) => Promise<string | undefined>;
  } = {},
): Promise<OnlineViews> {
  const topologies = [];
  const notRun: string[] = [];
  for (const application of new Set(ONLINE_VIEWS.map((v) => v.application))) {
    const build = APPLICATIONS[application];
    if (!build) continue;
    try {
      const topology = await build(serde);
      topologies.push(namespacedTopology(topology, await options.namespaceOf?.(application)));
    } catch (err) {
      if (!(options.skipNotRun && err instanceof SchemaNotFoundError)) throw err;
      notRun.push(application);
    }
  }
  return {
    ...resolveViews(
      ONLINE_VIEWS.filter((v) => !notRun.includes(v.application)),
      topologies,
    ),
    notRun,
  };
}
