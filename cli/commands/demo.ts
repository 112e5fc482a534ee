import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  INTERACTION_COUNTS_STORE,
  type InteractionCountsValue,
} from '../../processors/interaction-counts/interaction-counts.js';
import { partitionForKey } from '../../runtime/log/partitioner.js';
import { runtimeMetrics } from '../../runtime/observability/metrics.js';
import type { Platform } from '../../runtime/platform.js';
import { StreamRunner } from '../../runtime/processor/runner.js';
import { TaskState } from '../../runtime/state/task-state.js';
import { simulationTopics, writeSimulation } from '../../sim/log-writer.js';
import type { Command } from '../command.js';
import { demoModel } from '../demo-model.js';
import { demoServe } from '../demo-serve.js';
import { runnerOptions, selectTopologies, withPlatform } from '../platform.js';
import { Progress } from '../progress.js';

/** Marks a data dir as the demo's own, so a second `recstream demo` may resume or wipe it and nothing else. */
const MARKER = '.recstream-demo';
/** Written once the demo's world is streamed and its first training round ran: a later run resumes. */
const STREAMED = '.recstream-demo-streamed';

export const demoCommand: Command = {
  name: 'demo',
  summary:
    "the main job on the embedded default: simulates a seeded world, streams its events through every processor, trains and indexes a model, serves recommendations on RECSTREAM_HTTP_HOST:PORT and shows u0's (Ctrl-C stops)",
  usage: 'recstream demo [--events N] [--users N] [--items N] [--seed N] [--rate EVENTS_PER_S] [--fresh]',
  options: {
    events: { type: 'string' },
    users: { type: 'string' },
    items: { type: 'string' },
    seed: { type: 'string' },
    rate: { type: 'string' },
    fresh: { type: 'boolean' },
  },
  async run({ config, values }) {
    // A world dense enough (100 events per user, 500 items) that the first model beats popularity on
    // its holdout and is promoted; at 10,000 users × 2,000 items × 200,000 events it was not.
    const events = positiveInt(values.events, 300_000, '--events');
    const users = positiveInt(values.users, 3_000, '--users');
    const items = positiveInt(values.items, 500, '--items');
    const seed = positiveInt(values.seed, 1, '--seed');
    const rate = values.rate === undefined ? undefined : positiveInt(values.rate, 0, '--rate');
    const start = await prepareDataDir(config.dataDir, values.fresh === true);
    return withPlatform(config, async (platform) => {
      const { log } = platform;
      const out = process.stdout;
      if (start === 'resume') {
        out.write(
          `recstream demo — resuming the demo in ${config.dataDir} (its world is streamed and trained; --fresh starts over)\n`,
        );
        await serveUntilStopped(platform, out);
        return 0;
      }
      out.write(
        `recstream demo — data dir ${config.dataDir}, ${events.toLocaleString('en-US')} events, users u0…u${users - 1}, items i0…i${items - 1}\n\n`,
      );
      for (const spec of simulationTopics(config.partitions)) await log.ensureTopic(spec);
      const topologies = await selectTopologies(platform, 'all');
      for (const t of topologies) out.write(`${t.describe()}\n\n`);

      // One after another, in application order: an application's sinks (features' training
      // examples) must exist before the application that reads them (snapshots) starts.
      const runners: StreamRunner[] = [];
      for (const topology of topologies) {
        runners.push(
          await StreamRunner.start({
            ...(await runnerOptions(platform, topology)),
            metrics: runtimeMetrics(platform.metrics),
          }),
        );
      }
      const running = runners.map((r) => r.run());
      const interrupted = new AbortController();
      let signalled = false;
      const stop = () => {
        interrupted.abort();
        for (const r of runners) r.stop();
      };
      const onSignal = () => {
        signalled = true;
        stop();
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);

      const progress = new Progress('demo', events);
      const processed = () => runners[0]!.progress().processed;
      // --rate streams on the real clock: the simulated world starts now.
      const written = await writeSimulation(
        { seed, users, items, events, rate, start: rate === undefined ? undefined : Date.now() },
        { log, serde: platform.serde, registry: { dataDir: config.dataDir, url: config.schemaRegistryUrl } },
        {
          partitions: config.partitions,
          realTime: rate !== undefined,
          signal: interrupted.signal,
          onProgress: (p) => progress.update(p.interactions, { processed: processed() }),
        },
      );
      // Each application is done once it has processed every record of its source topics.
      const targets = await Promise.all(
        topologies.map(async (t) => {
          let records = 0;
          for (const topic of t.sourceTopics())
            for (const p of await log.offsets(topic)) records += p.end - p.start;
          return records;
        }),
      );
      while (!interrupted.signal.aborted && runners.some((r, k) => r.progress().processed < targets[k]!)) {
        progress.update(written.interactions, { processed: processed() });
        await sleep(50);
      }
      // Then until each has also read what the others wrote to it since (enriched interactions,
      // training examples): the topics' ends above were taken while they were still being written.
      while (!interrupted.signal.aborted && !(await allDrained(runners))) await sleep(50);
      progress.done({ processed: processed(), items: written.items, users: written.users });
      stop();
      await Promise.all(running);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);

      const counts = topologies.find((t) => t.applicationId === 'interaction-counts')!;
      const partition = partitionForKey('u0', config.partitions);
      const state = await TaskState.open({
        dir: join(platform.stateDir(counts.applicationId), String(partition)),
        engine: config.stateEngine,
        log,
        applicationId: counts.applicationId,
        partition,
        stores: counts.stores.map((s) => ({
          name: s.name,
          codec: s.codec,
          changelogTopic: s.changelogTopic,
        })),
      });
      const u0 = await state.store<InteractionCountsValue>(INTERACTION_COUNTS_STORE).get('u0');
      await state.close();
      out.write(`\nu0's interaction counts: ${JSON.stringify(u0 ?? null)}\n`);
      if (signalled) return 0;
      await demoModel(platform, out);
      out.write(
        `\nwhile it serves, or after: recstream models list --data-dir ${config.dataDir}\n      recstream topics --data-dir ${config.dataDir}\n`,
      );
      await writeFile(
        join(config.dataDir, STREAMED),
        'the demo streamed and trained; the next demo run resumes here\n',
      );
      await serveUntilStopped(platform, out);
      return 0;
    });
  },
};

/** The demo's serving stage, until SIGINT or SIGTERM. */
async function serveUntilStopped(platform: Platform, out: NodeJS.WritableStream): Promise<void> {
  const serving = new AbortController();
  const stopServing = () => serving.abort();
  process.once('SIGINT', stopServing);
  process.once('SIGTERM', stopServing);
  try {
    await demoServe(platform, out, serving.signal);
  } finally {
    process.off('SIGINT', stopServing);
    process.off('SIGTERM', stopServing);
  }
}

/**
 * A fresh or empty dir is used as is. The demo's own earlier dir is resumed
 * once it was streamed and trained (the roles pick up from their committed
 * state), and wiped when that run was cut short or `fresh` is asked for.
 * Anything else is refused.
 */
async function prepareDataDir(dataDir: string, fresh: boolean): Promise<'start' | 'resume'> {
  if (existsSync(dataDir) && (await readdir(dataDir)).length > 0) {
    if (!existsSync(join(dataDir, MARKER))) {
      throw new RangeError(
        `${dataDir} holds data that recstream demo did not create; pass another --data-dir (or set RECSTREAM_DATA_DIR)`,
      );
    }
    if (!fresh && existsSync(join(dataDir, STREAMED))) return 'resume';
    await rm(dataDir, { recursive: true, force: true });
  }
  await mkdir(dataDir, { recursive: true });
  await writeFile(
    join(dataDir, MARKER),
    'created by recstream demo; the next demo run resumes here, or with --fresh wipes this directory\n',
  );
  return 'start';
}

function positiveInt(raw: string | boolean | undefined, fallback: number, name: string): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new RangeError(`${name} must be a positive whole number, got ${raw}`);
  return n;
}

async function allDrained(runners: readonly StreamRunner[]): Promise<boolean> {
  for (const runner of runners) if (!(await runner.drained())) return false;
  return true;
}

function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
}
