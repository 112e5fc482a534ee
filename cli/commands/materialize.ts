import { TopicError } from '../../runtime/errors.js';
import type { EventLog } from '../../runtime/log/log.js';
import type { Logger } from '../../runtime/observability/logger.js';
import { Materializer } from '../../runtime/online/materializer.js';
import { materializerMetrics } from '../../runtime/online/metrics.js';
import { onlineViews } from '../../topologies/online-views.js';
import type { Command } from '../command.js';
import { serveMetrics } from '../metrics-server.js';
import { withRedisOnlineStore } from '../online.js';
import { withPlatform } from '../platform.js';
import { Progress } from '../progress.js';

/**
 * `recstream materialize`: the role that copies the feature stores (their
 * changelogs) into the Redis online store, versioned by changelog offset.
 * A separate role, not part of `process`, so a Redis outage only delays the
 * online copy and never stalls the processors. It only reads the log, so it
 * opens it read-only and runs beside `recstream process` on the embedded log.
 */
export const materializeCommand: Command = {
  name: 'materialize',
  summary:
    'copy the feature stores into the Redis online store (--once: catch up and exit; --from earliest: replay)',
  usage: 'recstream materialize [--namespace NS] [--from committed|earliest] [--once] [--metrics-port PORT]',
  options: {
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
    return withPlatform(
      config,
      async (platform) => {
        const resolved = await onlineViews(platform.serde);
        return withRedisOnlineStore(
          config,
          resolved.views,
          async (store) => {
            const namespace =
              (values.namespace as string | undefined) ?? (await store.activeNamespace()) ?? 'default';
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
                : await serveMetrics(platform.metrics, Number(values['metrics-port']));
            try {
              const topics = resolved.sources.map((s) => s.topic);
              const ready = await waitForTopics(
                platform.log,
                topics,
                !values.once,
                () => stopRequested,
                platform.logger,
              );
              if (!ready) return 0;
              let progress: Progress | undefined;
              materializer = await Materializer.start({
                log: platform.log,
                store,
                namespace,
                sources: resolved.sources,
                from,
                activateIfNone: true,
                logger: platform.logger,
                metrics: materializerMetrics(platform.metrics),
                onBatch: (stats) => progress?.update(stats.records, { applied: stats.applied }),
              });
              if (stopRequested) materializer.stop();
              progress = new Progress(`materialize ${namespace}`, await materializer.lag());
              try {
                const stats = values.once ? await materializer.runUntilCaughtUp() : await materializer.run();
                progress.done({ applied: stats.applied, skipped: stats.skipped });
                platform.logger.info({ namespace, ...stats }, 'materialize finished');
              } finally {
                await materializer.close();
              }
              return 0;
            } finally {
              await server?.close();
              process.off('SIGTERM', stop);
              process.off('SIGINT', stop);
            }
          },
          'recstream materialize copies the feature stores to Redis',
        );
      },
      { readOnly: true },
    );
  },
};

/**
 * The changelogs exist once the processors have started. `--once` cannot
 * wait for that; the long-running role waits (one log line), stoppable.
 */
async function waitForTopics(
  log: EventLog,
  topics: readonly string[],
  wait: boolean,
  stopped: () => boolean,
  logger: Logger,
): Promise<boolean> {
  let logged = false;
  for (;;) {
    const missing: string[] = [];
    for (const topic of topics) if ((await log.describeTopic(topic)) === undefined) missing.push(topic);
    if (missing.length === 0) return true;
    if (!wait)
      throw new TopicError(
        `changelog ${missing.join(', ')} does not exist yet; run \`recstream process\` first (it creates the changelogs)`,
      );
    if (!logged)
      logger.info({ missing }, 'materialize: waiting for the processors to create their changelogs');
    logged = true;
    if (stopped()) return false;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}
