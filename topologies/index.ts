/**
 * Every processor application recstream can run, by application id. The
 * `recstream process --app` and `describe` commands look them up here.
 */
import type { Topology } from '../runtime/processor/topology.js';
import type { Serde } from '../runtime/serde/serde.js';
import { interactionCountsTopology } from './interaction-counts.js';

export const APPLICATIONS: Readonly<Record<string, (serde: Serde) => Promise<Topology>>> = {
  'interaction-counts': interactionCountsTopology,
};

export function applicationNames(): string[] {
  return Object.keys(APPLICATIONS);
}
