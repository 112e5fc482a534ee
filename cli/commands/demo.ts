import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { activeRunnerOptions, runnerOptions, selectTopologies, withPlatform } from '../../app/platform.js';
import {
  INTERACTION_COUNTS_STORE,
  type InteractionCountsValue,
} from '../../processors/interaction-counts/interaction-counts.js';
import { Authenticator } from '../../responders/auth/authenticator.js';
import { dataEndpointAccess } from '../../responders/auth/exposure.js';
import { type Config, loadConfig } from '../../runtime/config.js';
import { readCommittedStore } from '../../runtime/engine/operations.js';
import { StreamRunner } from '../../runtime/engine/runner.js';
import { ConfigError } from '../../runtime/errors.js';
import type { EventLog } from '../../runtime/log/log.js';
import { partitionForKey } from '../../runtime/log/partitioner.js';
import { runtimeMetrics } from '../../runtime/observability/metrics.js';
import type { Platform } from '../../runtime/platform.js';
import type { Topology } from '../../runtime/processor/topology.js';
import { INTERACTIONS_TOPIC } from '../../schemas/topics.js';
import { simulationTopics, type WriteSummary, writeSimulation } from '../../sim/log-writer.js';
import { SIMULATION_DEFAULTS } from '../../sim/options.js';
import { Simulator } from '../../sim/simulator.js';
import type { Command } from '../command.js';
import { demoModel } from '../demo-model.js';
import { processedOfHistory } from '../demo-progress.js';
import { demoServe } from '../demo-serve.js';
import { wholeNumberOption } from '../option-values.js';
import { Progress } from '../progress.js';

/** Marks a data dir as the demo's own, so a second `recstream demo` may resume or wipe it and nothing else. */
const MARKER = '.recstream-demo';
/** Written once the demo's world is streamed and its first training round ran: a later run resumes. */
const STREAMED = '.recstream-demo-streamed';
/** The world's options, so a later run resumes the same world's live stream. */
const WORLD = 'demo-world.json';

/**
 * Mean live events per second: about what the default world's 3,000 users
 * make when as many of them are in a visit as the day's rhythm has online
 * (one visit at a time each; a higher rate is not reached), a load two cores
 * hardly notice.
 */
const LIVE_RATE = 20;

/**
 * The demo's settings where the environment names none: features released
 * 30 s behind the newest event, labels decided within 2 minutes and
 * watermarks every 10 s of event time, so that a live impression becomes
 * a training example within about three minutes; snapshots of 500 examples,
 * so the live stream closes one every few minutes on each partition; and a
 * retrain at most every 2 minutes, once 1,000 new examples are in.
 */
export const DEMO_SETTINGS: Readonly<Record<string, string>> = {
  RECSTREAM_FEATURE_LATENESS_MS: String(30_000),
  RECSTREAM_LABEL_WINDOW_MS: String(2 * 60_000),
  RECSTREAM_WATERMARK_INTERVAL_MS: String(10_000),
  RECSTREAM_SNAPSHOT_EVERY_EXAMPLES: '500',
  RECSTREAM_TRAIN_MIN_NEW_EXAMPLES: '1000',
  RECSTREAM_TRAIN_MIN_INTERVAL_MS: String(2 * 60_000),
};

interface DemoWorld {
  readonly seed: number;
  readonly users: number;
  readonly items: number;
  readonly events: number;
  /** Where the world's span starts: a span before the demo first started. */
  readonly start: number;
  /** Added to every event time, so that the history's last event falls when the demo first started. */
  readonly shift: number;
}

export const demoCommand: Command = {
  name: 'demo',
  summary:
    'the main job on the embedded default: simulates a seeded world, streams its history through every processor, trains and indexes a first model, then streams the same world live on the real clock while the processors go on, the trainer retrains on new snapshots and the responder serves on RECSTREAM_HTTP_HOST:PORT (Ctrl-C stops; a second run resumes)',
  usage:
    'recstream demo [--events N] [--users N] [--items N] [--seed N] [--rate LIVE_EVENTS_PER_S] [--fresh]',
  options: {
    events: { type: 'string' },
    users: { type: 'string' },
    items: { type: 'string' },
    seed: { type: 'string' },
    rate: { type: 'string' },
    fresh: { type: 'boolean' },
  },
  async run({ config: given, values }) {
    const rate = wholeNumberOption(values.rate, '--rate', LIVE_RATE);
    // A world dense enough (100 events per user, 500 items) that the first model beats popularity on
    // its holdout and is promoted; at 10,000 users × 2,000 items × 200,000 events it was not.
    const counts = {
      events: wholeNumberOption(values.events, '--events', 300_000),
      users: wholeNumberOption(values.users, '--users', 3_000),
      items: wholeNumberOption(values.items, '--items', 500),
      seed: wholeNumberOption(values.seed, '--seed', 1),
    };
    const config = demoConfig(given);
    // Before minutes of history and training: a responder that would refuse to listen says so now.
    dataEndpointAccess(config, await Authenticator.fromConfig(config));
    const start = await prepareDataDir(given.dataDir, values.fresh === true);
    if (start === 'resume') {
      const world = JSON.parse(await readFile(join(config.dataDir, WORLD), 'utf8')) as DemoWorld;
      return withPlatform(config, async (platform) => {
        const resumeAfter = await interactionsIn(platform);
        process.stdout.write(
          `recstream demo — resuming the demo in ${config.dataDir}: its world goes on live after ${resumeAfter.toLocaleString('en-US')} events (--fresh starts over)\n`,
        );
        const live = streamLive(platform, world, rate, resumeAfter);
        await serveUntilStopped(platform, process.stdout, live, world);
        return 0;
      });
    }
    const now = Date.now();
    const options = {
      ...counts,
      start: now - SIMULATION_DEFAULTS.days * DAY_MS,
    };
    // The history ends now, where the live phase takes over on the real clock.
    const world: DemoWorld = { ...options, shift: now - new Simulator(options).historyEnd() };
    await writeFile(join(config.dataDir, WORLD), `${JSON.stringify(world)}\n`);
    return withPlatform(config, async (platform) => {
      const out = process.stdout;
      out.write(
        `recstream demo — data dir ${config.dataDir}, ${world.events.toLocaleString('en-US')} events of history then ${rate} a second live, users u0…u${world.users - 1}, items i0…i${world.items - 1}\n\n`,
      );
      const live = streamLive(platform, world, rate, 0);
      try {
        const trained = await historyAndFirstModel(platform, world, live, out);
        if (!trained) {
          live.stop();
          await live.finished;
          return 0;
        }
      } catch (error) {
        live.stop();
        await live.finished.catch(() => undefined);
        throw error;
      }
      out.write(
        `\nwhile it serves, or after: recstream models list --data-dir ${config.dataDir}\n      recstream topics --data-dir ${config.dataDir}\n`,
      );
      await writeFile(
        join(config.dataDir, STREAMED),
        'the demo streamed and trained; the next demo run resumes here\n',
      );
      await serveUntilStopped(platform, out, live, world);
      return 0;
    });
  },
};

const DAY_MS = 86_400_000;

/** The demo's settings under the environment's: a variable set there wins. */
function demoConfig(given: Config): Config {
  return loadConfig({ ...DEMO_SETTINGS, ...process.env }, { dataDir: given.dataDir });
}

/** The world's interaction stream, written in the background: its history at once, then live. */
interface LiveStream {
  /** Interactions this run appended so far. */
  appended(): number;
  /** Resolves once the history is in the log (at once when resuming). */
  readonly historyWritten: Promise<void>;
  stop(): void;
  readonly finished: Promise<WriteSummary>;
}

function streamLive(platform: Platform, world: DemoWorld, rate: number, resumeAfter: number): LiveStream {
  const controller = new AbortController();
  let appended = 0;
  let historyDone: () => void = () => undefined;
  let historyFailed: (error: unknown) => void = () => undefined;
  const historyWritten = new Promise<void>((resolve, reject) => {
    historyDone = resolve;
    historyFailed = reject;
  });
  // Heard through `finished` too: a run stopped before the history's end must not crash on it.
  historyWritten.catch(() => undefined);
  if (resumeAfter >= world.events) historyDone();
  const { shift, ...options } = world;
  const finished = writeSimulation(
    { ...options, liveRate: rate },
    {
      log: platform.log,
      serde: platform.serde,
      registry: { dataDir: platform.config.dataDir, url: platform.config.schemaRegistryUrl },
    },
    {
      partitions: platform.config.partitions,
      resumeAfter,
      shift,
      signal: controller.signal,
      onProgress: (p) => {
        appended = p.interactions;
        if (resumeAfter + appended >= world.events) historyDone();
      },
    },
  );
  finished.then(historyDone, historyFailed);
  return { appended: () => appended, historyWritten, stop: () => controller.abort(), finished };
}

/**
 * The history through every processor application, u0's counts from their
 * state, then the first model. False when Ctrl-C came first.
 */
async function historyAndFirstModel(
  platform: Platform,
  world: DemoWorld,
  live: LiveStream,
  out: NodeJS.WritableStream,
): Promise<boolean> {
  const { log, config } = platform;
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
  const unlisten = onStopSignal(() => {
    interrupted.abort();
    live.stop();
  });
  try {
    const processed = () => processedOfHistory(log, runners, topologies, world.events);
    const progress = new Progress('demo', world.events).resumedAt(await processed());
    let caughtUp = false;
    const ticker = setInterval(async () => {
      const done = await processed().catch(() => undefined);
      if (done !== undefined && !caughtUp)
        progress.update(done, { appended: Math.min(live.appended(), world.events) });
    }, 200);
    try {
      await Promise.race([live.historyWritten, aborted(interrupted.signal)]);
      // Each application has then committed past what its sources held (the live events keep
      // coming, so "drained" may never hold); one round per application in the chain, as each
      // reads what the one before wrote to it (enriched interactions, training examples).
      for (let round = 0; round < runners.length && !interrupted.signal.aborted; round++) {
        const targets = await Promise.all(topologies.map((t) => sourceEnds(log, t)));
        while (!interrupted.signal.aborted && !runners.every((r, k) => committedPast(r, targets[k]!)))
          await sleep(100);
      }
      caughtUp = true;
      if (!interrupted.signal.aborted) progress.update(world.events);
      progress.done({ items: world.items, users: world.users });
    } finally {
      clearInterval(ticker);
      for (const r of runners) r.stop();
      await Promise.all(running);
    }
    const u0 = await interactionCountsOf(platform, 'u0');
    out.write(`\nu0's interaction counts: ${JSON.stringify(u0 ?? null)}\n`);
    if (interrupted.signal.aborted) return false;
    // The live stream goes on while the first model trains; the processors catch up when serving starts.
    await demoModel(platform, out, interrupted.signal).catch((error: unknown) => {
      if (!interrupted.signal.aborted) throw error;
    });
    return !interrupted.signal.aborted;
  } finally {
    unlisten();
  }
}

/** u0's (or another user's) interaction counts from the committed state of `interaction-counts`. */
async function interactionCountsOf(
  platform: Platform,
  user: string,
): Promise<InteractionCountsValue | undefined> {
  const counts = (await selectTopologies(platform, 'all')).find(
    (t) => t.applicationId === 'interaction-counts',
  )!;
  const partition = partitionForKey(user, platform.config.partitions);
  const [value] = await readCommittedStore<InteractionCountsValue>(
    await activeRunnerOptions(platform, counts),
    partition,
    INTERACTION_COUNTS_STORE,
    [user],
  );
  return value;
}

/**
 * The demo's serving stage, until SIGINT or SIGTERM: every role running while
 * the live stream goes on; then the stream stops after its batch and every
 * role commits and closes.
 */
async function serveUntilStopped(
  platform: Platform,
  out: NodeJS.WritableStream,
  live: LiveStream,
  world: DemoWorld,
): Promise<void> {
  const serving = new AbortController();
  const unlisten = onStopSignal(() => {
    live.stop();
    serving.abort();
  });
  try {
    const failed = live.finished.then(
      () => undefined,
      (error: unknown) => {
        serving.abort();
        throw error;
      },
    );
    // Rethrown below, once every role has closed.
    failed.catch(() => undefined);
    const { shift, ...options } = world;
    await demoServe(platform, out, serving.signal, live.appended, options);
    live.stop();
    await failed;
  } finally {
    unlisten();
  }
}

/** Calls `stop` on the first SIGINT or SIGTERM; returns what stops listening. */
function onStopSignal(stop: () => void): () => void {
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return () => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  };
}

/** The ends of a runner's source partitions now. */
async function sourceEnds(log: EventLog, topology: Topology): Promise<Map<string, number>> {
  const ends = new Map<string, number>();
  for (const topic of topology.sourceTopics())
    for (const p of await log.offsets(topic)) ends.set(`${topic}/${p.partition}`, p.end);
  return ends;
}

/** Whether the runner's last commit is at or past each of `ends`. */
function committedPast(runner: StreamRunner, ends: ReadonlyMap<string, number>): boolean {
  const committed = new Map(runner.committedPositions().map((p) => [`${p.topic}/${p.partition}`, p.offset]));
  for (const [key, end] of ends) if (end > 0 && (committed.get(key) ?? 0) < end) return false;
  return true;
}

/** Interactions the data dir's log holds. */
async function interactionsIn(platform: Platform): Promise<number> {
  return (await platform.log.offsets(INTERACTIONS_TOPIC)).reduce((n, p) => n + (p.end - p.start), 0);
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
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
      throw new ConfigError(
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

function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
}
