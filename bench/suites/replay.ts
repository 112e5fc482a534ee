/**
 * `replay` suite: `recstream replay --processor all --from earliest` run
 * alone over simulated events (items, users, interactions) on the embedded
 * log with RocksDB: every application (interaction-counts, features,
 * snapshots) is reset — its stores wiped through tombstones in their
 * changelogs — and rebuilt to the end of its inputs. `seconds` covers
 * opening the tasks, the resets and the rebuilds; `events_per_s` is source
 * events over those seconds. Reference, measured in the same run over the
 * same log: the first build of the same stores from empty (no reset).
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfig } from '../../runtime/config.js';
import { replayAlone } from '../../runtime/engine/operations.js';
import type { RunnerOptions } from '../../runtime/engine/runner.js';
import { EmbeddedLog } from '../../runtime/log/embedded/embedded-log.js';
import { silentLogger } from '../../runtime/observability/logger.js';
import { avroSerializer } from '../../runtime/processor/avro-serdes.js';
import { openEmbeddedRegistry } from '../../runtime/registry/embedded/embedded-registry.js';
import { platformSerde } from '../../schemas/platform.js';
import { PLATFORM_TOPICS } from '../../schemas/topics.js';
import { featuresOptions, featuresTopology } from '../../topologies/features.js';
import { interactionCountsTopology } from '../../topologies/interaction-counts.js';
import { snapshotsTopology, snapshotterOptions } from '../../topologies/snapshots.js';
import { median, metric, type Suite } from '../result.js';
import { writeWorld } from './topology.js';

const SIZES = {
  small: { events: 100_000, users: 10_000, items: 2_000, days: 7, runs: 3 },
  full: { events: 1_000_000, users: 100_000, items: 100_000, days: 28, runs: 3 },
};
const COMMIT_INTERVAL_MS = 100;

export const replaySuite: Suite = async ({ scale, workDir, progress }) => {
  const size = SIZES[scale];
  const dataDir = join(workDir, 'replay');
  await rm(dataDir, { recursive: true, force: true });
  await mkdir(dataDir, { recursive: true });
  const registry = await openEmbeddedRegistry({ dataDir });
  const serde = platformSerde(registry);
  const config = loadConfig({});
  const log = await EmbeddedLog.open(join(dataDir, 'log'), { fsync: 'never', maintenanceIntervalMs: 0 });
  try {
    const deadLetters = avroSerializer(await serde.encoder('rec.dlq-value'));
    const applications = async (): Promise<RunnerOptions[]> =>
      [
        await interactionCountsTopology(serde),
        await featuresTopology(serde, featuresOptions(config)),
        await snapshotsTopology(serde, snapshotterOptions(config)),
      ].map((topology) => ({
        topology,
        log,
        stateDir: join(dataDir, 'state', topology.applicationId),
        engine: 'rocksdb',
        commitIntervalMs: COMMIT_INTERVAL_MS,
        deadLetters,
        topics: PLATFORM_TOPICS,
        logger: silentLogger(),
      }));
    progress(`writing ${size.events.toLocaleString()} simulated events`);
    const written = await writeWorld(log, serde, size);

    progress('first build of every store (reference)');
    let started = process.hrtime.bigint();
    // From earliest onto empty stores: the reset has nothing to wipe, so this is the plain build.
    await replayAlone(await applications(), { kind: 'earliest' });
    const firstBuild = seconds(started);

    const runs: number[] = [];
    let records = 0;
    for (let run = 0; run < size.runs; run++) {
      progress(`run ${run + 1}/${size.runs}: replay every application from earliest`);
      started = process.hrtime.bigint();
      const results = await replayAlone(await applications(), { kind: 'earliest' });
      runs.push(seconds(started));
      records = results.reduce((n, r) => n + r.records, 0);
    }
    const runConfig = {
      events: written.events,
      interactions: written.interactions,
      input_records: records,
      applications: 'interaction-counts,features,snapshots',
      users: size.users,
      items: size.items,
      partitions: 4,
      runs: size.runs,
      commit_interval_ms: COMMIT_INTERVAL_MS,
      engine: 'rocksdb',
      log: 'embedded',
    };
    const secs = median(runs);
    return [
      metric('replay', 'events_per_s', written.events / secs, 'events/s', true, runConfig, {
        name: 'first_build_events_per_s',
        value: written.events / firstBuild,
      }),
      metric('replay', 'seconds', secs, 's', false, runConfig, {
        name: 'first_build_seconds',
        value: firstBuild,
      }),
    ];
  } finally {
    await log.close();
    await registry.close();
    await rm(dataDir, { recursive: true, force: true });
  }
};

function seconds(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e9;
}
