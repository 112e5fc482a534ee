import { activeNamespaceOf, withPlatform } from '../../app/platform.js';
import { isRetriable, TopicError } from '../../runtime/errors.js';
import type { MaterializedSource } from '../../runtime/online/materializer.js';
import { Materializer } from '../../runtime/online/materializer.js';
import { materializerMetrics } from '../../runtime/online/metrics.js';
import type { ViewRegistry } from '../../runtime/online/views.js';
import type { Platform } from '../../runtime/platform.js';
import { Backoff, sleep } from '../../runtime/retry.js';
import { ONLINE_VIEWS, onlineViews } from '../../topologies/online-views.js';
import type { Command } from '../command.js';
import { serveMetrics } from '../metrics-server.js';
import { withRedisOnlineStore } from '../online.js';
import { Progress } from '../progress.js';

/**
 * `recstream materialize`: the role that copies the feature stores (their
 * changelogs) into the Redis online store, versioned by changelog offset.
 * A separate role, not part of `process`, so a Redis outage only delays the
 * online copy and never stalls the processors. It only reads the log, so it
 * opens the platform read-only and runs beside `recstream process`.
 * Without `--namespace` the long-running role follows the active
 * namespace: when a blue/green rebuild activates another one, it switches
 * to it and to the changelogs of the applications' active state
 * namespaces, without a restart.
 */
export const materializeCommand: Command = {
  name: 'materialize',
  summary:
    'copy the feature stores into the Redis online store (--once: catch up and exit; --from earliest: replay)',
  usage:
    'recstream materialize [--views V1,V2] [--namespace NS] [--from committed|earliest] [--once] [--metrics-port PORT]',
  options: {
    views: { type: 'string' },
    namespace: { type: 'string' },
    from: { type: 'string' },
    once: { type: 'boolean' },
    'metrics-port': { type: 'string' },
  },
  run: ({ config, values }) => {
    const from = (values.from as string | undefined) ?? 'committed';
    if (from !== 'committed' && from !== 'earliest') {
      process.stderr.write(`recstream materialize: --from must be committed or earliest, not ${from}\n`);
      return Promise.resolve(2);
    }
    const named = typeof values.views === 'string' ? values.views.split(',') : undefined;
    const unknown = named?.filter((v) => !ONLINE_VIEWS.some((spec) => spec.view === v)) ?? [];
    if (unknown.length > 0) {
      process.stderr.write(
        `recstream materialize: unknown view ${unknown.join(', ')}; known: ${ONLINE_VIEWS.map((v) => v.view).join(', ')}\n`,
      );
      return Promise.resolve(2);
    }
    return withPlatform(
      config,
      async (platform) => {
        let stopRequested = false;
        let materializer: Materializer | undefined;
        const stop = () => {
          stopRequested = true;
          materializer?.stop();
        };
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
        const server =
          values['metrics-port'] === undefined
            ? undefined
            : await serveMetrics(platform.metrics, Number(values['metrics-port']), config.httpHost);
        try {
          // Without --namespace the long-running role follows the active one: after a blue/green
          // rebuild activates a new namespace (and its application's new changelogs), it switches.
          const follow = values.namespace === undefined && !values.once;
          const materialize = async (): Promise<'finished' | 'namespace-changed'> => {
            const chosen = await chooseViews(platform, named, !values.once, () => stopRequested);
            if (chosen === undefined) return 'finished';
            return withRedisOnlineStore(
              config,
              chosen.views,
              async (store) => {
                const namespace =
                  (values.namespace as string | undefined) ?? (await store.activeNamespace()) ?? 'default';
                let progress: Progress | undefined;
                materializer = await Materializer.start({
                  log: platform.log,
                  store,
                  namespace,
                  sources: chosen.sources,
                  from,
                  activateIfNone: true,
                  logger: platform.logger,
                  metrics: materializerMetrics(platform.metrics),
                  onBatch: (stats) => progress?.update(stats.records, { applied: stats.applied }),
                });
                if (stopRequested) materializer.stop();
                const lag = await materializer.lag();
                progress = new Progress(`materialize ${namespace}`, lag);
                platform.logger.info(
                  { namespace, views: chosen.sources.map((source) => source.topic), lag },
                  'materialize: copying changelogs into the online store',
                );
                const watch = follow ? watchActive(store, namespace, () => materializer?.stop()) : undefined;
                try {
                  const stats = values.once
                    ? await materializer.runUntilCaughtUp()
                    : await materializer.run();
                  progress.done({ applied: stats.applied, skipped: stats.skipped });
                  platform.logger.info({ namespace, ...stats }, 'materialize finished');
                } finally {
                  watch?.stop();
                  await materializer.close();
                }
                if (watch?.changedTo === undefined || stopRequested) return 'finished';
                platform.logger.info(
                  { from: namespace, to: watch.changedTo },
                  'materialize: the active namespace changed; following it',
                );
                return 'namespace-changed';
              },
              'recstream materialize copies the feature stores to Redis',
            );
          };
          if (values.once) {
            await materialize();
            return 0;
          }
          // The long-running role waits out Redis being unreachable or another materializer's lease at start.
          const backoff = new Backoff(START_BACKOFF_MS);
          for (;;) {
            try {
              if ((await materialize()) === 'finished') return 0;
              backoff.reset();
            } catch (err) {
              if (!isRetriable(err) || stopRequested) throw err;
              const delayMs = backoff.next();
              platform.logger.warn(
                { err, delayMs },
                'materialize: cannot start yet; trying again after a pause',
              );
              for (let waited = 0; waited < delayMs && !stopRequested; waited += 100) await sleep(100);
              if (stopRequested) return 0;
            }
          }
        } finally {
          await server?.close();
          process.off('SIGTERM', stop);
          process.off('SIGINT', stop);
        }
      },
      { readOnly: true },
    );
  },
};

const START_BACKOFF_MS = [500, 1000, 2000, 5000];
/** How often the long-running role checks which namespace is active. */
const FOLLOW_INTERVAL_MS = 1000;

/**
 * Checks every second whether another namespace than `namespace` became
 * active; if so calls `onChange` once and remembers which. An unreachable
 * Redis is left to the materializer's own retries.
 */
function watchActive(
  store: { activeNamespace(): Promise<string | undefined> },
  namespace: string,
  onChange: () => void,
): { changedTo: string | undefined; stop(): void } {
  const watch = {
    changedTo: undefined as string | undefined,
    stop: () => clearInterval(timer),
  };
  const timer = setInterval(() => {
    store.activeNamespace().then(
      (active) => {
        if (active === undefined || active === namespace || watch.changedTo !== undefined) return;
        watch.changedTo = active;
        onChange();
      },
      () => undefined,
    );
  }, FOLLOW_INTERVAL_MS);
  return watch;
}

/**
 * The views to materialize. A view can be copied once its application has
 * run: its schemas are registered and its changelog exists. Named views
 * (`--views`) are all required; by default every view that can be copied is
 * taken and the others are logged as skipped. `--once` cannot wait; the
 * long-running role waits (one log line) and can be stopped meanwhile.
 */
async function chooseViews(
  platform: Platform,
  named: readonly string[] | undefined,
  wait: boolean,
  stopped: () => boolean,
): Promise<{ views: ViewRegistry; sources: MaterializedSource[] } | undefined> {
  let logged = false;
  for (;;) {
    const resolved = await onlineViews(platform.serde, {
      skipNotRun: true,
      namespaceOf: activeNamespaceOf(platform.config.dataDir),
    });
    const wanted = (view: string) => named === undefined || named.includes(view);
    const missing = ONLINE_VIEWS.filter((v) => wanted(v.view) && resolved.notRun.includes(v.application)).map(
      (v) => `${v.view} (application ${v.application} has not run: its schemas are not registered)`,
    );
    const sources: MaterializedSource[] = [];
    for (const source of resolved.sources.filter((s) => wanted(s.view))) {
      if ((await platform.log.describeTopic(source.topic)) === undefined)
        missing.push(`${source.view} (changelog ${source.topic} does not exist yet)`);
      else sources.push(source);
    }
    if (sources.length > 0 && (missing.length === 0 || named === undefined)) {
      if (missing.length > 0)
        platform.logger.info({ skipped: missing }, 'materialize: skipping views not ready');
      return { views: resolved.views, sources };
    }
    const what = `no view to materialize yet: ${missing.join('; ')}`;
    if (!wait) throw new TopicError(`${what}; run \`recstream process\` first`);
    if (!logged) platform.logger.info({ missing }, `materialize: waiting, ${what}`);
    logged = true;
    if (stopped()) return undefined;
    await sleep(1000);
  }
}
