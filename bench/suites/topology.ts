/**
 * `topology` suite: simulated events (items, users, interactions) through
 * every feature processor — catalog, profiles, user-features, item-features
 * (the `features` application) then the snapshotter (the `snapshots`
 * application) — on the embedded log with RocksDB stores, commits
 * included. `events_per_s` is source events over the time both take.
 * Reference, measured in the same run over the same interactions: the
 * `interaction-counts` application, one get + put per event. Also
 * `moving_floor_events_per_s`: source events over the time it takes merely
 * to read, decode, encode and append the records the two applications move
 * (`topology-floor.ts`), the ceiling for any processor code on one thread.
 * And `experiment_metrics_events_per_s`: served lists of a two-variant
 * experiment and the interactions carrying their request ids (seeded
 * experiment traffic) through the `experiment-metrics` application, both
 * halves and the canary controller's check included, over the time it takes.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfig } from '../../runtime/config.js';
import { StreamRunner } from '../../runtime/engine/runner.js';
import { EmbeddedLog } from '../../runtime/log/embedded/embedded-log.js';
import type { EventLog, OutgoingRecord } from '../../runtime/log/log.js';
import { silentLogger } from '../../runtime/observability/logger.js';
import { avroSerializer } from '../../runtime/processor/avro-serdes.js';
import type { Topology } from '../../runtime/processor/topology.js';
import { openEmbeddedRegistry } from '../../runtime/registry/embedded/embedded-registry.js';
import type { Serde } from '../../runtime/serde/serde.js';
import { platformSerde } from '../../schemas/platform.js';
import { PLATFORM_TOPICS } from '../../schemas/topics.js';
import { experimentTraffic } from '../../sim/experiment-traffic.js';
import { Simulator } from '../../sim/simulator.js';
import { experimentMetricsOptions, experimentMetricsTopology } from '../../topologies/experiment-metrics.js';
import { featuresOptions, featuresTopology } from '../../topologies/features.js';
import { interactionCountsTopology } from '../../topologies/interaction-counts.js';
import { snapshotsTopology, snapshotterOptions } from '../../topologies/snapshots.js';
import { cpuProfiled } from '../cpu-profile.js';
import { median, metric, type Suite } from '../result.js';
import { type MovingFloor, movingFloor } from './topology-floor.js';

const SIZES = {
  small: { events: 100_000, users: 10_000, items: 2_000, days: 7, runs: 3, servedLists: 10_000 },
  full: { events: 1_000_000, users: 100_000, items: 100_000, days: 28, runs: 3, servedLists: 100_000 },
};
const PARTITIONS = 4;
const COMMIT_INTERVAL_MS = 100;

export const topologySuite: Suite = async ({ scale, workDir, progress, cpuProfileDir }) => {
  // A profiled run is shown, not recorded: one run is enough.
  const size = cpuProfileDir === undefined ? SIZES[scale] : { ...SIZES[scale], runs: 1 };
  const dataDir = join(workDir, 'topology');
  await mkdir(dataDir, { recursive: true });
  const registry = await openEmbeddedRegistry({ dataDir });
  const serde = platformSerde(registry);
  const config = loadConfig({});
  try {
    const deadLetters = avroSerializer(await serde.encoder('rec.dlq-value'));
    const pipeline: number[] = [];
    const features: number[] = [];
    const snapshotter: number[] = [];
    const reference: number[] = [];
    const floors: MovingFloor[] = [];
    const experiments: number[] = [];
    let experimentEvents = 0;
    let written = { events: 0, interactions: 0 };
    let examples = 0;
    for (let run = 0; run < size.runs; run++) {
      const runDir = join(dataDir, `run-${run}`);
      const log = await EmbeddedLog.open(join(runDir, 'log'), { fsync: 'never', maintenanceIntervalMs: 0 });
      const runApp = async (topology: Topology, state: string) => {
        const profiled = cpuProfileDir !== undefined;
        const runner = await StreamRunner.start({
          topology,
          log,
          stateDir: join(runDir, state),
          engine: 'rocksdb',
          commitIntervalMs: COMMIT_INTERVAL_MS,
          deadLetters,
          topics: PLATFORM_TOPICS,
          logger: silentLogger(),
        });
        const started = process.hrtime.bigint();
        const stats = profiled
          ? await cpuProfiled(join(cpuProfileDir, topology.applicationId), () => runner.runUntilCaughtUp())
          : await runner.runUntilCaughtUp();
        return { processed: stats.processed, seconds: seconds(started) };
      };
      try {
        progress(
          `run ${run + 1}/${size.runs}: writing ${size.events.toLocaleString()} simulated interactions`,
        );
        written = await writeWorld(log, serde, size);

        progress(`run ${run + 1}/${size.runs}: reference, interaction-counts`);
        const counts = await runApp(await interactionCountsTopology(serde), 'state-counts');
        reference.push(written.interactions / counts.seconds);

        progress(`run ${run + 1}/${size.runs}: features (catalog, profiles, user-features, item-features)`);
        const f = await runApp(await featuresTopology(serde, featuresOptions(config)), 'state-features');
        progress(`run ${run + 1}/${size.runs}: snapshotter`);
        const s = await runApp(await snapshotsTopology(serde, snapshotterOptions(config)), 'state-snapshots');
        examples = (await log.offsets('rec.training-examples')).reduce((n, p) => n + p.end - p.start, 0);
        pipeline.push(written.events / (f.seconds + s.seconds));
        features.push(written.events / f.seconds);
        snapshotter.push(examples / s.seconds);
        progress(`run ${run + 1}/${size.runs}: moving floor (read, decode, encode, append only)`);
        floors.push(await movingFloor(log, serde, config, 'bench.floor'));
        progress(`run ${run + 1}/${size.runs}: experiment-metrics over ${size.servedLists} served lists`);
        experimentEvents = await writeExperimentTraffic(log, serde, size.servedLists);
        const topology = await experimentMetricsTopology(serde, experimentMetricsOptions(config));
        experiments.push(experimentEvents / (await runApp(topology, 'state-experiments')).seconds);
      } finally {
        await log.close();
        await rm(runDir, { recursive: true, force: true });
      }
    }
    const runConfig = {
      events: written.events,
      interactions: written.interactions,
      training_examples: examples,
      users: size.users,
      items: size.items,
      partitions: PARTITIONS,
      runs: size.runs,
      commit_interval_ms: COMMIT_INTERVAL_MS,
      engine: 'rocksdb',
      log: 'embedded',
      snapshot_every_examples: config.snapshotEveryExamples,
    };
    const ref = { name: 'interaction_counts_events_per_s', value: median(reference) };
    return [
      metric('topology', 'events_per_s', median(pipeline), 'events/s', true, runConfig, ref),
      metric('topology', 'features_events_per_s', median(features), 'events/s', true, runConfig, ref),
      metric('topology', 'snapshotter_examples_per_s', median(snapshotter), 'examples/s', true, runConfig),
      metric('topology', 'experiment_metrics_events_per_s', median(experiments), 'events/s', true, {
        events: experimentEvents,
        served_lists: size.servedLists,
        variants: 2,
        partitions: PARTITIONS,
        runs: size.runs,
        commit_interval_ms: COMMIT_INTERVAL_MS,
        attribution_ms: config.experimentAttributionMs,
        engine: 'rocksdb',
        log: 'embedded',
      }),
      metric(
        'topology',
        'moving_floor_events_per_s',
        median(floors.map((f) => written.events / f.seconds)),
        'events/s',
        true,
        { ...runConfig, steps_seconds: medianSteps(floors) },
      ),
    ];
  } finally {
    await registry.close();
  }
};

/** The simulator's items, users and interactions, each topic partitioned by its key. */
export async function writeWorld(
  log: EventLog,
  serde: Serde,
  size: { events: number; users: number; items: number; days: number },
): Promise<{ events: number; interactions: number }> {
  const topics = ['rec.items', 'rec.users', 'rec.interactions'] as const;
  for (const name of topics) await log.ensureTopic({ name, partitions: PARTITIONS });
  const encoders = {
    'rec.items': await serde.encoder('rec.items-value'),
    'rec.users': await serde.encoder('rec.users-value'),
    'rec.interactions': await serde.encoder('rec.interactions-value'),
  };
  const batches = new Map<string, OutgoingRecord[]>(topics.map((t) => [t, []]));
  // Flushed together, so the topics advance in step as producers would write them.
  const flush = async () => {
    for (const [topic, batch] of batches) if (batch.length) await log.append(topic, batch);
    for (const topic of topics) batches.set(topic, []);
  };
  let events = 0;
  let interactions = 0;
  const sim = new Simulator({
    seed: 1,
    users: size.users,
    items: size.items,
    events: size.events,
    days: size.days,
  });
  for (const r of sim.records()) {
    batches
      .get(r.topic)!
      .push({ key: r.key, value: encoders[r.topic].encode(r.value as never), timestamp: r.ts });
    events++;
    if (r.topic === 'rec.interactions') interactions++;
    if (events % 5000 === 0) await flush();
  }
  await flush();
  return { events, interactions };
}

/** Seeded served lists of a two-variant experiment and their interactions; returns how many records. */
async function writeExperimentTraffic(log: EventLog, serde: Serde, lists: number): Promise<number> {
  const traffic = experimentTraffic({
    seed: 1,
    experimentId: 'bench-ab',
    requests: lists,
    rates: { candidate: 0.07, control: 0.05 },
    start: Date.UTC(2026, 0, 5),
    spacingMs: 200,
  });
  const served = await serde.encoder('rec.recommendations-value');
  const interactions = await serde.encoder('rec.interactions-value');
  for (const name of ['rec.recommendations', 'rec.interactions'])
    await log.ensureTopic({ name, partitions: PARTITIONS });
  const batch = <T>(
    values: readonly T[],
    encode: (v: T) => Buffer,
    key: (v: T) => string,
    ts: (v: T) => number,
  ) => values.map((v) => ({ key: key(v), value: encode(v), timestamp: ts(v) }));
  await log.append(
    'rec.recommendations',
    batch(
      traffic.lists,
      (v) => served.encode(v),
      (v) => v.user_id,
      (v) => v.served_ts,
    ),
  );
  await log.append(
    'rec.interactions',
    batch(
      traffic.events,
      (v) => interactions.encode(v),
      (v) => v.user_id,
      (v) => v.ts,
    ),
  );
  return traffic.lists.length + traffic.events.length;
}

/** Each step's median over the runs. */
function medianSteps(floors: readonly MovingFloor[]): Record<string, number> {
  const steps = Object.keys(floors[0]?.steps ?? {});
  return Object.fromEntries(
    steps.map((step) => [step, Number(median(floors.map((f) => f.steps[step]!)).toFixed(4))]),
  );
}

function seconds(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e9;
}
