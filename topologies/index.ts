/**
 * Every processor application recstream can run, by application id. The
 * `recstream process --app` and `describe` commands look them up here.
 */
import { type Config, loadConfig } from '../runtime/config.js';
import type { Topology } from '../runtime/processor/topology.js';
import type { Serde } from '../runtime/serde/serde.js';
import { coVisitationOptions, coVisitationTopology } from './co-visitation.js';
import { experimentMetricsOptions, experimentMetricsTopology } from './experiment-metrics.js';
import { featuresOptions, featuresTopology } from './features.js';
import { interactionCountsTopology } from './interaction-counts.js';
import { snapshotsTopology, snapshotterOptions } from './snapshots.js';

/** Builds an application's topology; `config` defaults to the environment's. */
export type ApplicationBuilder = (serde: Serde, config?: Config) => Promise<Topology>;

export const APPLICATIONS: Readonly<Record<string, ApplicationBuilder>> = {
  'interaction-counts': (serde, config = loadConfig()) => interactionCountsTopology(serde, config),
  features: (serde, config = loadConfig()) => featuresTopology(serde, featuresOptions(config)),
  snapshots: (serde, config = loadConfig()) => snapshotsTopology(serde, snapshotterOptions(config)),
  'experiment-metrics': (serde, config = loadConfig()) =>
    experimentMetricsTopology(serde, experimentMetricsOptions(config)),
  'co-visitation': (serde, config = loadConfig()) => coVisitationTopology(serde, coVisitationOptions(config)),
};

export function applicationNames(): string[] {
  return Object.keys(APPLICATIONS);
}
