/**
 * `runtime` suite: the `interaction-counts` processor (get + put per record
 * in a RocksDB store, commits every 100 ms with changelog and offsets)
 * over Avro interactions in the embedded log. Reference, measured in the
 * same run over the same records: polling and decoding them with no
 * processing, the ceiling the runtime's own overhead is compared with.
 *
 * Tracing: the same processor over the same interactions, each carrying a
 * W3C `traceparent` header (one trace per 100 records, as HTTP ingest
 * writes them), with tracing off, then with the OpenTelemetry SDK on
 * (batch span processor into an in-memory exporter: one span per record,
 * nothing sent anywhere). Both are compared with the figure above.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExportResult } from '@opentelemetry/core';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { EmbeddedLog } from '../../runtime/log/embedded/embedded-log.js';
import type { EventLog, OutgoingRecord } from '../../runtime/log/log.js';
import { silentLogger } from '../../runtime/observability/logger.js';
import { startTracing, stopTracing, tracingActive } from '../../runtime/observability/tracing.js';
import { avroSerializer } from '../../runtime/processor/avro-serdes.js';
import type { DeadLetterSerializer } from '../../runtime/processor/dead-letter.js';
import { StreamRunner } from '../../runtime/processor/runner.js';
import { openEmbeddedRegistry } from '../../runtime/registry/embedded/embedded-registry.js';
import { Serde } from '../../runtime/serde/serde.js';
import { INTERACTIONS_TOPIC } from '../../runtime/topics/catalogue.js';
import { interactionCountsTopology } from '../../topologies/interaction-counts.js';
import { interactionStream } from '../interaction-load.js';
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
    const tracingOff: number[] = [];
    const tracingOn: number[] = [];
    let spans = 0;
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
        const started = process.hrtime.bigint();
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
        processed.push(await countingRate(log, serde, join(runDir, 'state'), deadLetters, size.records));
      } finally {
        await log.close();
        await rm(runDir, { recursive: true, force: true });
      }

      // A fresh log for each: a second runner on one log would restore the first one's finished state.
      const tracedRate = async (mode: 'off' | 'on'): Promise<number> => {
        const tracedDir = join(dataDir, `traced-${run}-${mode}`);
        const traced = await EmbeddedLog.open(join(tracedDir, 'log'), {
          fsync: 'never',
          maintenanceIntervalMs: 0,
        });
        try {
          progress(
            `run ${run + 1}/${size.runs}: writing ${size.records.toLocaleString()} traced interactions`,
          );
          await writeInteractions(traced, serde, size, true);
          progress(`run ${run + 1}/${size.runs}: interaction-counts over traced records, tracing ${mode}`);
          if (mode === 'off') {
            if (tracingActive()) throw new Error('tracing is on before the tracing-off measurement');
            return await countingRate(traced, serde, join(tracedDir, 'state'), deadLetters, size.records);
          }
          const exporter = new DiscardingExporter();
          await startTracing({ exporter });
          try {
            return await countingRate(traced, serde, join(tracedDir, 'state'), deadLetters, size.records);
          } finally {
            await stopTracing();
            spans = Math.max(spans, exporter.exported);
          }
        } finally {
          await traced.close();
          await rm(tracedDir, { recursive: true, force: true });
        }
      };
      tracingOff.push(await tracedRate('off'));
      tracingOn.push(await tracedRate('on'));
    }
    const config = {
      records: size.records,
      users: size.users,
      partitions: PARTITIONS,
      runs: size.runs,
      commit_interval_ms: 100,
      engine: 'rocksdb',
    };
    const reference = { name: 'counting_processor_records_per_s', value: median(processed) };
    const tracedConfig = { ...config, traceparent_per_record: true, records_per_trace: RECORDS_PER_TRACE };
    return [
      metric('runtime', 'counting_processor_records_per_s', median(processed), 'records/s', true, config, {
        name: 'poll_and_decode_only_records_per_s',
        value: median(readOnly),
      }),
      metric(
        'runtime',
        'tracing_off_records_per_s',
        median(tracingOff),
        'records/s',
        true,
        tracedConfig,
        reference,
      ),
      metric(
        'runtime',
        'tracing_on_records_per_s',
        median(tracingOn),
        'records/s',
        true,
        { ...tracedConfig, span_processor: 'batch', exporter: 'in-memory', spans_exported_last_run: spans },
        reference,
      ),
    ];
  } finally {
    await registry.close();
  }
};

/** Records per trace in the traced runs: one HTTP ingest request's worth. */
const RECORDS_PER_TRACE = 100;

/** The counting processor from the start of `log` to its end, in records/s. */
async function countingRate(
  log: EventLog,
  serde: Serde,
  stateDir: string,
  deadLetters: DeadLetterSerializer,
  records: number,
): Promise<number> {
  const runner = await StreamRunner.start({
    topology: await interactionCountsTopology(serde),
    log,
    stateDir,
    engine: 'rocksdb',
    commitIntervalMs: 100,
    deadLetters,
    logger: silentLogger(),
  });
  const started = process.hrtime.bigint();
  const stats = await runner.runUntilCaughtUp();
  if (stats.processed !== records) throw new Error(`processed ${stats.processed} of ${records} records`);
  return stats.processed / seconds(started);
}

/** The in-memory exporter, emptied after every batch so a long run holds no spans; counts what it got. */
class DiscardingExporter extends InMemorySpanExporter {
  exported = 0;

  override export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.exported += spans.length;
    super.export(spans, done);
    this.reset();
  }
}

async function writeInteractions(
  log: EventLog,
  serde: Serde,
  size: { records: number; users: number },
  traced = false,
): Promise<void> {
  await log.ensureTopic({ name: INTERACTIONS_TOPIC, partitions: PARTITIONS });
  const encoder = await serde.encoder('rec.interactions-value');
  let batch: OutgoingRecord[] = [];
  let n = 0;
  let headers: OutgoingRecord['headers'];
  for (const event of interactionStream({ seed: 1, users: size.users, items: 5_000, count: size.records })) {
    if (traced && n++ % RECORDS_PER_TRACE === 0) headers = { traceparent: traceparent(n) };
    batch.push({
      key: event.user_id,
      value: encoder.encode(event),
      timestamp: event.ts,
      ...(traced ? { headers } : {}),
    });
    if (batch.length === 5000) {
      await log.append(INTERACTIONS_TOPIC, batch);
      batch = [];
    }
  }
  if (batch.length) await log.append(INTERACTIONS_TOPIC, batch);
}

/** A sampled W3C traceparent, different for each `n`. */
function traceparent(n: number): string {
  const hex = n.toString(16).padStart(16, '0');
  return `00-${hex}${'0'.repeat(15)}1-${hex.replace(/^0/, 'a')}-01`;
}

function seconds(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e9;
}
