import { experimentGauges } from '../../app/experiment-gauges.js';
import {
  activeRunnerOptions,
  controlDir,
  runnerOptions,
  selectTopologies,
  withPlatform,
} from '../../app/platform.js';
import { prepareApplication, replayOrder } from '../../runtime/engine/operations.js';
import { ReplayControl } from '../../runtime/engine/replay-control.js';
import { type RunnerOptions, type RunStats, StreamRunner } from '../../runtime/engine/runner.js';
import { RunningApplication } from '../../runtime/engine/running-application.js';
import { ConfigError } from '../../runtime/errors.js';
import { runtimeMetrics } from '../../runtime/observability/metrics.js';
import { runnersLookup } from '../../runtime/online/in-process/task-lookup.js';
import type { Platform } from '../../schemas/platform.js';
import { EXPERIMENT_METRICS_APPLICATION } from '../../topologies/experiment-metrics.js';
import type { Command } from '../command.js';
import { instanceShare, parseInstance } from '../instance.js';
import { serveMetrics } from '../metrics-server.js';
import { parseThreadsAsked, resolveThreads, runOnceOnThreads, type ThreadedRun } from '../stream-threads.js';

export const processCommand: Command = {
  name: 'process',
  summary: 'run processor applications over the log (--once: process what is there, commit, exit)',
  usage: [
    'recstream process [--app NAME|all] [--once [--end-of-input] [--threads N|auto]] [--partitions 0,1,... | --instance I/N] [--metrics-port PORT]',
    '  --end-of-input: the input ends here (a finite import): what waits for later events, such as the',
    '  open training snapshot of each partition, is closed before committing',
    '  --threads N|auto: the tasks spread over N stream threads of this process, each owning its tasks',
    '  as a process would; auto: the cores, at most the partitions (default RECSTREAM_PROCESS_THREADS, 1);',
    '  with --once',
  ].join('\n'),
  options: {
    app: { type: 'string' },
    once: { type: 'boolean' },
    'end-of-input': { type: 'boolean' },
    partitions: { type: 'string' },
    instance: { type: 'string' },
    'metrics-port': { type: 'string' },
    threads: { type: 'string' },
  },
  run: ({ config, values }) =>
    withPlatform(config, async (platform) => {
      const topologies = replayOrder(await selectTopologies(platform, values.app as string | undefined));
      const partitions =
        typeof values.partitions === 'string' ? values.partitions.split(',').map(Number) : undefined;
      const instance = typeof values.instance === 'string' ? parseInstance(values.instance) : undefined;
      if (instance !== undefined && partitions !== undefined)
        throw new ConfigError('--instance and --partitions both choose partitions: give one of them');
      const endOfInput = values['end-of-input'] === true;
      if (endOfInput && !values.once)
        throw new ConfigError('--end-of-input ends a --once run: a live run has no end of input');
      const flag =
        typeof values.threads === 'string' ? parseThreadsAsked(values.threads, '--threads') : undefined;
      const oneThreadOnly = !values.once || endOfInput || values['metrics-port'] !== undefined;
      if (oneThreadOnly && flag !== undefined && flag !== 1)
        throw new ConfigError(
          '--threads N runs `process --once` without --end-of-input or --metrics-port; a live process, an end of input and the metrics endpoint run on one thread',
        );
      const asked = flag ?? parseThreadsAsked(config.processThreads, 'RECSTREAM_PROCESS_THREADS');
      if (oneThreadOnly && asked !== 1)
        platform.logger.info(
          { process_threads: config.processThreads },
          'RECSTREAM_PROCESS_THREADS applies to `process --once`; this process runs on one thread',
        );
      if (!oneThreadOnly && asked !== 1) {
        const shares: number[][] = [];
        for (const topology of topologies) {
          const options = await activeRunnerOptions(platform, topology);
          const count = await prepareApplication(options);
          shares.push(
            instance !== undefined
              ? instanceShare(count, instance, topology.applicationId)
              : (partitions ?? Array.from({ length: count }, (_, p) => p)),
          );
        }
        const threads = resolveThreads(asked, shares);
        if (threads > 1) {
          await onceOnThreads(platform, {
            app: values.app as string | undefined,
            threads,
            topologies,
            shares,
          });
          return 0;
        }
      }
      const metrics = runtimeMetrics(platform.metrics);
      const runners: StreamRunner[] = [];
      const apps: RunningApplication[] = [];
      // Installed before start-up so a SIGTERM during a long restore still ends in a clean close.
      let stopRequested = false;
      const stop = () => {
        stopRequested = true;
        for (const r of runners) r.stop();
        for (const a of apps) a.stop();
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      // The default namespace's options: a blue/green rebuild derives its green namespace's from them.
      const bases: RunnerOptions[] = [];
      const namespaces: (string | undefined)[] = [];
      for (const topology of topologies) {
        const options = await activeRunnerOptions(platform, topology);
        // An instance's share depends on the application's own partition count (its source topics').
        const share =
          instance === undefined
            ? partitions
            : instanceShare(await prepareApplication(options), instance, topology.applicationId);
        bases.push({ ...(await runnerOptions(platform, topology)), metrics, partitions: share });
        namespaces.push(options.namespace);
        const runner = await StreamRunner.start({
          ...options,
          metrics,
          partitions: share,
          onRestore: (store, partition, restored, total) =>
            platform.logger.info(
              { application: topology.applicationId, store, partition, restored, total },
              'restoring',
            ),
        });
        if (stopRequested) runner.stop();
        runners.push(runner);
      }
      const byApplication = new Map(runners.map((r, i) => [topologies[i]!.applicationId, r]));
      if (byApplication.has(EXPERIMENT_METRICS_APPLICATION))
        experimentGauges(platform.metrics, runnersLookup(byApplication));
      const server =
        values['metrics-port'] === undefined
          ? undefined
          : await serveMetrics(platform.metrics, Number(values['metrics-port']), config.httpHost);
      // --once runs the applications one after the other, writers before readers, so a
      // downstream application (snapshots) also processes what its upstream (features) wrote in this run.
      let previous: Promise<unknown> = Promise.resolve();
      const runs: Promise<RunStats>[] = runners.map((r, i) => {
        if (!values.once) {
          const app = new RunningApplication(r, bases[i]!, namespaces[i]);
          apps.push(app);
          return app.finished();
        }
        const run = previous.then(() => r.runUntilCaughtUp({ endOfInput }));
        previous = run;
        return run;
      });
      // Served only while run() loops (not --once), so `recstream replay` / `rebuild` can work beside it.
      const controls = values.once
        ? []
        : await Promise.all(
            topologies.map((topology, i) =>
              ReplayControl.serve(
                controlDir(config.dataDir, topology.applicationId),
                apps[i]!,
                platform.log,
                platform.logger.child({ application: topology.applicationId }),
              ),
            ),
          );
      try {
        const stats = await Promise.all(runs);
        platform.logger.info({ stats, threads: 1 }, 'process finished');
      } finally {
        for (const control of controls) await control.close();
        await server?.close();
        process.off('SIGTERM', stop);
        process.off('SIGINT', stop);
      }
      return 0;
    }),
};

/** `process --once` on stream threads; SIGTERM and Ctrl-C finish the running batch and commit. */
async function onceOnThreads(platform: Platform, run: ThreadedRun): Promise<void> {
  let stopThreads: (() => void) | undefined;
  const stop = () => stopThreads?.();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  try {
    const stats = await runOnceOnThreads(platform, run, (s) => {
      stopThreads = s;
    });
    platform.logger.info({ stats, threads: run.threads }, 'process finished');
  } finally {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
  }
}
