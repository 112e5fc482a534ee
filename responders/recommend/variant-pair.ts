/**
 * Which model/index pair serves a request, and under which experiment
 * label: the promoted pair outside experiments and for `promoted`
 * variants, none for `popularity`, and a `<model>@<version>` variant's own
 * pair once it is loaded. Until then its users get the promoted pair,
 * labelled outside the experiment, so the experiment's figures (and a
 * canary's decisions) count only what the variant itself served; the wait
 * is counted in `recstream_serve_variant_pending_total`.
 *
 * @example
 * ```ts
 * const { bundle, assignment } = variantPair(bundles, metrics, experiments.assign('u42'), false);
 * try { serve(bundle, assignment); } finally { bundle?.release(); }
 * ```
 */
import type { Assignment } from '../../registry/experiments/assignment.js';
import type { BundleManager } from './bundle-manager.js';
import type { ServeMetrics } from './serve-metrics.js';
import type { ServingBundle } from './serving-bundle.js';

export const PROMOTED = 'promoted';
export const POPULARITY = 'popularity';

/** The pair (held for the request; undefined for none) and the assignment the list is labelled with. */
export function variantPair(
  bundles: BundleManager,
  metrics: ServeMetrics,
  assignment: Assignment | undefined,
  shadow: boolean,
): { bundle: ServingBundle | undefined; assignment: Assignment | undefined } {
  const variant = assignment?.variant;
  if (variant === undefined || variant.model === PROMOTED) return { bundle: bundles.acquire(), assignment };
  if (variant.model === POPULARITY) return { bundle: undefined, assignment };
  const own = bundles.acquireVersion(variant.model);
  if (own !== undefined) return { bundle: own, assignment };
  if (shadow) return { bundle: bundles.acquire(), assignment };
  metrics.variantPending.inc({ experiment: assignment!.experiment.id, variant: variant.name });
  return { bundle: bundles.acquire(), assignment: undefined };
}
