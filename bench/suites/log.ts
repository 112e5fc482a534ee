/**
 * `log` benchmark suite: append and read throughput of the
 * embedded log with realistic records — `rec.interactions` values encoded
 * with the shipped Avro schema in the Confluent wire format (about 100
 * bytes), keyed by user id, appended in batches.
 *
 * Values are encoded once before timing: the suite measures the log, not
 * avsc. Each repetition uses a fresh log directory; the reported figures are
 * the medians.
 *
 * @example
 * ```ts
 * const results = await logSuite({ scale: 'small', workDir: '/tmp/bench', progress: console.log });
 * ```
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import avro from 'avsc';
import { EmbeddedLog } from '../../runtime/log/embedded/index.js';
import type { OutgoingRecord } from '../../runtime/log/log.js';
import { INTERACTION_TYPE_SYMBOLS } from '../../schemas/generated/types.js';
import { latestSchemaVersion, loadSchema } from '../../schemas/index.js';
import { type BenchResult, median, metric, type Suite } from '../result.js';

const SUBJECT = 'rec.interactions-value';
const TOPIC = 'rec.interactions';
const SCHEMA_ID = 1;
const BATCH_SIZE = 1000;
const PARTITIONS = 4;
const DISTINCT_BATCHES = 64;
const USERS = 100_000;
const ITEMS = 50_000;
const FSYNC_MS = 1000;
const TYPES = INTERACTION_TYPE_SYMBOLS;

interface Workload {
  readonly batches: OutgoingRecord[][];
  readonly avgValueBytes: number;
}

/** Deterministic pseudo-random numbers, so every run appends the same bytes. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 0x1_0000_0000;
  };
}

/** A UUID-shaped event id (what producers send), drawn from `random`. */
function eventId(random: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`;
}

function confluentFrame(body: Buffer): Buffer {
  const framed = Buffer.allocUnsafe(5 + body.length);
  framed[0] = 0;
  framed.writeUInt32BE(SCHEMA_ID, 1);
  body.copy(framed, 5);
  return framed;
}

function buildWorkload(): Workload {
  const type = avro.Type.forSchema(loadSchema(SUBJECT, latestSchemaVersion(SUBJECT)) as avro.Schema);
  const random = rng(42);
  const start = Date.UTC(2024, 0, 1);
  let bytes = 0;
  let n = 0;
  const batches: OutgoingRecord[][] = [];
  for (let b = 0; b < DISTINCT_BATCHES; b++) {
    const batch: OutgoingRecord[] = [];
    for (let i = 0; i < BATCH_SIZE; i++, n++) {
      const user = `u${Math.floor(random() * USERS)}`;
      const kind = TYPES[Math.floor(random() * TYPES.length)]!;
      const ts = start + n * 37;
      const value = confluentFrame(
        type.toBuffer({
          event_id: eventId(random),
          user_id: user,
          item_id: `i${Math.floor(random() * ITEMS)}`,
          type: kind,
          value:
            kind === 'rate'
              ? 0.5 + Math.floor(random() * 10) / 2
              : kind === 'view' || kind === 'complete'
                ? random()
                : null,
          watch_ms:
            kind === 'view' || kind === 'complete' || kind === 'skip'
              ? Math.floor(random() * 3_600_000)
              : null,
          ts,
          context: {
            device: 'mobile',
            country: 'DE',
            session_id: `s${Math.floor(random() * 1e6)}`,
            surface: 'home',
            request_id: null,
          },
        }),
      );
      bytes += value.length;
      batch.push({ key: user, value, timestamp: ts });
    }
    batches.push(batch);
  }
  return { batches, avgValueBytes: bytes / n };
}

interface AppendRun {
  readonly records: number;
  readonly seconds: number;
}

/**
 * Appends `records` records, and goes on (whole batches) until at least
 * `minSeconds` have passed: with the interval fsync, a window shorter than
 * the interval would time appends that no fsync ever slowed.
 */
async function appendAll(
  log: EmbeddedLog,
  workload: Workload,
  records: number,
  minSeconds: number,
): Promise<AppendRun> {
  const started = performance.now();
  let written = 0;
  for (let b = 0; written < records || performance.now() - started < minSeconds * 1000; b++) {
    await log.append(TOPIC, workload.batches[b % workload.batches.length]!);
    written += BATCH_SIZE;
  }
  return { records: written, seconds: (performance.now() - started) / 1000 };
}

async function readAll(log: EmbeddedLog, records: number): Promise<number> {
  const consumer = await log.consumer({ topics: [TOPIC], from: 'earliest' });
  const started = performance.now();
  let read = 0;
  let valueBytes = 0;
  while (read < records) {
    const batch = await consumer.poll({ maxRecords: BATCH_SIZE });
    if (batch.length === 0)
      throw new Error(`log bench: consumer stopped after ${read} of ${records} records`);
    read += batch.length;
    // Touch every record so nothing is left lazily undecoded.
    for (const r of batch) valueBytes += r.value!.length + r.key!.length;
  }
  const seconds = (performance.now() - started) / 1000;
  await consumer.close();
  if (valueBytes === 0) throw new Error('log bench: read no bytes');
  return seconds;
}

/**
 * Per repetition: appends with the interval fsync for at least three
 * intervals (so about three fsyncs fall inside the timed window) and reads
 * it all back, then appends with an fdatasync before every acknowledgement
 * (`always`). Reports the median rates.
 */
export const logSuite: Suite = async ({ scale, workDir, progress }): Promise<BenchResult[]> => {
  const records = scale === 'full' ? 2_000_000 : 300_000;
  const alwaysRecords = scale === 'full' ? 500_000 : 100_000;
  const repetitions = scale === 'full' ? 3 : 5;
  const minSeconds = (3 * FSYNC_MS) / 1000;
  const workload = buildWorkload();
  const appendRates: number[] = [];
  const windows: number[] = [];
  const readRates: number[] = [];
  const alwaysRates: number[] = [];
  for (let rep = 0; rep < repetitions; rep++) {
    const dir = join(workDir, `log-${rep}`);
    const log = await EmbeddedLog.open(dir, { fsync: FSYNC_MS, maintenanceIntervalMs: 0 });
    try {
      await log.ensureTopic({ name: TOPIC, partitions: PARTITIONS });
      const append = await appendAll(log, workload, records, minSeconds);
      const readSeconds = await readAll(log, append.records);
      appendRates.push(append.records / append.seconds);
      windows.push(append.seconds);
      readRates.push(append.records / readSeconds);
    } finally {
      await log.close();
      await rm(dir, { recursive: true, force: true });
    }
    const always = await EmbeddedLog.open(dir, { fsync: 'always', maintenanceIntervalMs: 0 });
    try {
      await always.ensureTopic({ name: TOPIC, partitions: PARTITIONS });
      const run = await appendAll(always, workload, alwaysRecords, 0);
      alwaysRates.push(run.records / run.seconds);
    } finally {
      await always.close();
      await rm(dir, { recursive: true, force: true });
    }
    const rate = (n: number) => Math.round(n).toLocaleString('en-US');
    progress(
      `log rep ${rep + 1}/${repetitions}: append ${rate(appendRates.at(-1)!)} records/s over ${windows.at(-1)!.toFixed(1)} s (fsync every ${FSYNC_MS} ms), ${rate(alwaysRates.at(-1)!)} records/s (fsync always), read ${rate(readRates.at(-1)!)} records/s`,
    );
  }
  const base = {
    backend: 'embedded',
    runs: repetitions,
    batch_size: BATCH_SIZE,
    partitions: PARTITIONS,
    value_bytes: Math.round(workload.avgValueBytes),
    value_format: `${SUBJECT} Avro, Confluent wire format`,
    key: 'user_id',
  };
  const config = {
    ...base,
    records,
    fsync: `${FSYNC_MS} ms interval (RECSTREAM_LOG_FSYNC=interval)`,
    min_append_window_s: minSeconds,
    median_append_window_s: Number(median(windows).toFixed(2)),
    read_via: 'consumer.poll, 1000 records per poll',
  };
  const alwaysConfig = {
    ...base,
    records: alwaysRecords,
    fsync: 'fdatasync before every acknowledged append (RECSTREAM_LOG_FSYNC=always)',
  };
  const appendMedian = median(appendRates);
  return [
    metric('log', 'append_records_per_s', appendMedian, 'records/s', true, config),
    metric('log', 'read_records_per_s', median(readRates), 'records/s', true, config),
    metric('log', 'append_mb_per_s', (appendMedian * workload.avgValueBytes) / 1e6, 'MB/s', true, config),
    metric('log', 'append_records_per_s_fsync_always', median(alwaysRates), 'records/s', true, alwaysConfig),
  ];
};
