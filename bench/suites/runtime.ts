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
 *
 * Dedup memory: the same processor over a simulated month of interactions
 * (evenly spread in event time), its store of ids taken (`event-ids`)
 * measured after 7, 14, 21 and 30 days: it grows for one dedup horizon,
 * then stays put, and the day-30 size is compared with the day-7 one.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExportResult } from '@opentelemetry/core';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { EVENT_IDS_STORE } from '../../features/math/interactions.js';
import { CONFIG_SCHEMA } from '../../runtime/config.js';
import { StreamRunner } from '../../runtime/engine/runner.js';
import { EmbeddedLog } from '../../runtime/log/embedded/embedded-log.js';
import type { EventLog, OutgoingRecord } from '../../runtime/log/log.js';
import { silentLogger } from '../../runtime/observability/logger.js';
import { startTracing, stopTracing, tracingActive } from '../../runtime/observability/tracing.js';
import { avroSerializer } from '../../runtime/processor/avro-serdes.js';
import type { DeadLetterSerializer } from '../../runtime/processor/dead-letter.js';
import { openEmbeddedRegistry } from '../../runtime/registry/embedded/embedded-registry.js';
import type { Serde } from '../../runtime/serde/serde.js';
import { dedupCodec } from '../../runtime/state/dedup-window.js';
import { platformSerde } from '../../schemas/platform.js';
import { INTERACTIONS_TOPIC, PLATFORM_TOPICS } from '../../schemas/topics.js';
import { interactionCountsTopology } from '../../topologies/interaction-counts.js';
import { interactionStream } from '../interaction-load.js';
import { median, metric, type Suite } from '../result.js';

const SIZES = {
  small: { records: 300_000, users: 20_000, runs: 3, monthEventsPerDay: 4_000 },
  full: { records: 2_000_000, users: 200_000, runs: 3, monthEventsPerDay: 40_000 },
};
const DAY_MS = 86_400_000;
/** Days of the simulated month after which the dedup store is measured. */
const MONTH_CHECKPOINTS = [7, 14, 21, 30];
const PARTITIONS = 4;

export const runtimeSuite: Suite = async ({ scale, workDir, progress }) => {
  const size = SIZES[scale];
  const dataDir = join(workDir, 'runtime');
  await mkdir(dataDir, { recursive: true });
  const registry = await openEmbeddedRegistry({ dataDir });
  const serde = platformSerde(registry);
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
    progress(
      `a simulated month, ${size.monthEventsPerDay.toLocaleString()} interactions a day: dedup store size`,
    );
    const month = await dedupMonth(join(dataDir, 'month'), serde, deadLetters, size);
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
      metric(
        'runtime',
        'dedup_store_keys_day_30',
        month.at(-1)!.keys,
        'keys',
        false,
        {
          dedup_horizon_days: CONFIG_SCHEMA.dedupHorizonMs.default / DAY_MS,
          segment: '1 h of stream time',
          interactions_per_day: size.monthEventsPerDay,
          users: size.users,
          partitions: PARTITIONS,
          days: MONTH_CHECKPOINTS.at(-1),
          keys_by_day: Object.fromEntries(month.map((m) => [m.day, m.keys])),
          bytes_by_day: Object.fromEntries(month.map((m) => [m.day, m.bytes])),
        },
        { name: 'dedup_store_keys_day_7', value: month[0]!.keys },
      ),
    ];
  } finally {
    await registry.close();
  }
};

/**
 * The counting processor over a month of interactions evenly spread in
 * event time, written and processed up to each checkpoint day in turn; at
 * each, the keys of `event-ids` over all tasks, and their bytes (key and
 * value as stored).
 */
async function dedupMonth(
  dir: string,
  serde: Serde,
  deadLetters: DeadLetterSerializer,
  size: { users: number; monthEventsPerDay: number },
): Promise<{ day: number; keys: number; bytes: number }[]> {
  const log = await EmbeddedLog.open(join(dir, 'log'), { fsync: 'never', maintenanceIntervalMs: 0 });
  const encoder = await serde.encoder('rec.interactions-value');
  const days = MONTH_CHECKPOINTS.at(-1)!;
  const stepMs = DAY_MS / size.monthEventsPerDay;
  const events = interactionStream({
    seed: 3,
    users: size.users,
    items: 5_000,
    count: days * size.monthEventsPerDay,
  });
  const start = Date.UTC(2026, 0, 1);
  const out: { day: number; keys: number; bytes: number }[] = [];
  try {
    await log.ensureTopic({ name: INTERACTIONS_TOPIC, partitions: PARTITIONS });
    let n = 0;
    for (const day of MONTH_CHECKPOINTS) {
      let batch: OutgoingRecord[] = [];
      for (; n < day * size.monthEventsPerDay; n++) {
        const ts = start + Math.floor(n * stepMs);
        const event = { ...events.next().value!, ts };
        batch.push({ key: event.user_id, value: encoder.encode(event), timestamp: ts });
        if (batch.length === 5000) {
          await log.append(INTERACTIONS_TOPIC, batch);
          batch = [];
        }
      }
      if (batch.length) await log.append(INTERACTIONS_TOPIC, batch);
      const topology = await interactionCountsTopology(serde);
      const runner = () =>
        StreamRunner.start({
          topology,
          log,
          stateDir: join(dir, 'state'),
          engine: 'rocksdb',
          commitIntervalMs: 100,
          deadLetters,
          topics: PLATFORM_TOPICS,
          logger: silentLogger(),
        });
      await (await runner()).runUntilCaughtUp();
      // runUntilCaughtUp closes its runner: a second one opens the committed state to measure it.
      const inspect = await runner();
      try {
        let keys = 0;
        let bytes = 0;
        for (let p = 0; p < PARTITIONS; p++)
          for await (const [key, value] of inspect.taskState(p)!.store(EVENT_IDS_STORE).range()) {
            keys++;
            bytes += Buffer.byteLength(key) + dedupCodec.encode(value as never).length;
          }
        out.push({ day, keys, bytes });
      } finally {
        await inspect.close();
      }
    }
    return out;
  } finally {
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
}

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
    topics: PLATFORM_TOPICS,
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
