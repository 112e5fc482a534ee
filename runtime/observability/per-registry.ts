/**
 * One set of metrics per prom-client registry. prom-client refuses a second
 * metric of the same name in one registry, and a process may hold several
 * registries (one per role, one per test), so each module's metrics are
 * created the first time a registry asks and shared after that.
 *
 * @example
 * ```ts
 * export const cacheMetrics = onePerRegistry((registry) => ({
 *   hits: new Counter({ name: 'recstream_cache_hits_total', help: 'cache hits', registers: [registry] }),
 * }));
 * cacheMetrics(registry).hits.inc();
 * ```
 */
import type { Registry } from 'prom-client';

export function onePerRegistry<M>(create: (registry: Registry) => M): (registry: Registry) => M {
  const made = new WeakMap<Registry, M>();
  return (registry) => {
    let metrics = made.get(registry);
    if (metrics === undefined) {
      metrics = create(registry);
      made.set(registry, metrics);
    }
    return metrics;
  };
}
