/**
 * A live stream for canary tests: the served world (`recstream@1`
 * promoted) with a real responder on loopback, the experiment-metrics
 * application running, and closed-loop users of the world asking the
 * responder for lists and reacting to them by their true preferences.
 * Candidates are trained by the real trainer, whose gate starts their
 * canary (`RECSTREAM_GATE_CANARY_PCT`), and indexed by the real indexer,
 * which builds an index for a version a running experiment names.
 *
 * Event time comes from the closed loop's events (real times), so a short
 * attribution window and canary step pass while users browse.
 *
 * @example
 * ```ts
 * const live = await startLiveCanary(dataDir, {});
 * const version = await live.trainCandidate(BAD_TRAIN_CONFIG);
 * const summary = await live.trafficUntil(async () => (await live.canary(version)).at(-1)?.status === 'concluded', 120_000);
 * await live.close();
 * ```
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { pino } from 'pino';
import { type RunningResponder, startResponder } from '../app/responder.js';
import { openServingStore } from '../app/serving-store.js';
import { onlineReport } from '../evaluation/online/online-report.js';
import { Indexer } from '../indexer/indexer.js';
import { canaryId } from '../registry/experiments/canary.js';
import { FileArtifactStore } from '../registry/model-store.js';
import { readTopic } from '../registry/topic-reader.js';
import { type Config, loadConfig } from '../runtime/config.js';
import { StreamRunner } from '../runtime/engine/runner.js';
import { isRetriable } from '../runtime/errors.js';
import { avroSerializer } from '../runtime/processor/avro-serdes.js';
import { Backoff, sleep } from '../runtime/retry.js';
import type {
  Experiment,
  ExperimentOutcome,
  ModelVersion,
  ServedRecommendations,
} from '../schemas/generated/types.js';
import { openPlatform, type Platform } from '../schemas/platform.js';
import {
  EXPERIMENT_OUTCOMES_TOPIC,
  INTERACTIONS_TOPIC,
  PLATFORM_TOPICS,
  RECOMMENDATIONS_TOPIC,
} from '../schemas/topics.js';
import { type ClosedLoopSummary, runClosedLoop } from '../sim/closed-loop/closed-loop.js';
import { readTruthLog } from '../sim/closed-loop/truth-log.js';
import { World } from '../sim/world.js';
import { experimentMetricsTopology } from '../topologies/experiment-metrics.js';
import { Trainer } from '../trainer/trainer.js';
import { buildServedWorld, SERVED_WORLD_ENV, SERVED_WORLD_TRAIN_CONFIG } from './served-world.js';

/**
 * A short-lived canary: 25 % → 50 % → 100 %, a step of at least 5 s, each decided on at least 600
 * impressions and 8 effective users per variant, 2 s attribution.
 */
export const LIVE_CANARY_ENV = {
  ...SERVED_WORLD_ENV,
  RECSTREAM_HTTP_PORT: '0',
  // The closed loop checks lists, not the slow-store fallback (tested against Redis).
  RECSTREAM_SERVE_STORE_TIMEOUT_MS: '5000',
  // The loop's events carry real times, and a user's view holds every interaction of theirs
  // still waiting for the watermark: with the 5-minute default its heaviest users' views pass
  // 64 KiB within a minute of traffic, a record go-mokapi cannot take (docs/kafka.md).
  RECSTREAM_FEATURE_LATENESS_MS: '5000',
  RECSTREAM_EXPERIMENT_ATTRIBUTION_MS: '2000',
  RECSTREAM_GATE_CANARY_PCT: '25',
  RECSTREAM_CANARY_STEPS: '0.25,0.5,1',
  RECSTREAM_CANARY_MIN_STEP_MS: '5000',
  RECSTREAM_CANARY_MIN_IMPRESSIONS: '600',
  RECSTREAM_CANARY_MIN_USERS: '8',
};

export interface LiveCanary {
  readonly platform: Platform;
  readonly responder: RunningResponder;
  /**
   * Trains a version with `trainConfig`; the gate publishes it `candidate` and starts its canary,
   * with `canary` overriding the configured plan. Returns the version.
   */
  trainCandidate(
    trainConfig: Record<string, unknown>,
    canary?: Partial<
      Pick<Config, 'canaryMinImpressions' | 'canaryMinUsers' | 'canaryMinStepMs' | 'canaryCtrTolerance'>
    >,
  ): Promise<number>;
  /** Builds the candidate's index and waits until the responder has loaded its pair. */
  indexCandidate(version: number): Promise<void>;
  /** Every state of a version's canary in rec.experiments, in order. */
  canary(version: number): Promise<Experiment[]>;
  /** Served lists of each variant by the model that served them, e.g. `candidate recstream@2: 120`, for failure messages. */
  servedBy(): Promise<string>;
  /**
   * The true click-through of each variant's lists in the last traffic run, from its truth log,
   * e.g. `candidate recstream@3 120 lists, true ctr 4.21 %`: tells a weak model from an unlucky draw of users,
   * for failure messages.
   */
  trueClickThrough(): Promise<string>;
  /** Every event of a version in rec.model-versions, in order. */
  versionEvents(version: number): Promise<ModelVersion[]>;
  /**
   * Records of each input of experiment-metrics past the application's positions, e.g.
   * `rec.recommendations 0, rec.interactions 12, rec.experiment-outcomes 480`: a controller that
   * holds while the outcomes topic shows enough is behind it, or not; for failure messages.
   */
  backlog(): Promise<string>;
  /** The platform's last warnings and errors (responder, experiment-metrics, trainer, indexer), one JSON line each, for failure messages. */
  warnings(): string;
  /**
   * What each arm of a version's canary counted in its last step, from rec.experiment-outcomes,
   * e.g. `candidate 120 lists, 720 impressions, 14 clicks, 3 errors, 64 users, 21.4 effective users (the heaviest three: 9 %, 7 %, 5 %)`,
   * for failure messages.
   */
  lastStep(version: number): Promise<string>;
  /**
   * Closed-loop users browse until `done` holds (checked every 250 ms) or `maxMs` passed: 24
   * visits at once, 1,800 times the open-loop pace, about 50 lists a second on two cores.
   */
  trafficUntil(done: () => Promise<boolean>, maxMs: number): Promise<ClosedLoopSummary>;
  close(): Promise<void>;
}

async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Registers the file's `before` and `after` hooks: the served world built in
 * a fresh temporary folder (prefix `prefix`) and a live canary started on
 * it, handed to `started`; closed and removed after the file's tests.
 *
 * @example
 * ```ts
 * let live: LiveCanary;
 * liveCanaryForFile('recstream-canary-e2e-', (started) => { live = started; });
 * ```
 */
export function liveCanaryForFile(prefix: string, started: (live: LiveCanary) => void): void {
  let root: string | undefined;
  let live: LiveCanary | undefined;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), prefix));
    const dataDir = join(root, 'data');
    await buildServedWorld(dataDir);
    live = await startLiveCanary(dataDir, {});
    started(live);
  });
  after(async () => {
    await live?.close();
    if (root !== undefined) await rm(root, { recursive: true, force: true });
  });
}

/** Warnings and errors kept for failure messages: the newest this many lines. */
const KEPT_WARNINGS = 40;

/**
 * Reads every record of a topic again until no read fails retriably: the
 * platform appends while the test reads, and on go-mokapi a fetch racing an
 * append can come back torn (a retriable ConnectionError,
 * runtime/log/kafka/README.md), which the platform's own roles retry too.
 */
async function readWhole<T>(what: string, read: () => Promise<T>): Promise<T> {
  const backoff = new Backoff();
  for (let attempt = 1; ; attempt++) {
    try {
      return await read();
    } catch (error) {
      if (!isRetriable(error) || attempt >= 5) throw new Error(`reading ${what}: ${error}`, { cause: error });
      await sleep(backoff.next());
    }
  }
}

/** Opens the served world in `dataDir` (built by buildServedWorld) and starts the live stream over it. */
export async function startLiveCanary(dataDir: string, env: Record<string, string>): Promise<LiveCanary> {
  const warnings: string[] = [];
  const logger = pino(
    { level: 'warn' },
    {
      write(line: string) {
        warnings.push(line.trimEnd());
        if (warnings.length > KEPT_WARNINGS) warnings.shift();
      },
    },
  );
  const platform = await openPlatform(
    loadConfig({ ...LIVE_CANARY_ENV, ...env, RECSTREAM_DATA_DIR: dataDir }),
    {
      logger,
    },
  );
  const store = new FileArtifactStore(join(dataDir, 'artifacts'));
  // What is open so far, closed in reverse when a later part fails to start: a features
  // application left running would keep the test's process alive.
  const opened: (() => Promise<void>)[] = [() => platform.close()];
  let serving: Awaited<ReturnType<typeof openServingStore>>;
  let responder: RunningResponder;
  let runner: StreamRunner;
  try {
    serving = await openServingStore(platform);
    opened.push(() => serving.close());
    responder = await startResponder(platform, { online: serving.online, service: { pollMs: 20 } });
    opened.push(() => responder.close());
    await responder.started;
    runner = await StreamRunner.start({
      topology: await experimentMetricsTopology(platform.serde, {
        windowMs: platform.config.experimentAttributionMs,
      }),
      log: platform.log,
      stateDir: platform.stateDir('experiment-metrics'),
      engine: 'rocksdb',
      commitIntervalMs: platform.config.commitIntervalMs,
      deadLetters: avroSerializer(await platform.serde.encoder('rec.dlq-value')),
      topics: PLATFORM_TOPICS,
      logger,
    });
  } catch (error) {
    for (const close of opened.reverse()) await close().catch(() => undefined);
    throw error;
  }
  const service = responder.recommendations()!;
  const running = runner.run();
  // A failed application concludes no canary: the traffic stops with its error instead of running out its time.
  let failed: unknown;
  running.catch((error: unknown) => {
    failed = error;
  });
  // The world of buildServedWorld: 400 users, 150 items, seed 9, 4 days.
  const world = new World({ users: 400, items: 150, events: 30_000, days: 4, seed: 9 });
  let loops = 0;

  const decoded = async <T>(topic: string): Promise<T[]> => {
    const decoder = await platform.serde.decoder(`${topic}-value`);
    return readWhole(topic, async () => {
      const out: T[] = [];
      for await (const record of readTopic(platform.log, topic))
        if (record.value !== null) out.push((await decoder.decode(record.value)) as T);
      return out;
    });
  };

  return {
    platform,
    responder,
    async trainCandidate(trainConfig, canary = {}) {
      const trainer = new Trainer({
        platform: { ...platform, config: { ...platform.config, ...canary, trainConfig } },
        store,
      });
      const outcome = await trainer.trainOnce({ force: true });
      if (outcome.kind !== 'published') throw new Error(`training published nothing: ${outcome.kind}`);
      return outcome.version.version;
    },
    async indexCandidate(version) {
      const built = await new Indexer({ platform, store }).indexOnce();
      if (built.kind !== 'full') throw new Error(`the indexer built no full index: ${built.kind}`);
      const label = `${platform.config.modelName}@${version}`;
      await waitFor(`${label} loaded`, () => service.bundles.status().variants?.[label] === 'loaded', 60_000);
    },
    async canary(version) {
      const id = canaryId(platform.config.modelName, version);
      return (await decoded<Experiment>('rec.experiments')).filter((e) => e.id === id);
    },
    async servedBy() {
      const counts = new Map<string, number>();
      for (const list of await decoded<ServedRecommendations>('rec.recommendations')) {
        const key = `${list.variant} ${list.model_version ?? list.fallback}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      return [...counts].map(([key, n]) => `${key}: ${n}`).join(', ');
    },
    async trueClickThrough() {
      const truth = await readTruthLog(join(dataDir, `truth-${loops - 1}.jsonl`));
      const report = await onlineReport(platform.log, platform.serde, { from: 0, to: Date.now(), truth });
      return report.rows
        .filter((row) => row.truth_requests > 0)
        .map(
          (row) =>
            `${row.variant ?? 'no experiment'} ${row.model_version ?? 'no model'} ${row.truth_requests} lists, ` +
            `true ctr ${(100 * row.true_ctr!).toFixed(2)} %`,
        )
        .join('; ');
    },
    async backlog() {
      const read = new Map(runner.positions().map((p) => [`${p.topic}/${p.partition}`, p.offset]));
      const behind = async (topic: string) => {
        let records = 0;
        for (const p of await platform.log.offsets(topic))
          records += p.end - Math.max(p.start, read.get(`${topic}/${p.partition}`) ?? p.start);
        return `${topic} ${records}`;
      };
      return (
        await Promise.all([RECOMMENDATIONS_TOPIC, INTERACTIONS_TOPIC, EXPERIMENT_OUTCOMES_TOPIC].map(behind))
      ).join(', ');
    },
    warnings() {
      return warnings.length === 0 ? 'none' : warnings.join('\n');
    },
    async versionEvents(version) {
      return (await decoded<ModelVersion>('rec.model-versions')).filter(
        (v) => v.model === platform.config.modelName && v.version === version,
      );
    },
    async lastStep(version) {
      const id = canaryId(platform.config.modelName, version);
      const states = (await decoded<Experiment>('rec.experiments')).filter((e) => e.id === id);
      const from = states.at(-1)?.canary?.step_started_ts ?? 0;
      const arms = new Map<
        string,
        { lists: number; impressions: number; clicks: number; errors: number; users: Map<string, number> }
      >();
      for (const o of await decoded<ExperimentOutcome>('rec.experiment-outcomes')) {
        if (o.experiment_id !== id || o.shadow || o.ts < from) continue;
        const arm = arms.get(o.variant) ?? {
          lists: 0,
          impressions: 0,
          clicks: 0,
          errors: 0,
          users: new Map(),
        };
        arm.lists += 1;
        arm.impressions += o.impressions;
        arm.clicks += o.clicks;
        arm.errors += o.errors;
        arm.users.set(o.user_id, (arm.users.get(o.user_id) ?? 0) + o.impressions);
        arms.set(o.variant, arm);
      }
      return [...arms]
        .map(([variant, a]) => {
          let squares = 0;
          for (const n of a.users.values()) squares += n * n;
          const effective = squares > 0 ? (a.impressions * a.impressions) / squares : 0;
          const heaviest = [...a.users.values()]
            .sort((x, y) => y - x)
            .slice(0, 3)
            .map((n) => `${((100 * n) / a.impressions).toFixed(0)} %`);
          return `${variant} ${a.lists} lists, ${a.impressions} impressions, ${a.clicks} clicks, ${a.errors} errors, ${a.users.size} users, ${effective.toFixed(1)} effective users (the heaviest three: ${heaviest.join(', ')})`;
        })
        .join('; ');
    },
    async trafficUntil(done, maxMs) {
      const stop = new AbortController();
      const loop = runClosedLoop({
        world,
        responder: responder.url,
        durationMs: maxMs,
        rate: 100,
        visits: 24,
        speed: 1800,
        truthPath: join(dataDir, `truth-${loops++}.jsonl`),
        signal: stop.signal,
      });
      let finished = false;
      const ended = loop.then(
        () => {
          finished = true;
        },
        () => {
          finished = true;
        },
      );
      try {
        while (!finished && failed === undefined && !(await done()))
          await new Promise((resolve) => setTimeout(resolve, 250));
      } finally {
        // The users stop before anything else can: a check that throws (a read of a dead
        // Kafka-protocol server) must not leave them posting to a responder the caller then closes.
        stop.abort();
        await ended;
      }
      const summary = await loop;
      await service.served.flush();
      if (failed !== undefined) throw new Error(`the experiment-metrics application failed: ${failed}`);
      return summary;
    },
    async close() {
      runner.stop();
      // A failed application still lets everything else close; its error is thrown last.
      const failure = await running.then(
        () => undefined,
        (error: unknown) => error ?? new Error('the experiment-metrics application failed'),
      );
      await responder.close();
      await serving.close();
      await platform.close();
      if (failure !== undefined) throw failure;
    },
  };
}

/** Learns next to nothing (dimension 2, one epoch, a learning rate of 1e-7): its lists are close to random. */
export const BAD_TRAIN_CONFIG = {
  ...SERVED_WORLD_TRAIN_CONFIG,
  epochs: 1,
  dim: 2,
  lr: 1e-7,
  ranker_lr: 1e-7,
};

/**
 * Candidate impressions the bad canary's first step needs before it could
 * grow: enough that the always-valid test has seen the candidate's
 * click-through fall below the control's by then. Its variance is taken
 * over users, and a few heavy users make most of an arm's lists, so the
 * test needs far more impressions than a binomial one would. Resampling
 * the users of two live runs (true click-through 1.2 and 2.0 % against
 * 4.0 and 4.1 %, 44 and 72 users in the candidate's arm), the test rolled
 * back by 1,500 candidate impressions in 92 and 99 % of 300 draws, by
 * 3,000 in 99.7 and 100 %, by 4,000 in all. Those two runs were not the
 * worst draw: in a later one the step reached 5,000 without a rejection
 * and grew, its arms at 2.09 % against 3.65 % when the candidate was
 * promoted. Twice 5,000 leaves room for such an arm, at about 40 s more
 * traffic on two cores.
 */
export const BAD_CANARY_MIN_IMPRESSIONS = 10_000;

/**
 * Effective users the bad canary's first step needs per arm: fewer than
 * the live canary's 8, because its arm cannot always reach 8. The canary's
 * salt is fresh each time, and when it puts the world's heaviest user in
 * the candidate's quarter, that one user makes 30–37 % of the arm's
 * impressions for as long as the step lasts, which caps the arm's Kish
 * count near 1 / 0.34² ≈ 8.6: measured on Kafka, it stayed between 6.6
 * and 9.0 from 5,970 to 10,644 candidate impressions, and the rollback
 * (p = 4.6e-7) waited 100 s for it; with a worse draw the traffic ran out
 * first. Two such users in the arm (one salt in sixteen) would hold it
 * near 6. At 4 the step still waits for more than a handful of users,
 * and the rollback is decided on the always-valid test alone.
 */
export const BAD_CANARY_MIN_USERS = 4;

/**
 * Trains the bad candidate (the gate starts its canary), indexes it and
 * lets closed-loop users browse until its canary concludes, then checks
 * that it was rolled back at its first step, the version rejected, and
 * every request answered. Returns what it saw, for the log.
 */
export async function rollOutBadCandidate(live: LiveCanary, version: number): Promise<string> {
  assert.equal(
    await live.trainCandidate(BAD_TRAIN_CONFIG, {
      canaryMinImpressions: BAD_CANARY_MIN_IMPRESSIONS,
      canaryMinUsers: BAD_CANARY_MIN_USERS,
    }),
    version,
  );
  const [plan] = await live.canary(version);
  assert.equal(plan?.canary?.min_impressions, BAD_CANARY_MIN_IMPRESSIONS);
  assert.equal(plan?.canary?.min_users, BAD_CANARY_MIN_USERS);
  const [candidate] = await live.versionEvents(version);
  assert.equal(candidate?.status, 'candidate', 'the gate publishes it candidate when a canary share is set');
  await live.indexCandidate(version);
  const started = Date.now();
  const summary = await live.trafficUntil(
    async () => (await live.canary(version)).some((e) => e.status !== 'running'),
    240_000,
  );
  const states = await live.canary(version);
  const seen = `${summary.served} lists, ${summary.impressions} impressions, ${summary.clicks} clicks in ${Date.now() - started} ms; ${states.map((e) => e.reason).join(' | ')}; served: ${await live.servedBy()}`;
  const counted = async () =>
    `${seen}; counted in the last step: ${await live.lastStep(version)}; not yet read by experiment-metrics: ${await live.backlog().catch((error: unknown) => `unknown (${error})`)}; the platform's last warnings:\n${live.warnings()}`;
  assert.equal(summary.failed, 0, 'every request of the closed loop answered');
  assert.ok(summary.served > 0);
  const path = states.map((e) => [e.status, e.canary?.step]);
  const rolledBackAtOnce = [
    ['running', 0],
    ['concluded', 0],
  ];
  if (!isDeepStrictEqual(path, rolledBackAtOnce))
    assert.deepEqual(path, rolledBackAtOnce, `concluded before any step ≥ 1: ${await counted()}`);
  const rolledBack = states[1]!;
  assert.match(
    rolledBack.reason!,
    /^canary rolled back at step 1 of 3 \(25\.00 %\): guardrail ctr: candidate /,
  );
  const events = await live.versionEvents(version);
  assert.deepEqual(
    events.map((v) => v.status),
    ['candidate', 'rejected'],
  );
  assert.equal(events[1]!.reason, `${rolledBack.id}: ${rolledBack.reason}`);
  return seen;
}
