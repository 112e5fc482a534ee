/**
 * `runtime` suite: the `interaction-counts` processor (get + put per record
 * in a RocksDB store, commits every 100 ms with changelog and offsets)
 * over Avro interactions in the embedded log. Reference, measured in the
 * same run over the same records: polling and decoding them with no
 * processing, the ceiling the runtime's own overhead is compared with.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { EmbeddedLog } from '../../runtime/log/embedded/embedded-log.js';
import type { EventLog, OutgoingRecord } from '../../runtime/log/log.js';
import { silentLogger } from '../../runtime/observability/logger.js';
import { avroSerializer } from '../../runtime/processor/avro-serdes.js';
import { StreamRunner } from '../../runtime/processor/runner.js';
import { openEmbeddedRegistry } from '../../runtime/registry/embedded/embedded-registry.js';
import { Serde } from '../../runtime/serde/serde.js';
import { interactionStream } from '../../sim/interaction-load.js';
import { INTERACTIONS_TOPIC, interactionCountsTopology } from '../../topologies/interaction-counts.js';
import { median, metric, type Suite } from '../result.js';

const SIZES = {
  small: { records: 300_000, users: 20_000, runs: 3 },
  full: { records: 2_000_000, users: 200_000, runs: 3 },
};
const PARTITIONS = 4;

export const runtimeSuite: Suite = async ({ scale, workDir, progress }) => {
  const size = SIZES[scale];
  const dataDir = join(workDir, 'runtime');
  await mkdir(dataDir, { recursive: true });
  const registry = await openEmbeddedRegistry({ dataDir });
  const serde = new Serde(registry);
  try {
    const decoder = await serde.decoder('rec.interactions-value');
    const deadLetters = avroSerializer(await serde.encoder('rec.dlq-value'));
    const processed: number[] = [];
    const readOnly: number[] = [];
    for (let run = 0; run < size.runs; run++) {
      // A fresh log per run: the changelog of the previous run would otherwise restore its finished state.
      const runDir = join(dataDir, `run-${run}`);
      const log = await EmbeddedLog.open(join(runDir, 'log'), { fsync: 'never', maintenanceIntervalMs: 0 });
      try {
        progress(`run ${run + 1}/${size.runs}: writing ${size.records.toLocaleString()} interactions`);
        await writeInteractions(log, serde, size);

        progress(`run ${run + 1}/${size.runs}: read + decode only`);
        const consumer = await log.consumer({ topics: [INTERACTIONS_TOPIC], from: 'earliest' });
        let seen = 0;
        let started = process.hrtime.bigint();
        for (;;) {
          const records = await consumer.poll({ maxRecords: 2000 });
          if (records.length === 0) break;
          await decoder.prepare(records.map((r) => r.value));
          for (const r of records) if (r.value) decoder.decodeSync(r.value);
          seen += records.length;
        }
        readOnly.push(seen / seconds(started));
        await consumer.close();

        progress(`run ${run + 1}/${size.runs}: interaction-counts over RocksDB`);
        const runner = await StreamRunner.start({
          topology: await interactionCountsTopology(serde),
          log,
          stateDir: join(runDir, 'state'),
          engine: 'rocksdb',
          commitIntervalMs: 100,
          deadLetters,
          logger: silentLogger(),
        });
        started = process.hrtime.bigint();
        const stats = await runner.runUntilCaughtUp();
        if (stats.processed !== size.records)
          throw new Error(`processed ${stats.processed} of ${size.records} records`);
        processed.push(stats.processed / seconds(started));
      } finally {
        await log.close();
        await rm(runDir, { recursive: true, force: true });
      }
    }
    const config = {
      records: size.records,
      users: size.users,
      partitions: PARTITIONS,
      runs: size.runs,
      commit_interval_ms: 100,
      engine: 'rocksdb',
    };
    return [
      metric('runtime', 'counting_processor_records_per_s', median(processed), 'records/s', true, config, {
        name: 'poll_and_decode_only_records_per_s',
        value: median(readOnly),
      }),
    ];
  } finally {
    await registry.close();
  }
};

async function writeInteractions(
  log: EventLog,
  serde: Serde,
  size: { records: number; users: number },
): Promise<void> {
  await log.ensureTopic({ name: INTERACTIONS_TOPIC, partitions: PARTITIONS });
  const encoder = await serde.encoder('rec.interactions-value');
  let batch: OutgoingRecord[] = [];
  for (const event of interactionStream({ seed: 1, users: size.users, items: 5_000, count: size.records })) {
    batch.push({ key: event.user_id, value: encoder.encode(event), timestamp: event.ts });
    if (batch.length === 5000) {
      await log.append(INTERACTIONS_TOPIC, batch);
      batch = [];
    }
  }
  if (batch.length) await log.append(INTERACTIONS_TOPIC, batch);
}

function seconds(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e9;
}
