/**
 * `simulate` benchmark suite: `recstream simulate` writing
 * to the embedded log, run as the command a user runs, in a child process
 * each time so that its peak memory is its own.
 *
 * - `events_per_s`: interactions per second as the command measures them,
 *   from the start of the write (topics, the world built in the worker,
 *   generation, Avro encoding, appends) to the last acknowledged append;
 *   Node's own start-up is left out. Median of the repetitions. Reference:
 *   the embedded log appending the very same encoded interactions (read back
 *   from the run) in batches of the same size, measured in the same run.
 * - `peak_rss_mb` at the small and the large event count (median of the
 *   repetitions; RSS of the whole process, both threads), and their ratio
 *   `rss_growth_ratio`: memory stays flat as `--events` grows 10×.
 *
 * `small`: 100,000 users × 20,000 items (the command's defaults), 1,000,000
 * events (and 100,000 for the memory comparison). `full`: 1,000,000 users ×
 * 100,000 items × 10,000,000 events (and 1,000,000).
 *
 * @example
 * ```ts
 * const results = await simulateSuite({ scale: 'small', workDir: '/tmp/bench', progress: console.log });
 * ```
 */
import { rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { EmbeddedLog } from '../../runtime/log/embedded/index.js';
import type { OutgoingRecord } from '../../runtime/log/log.js';
import { INTERACTIONS_TOPIC } from '../../schemas/topics.js';
import { recstream } from '../recstream-cli.js';
import { type BenchResult, median, metric, type Suite } from '../result.js';

const BATCH_SIZE = 5000;
const PARTITIONS = 4;

interface Size {
  readonly users: number;
  readonly items: number;
  readonly events: number;
  readonly smallEvents: number;
  readonly repetitions: number;
}

const SIZES: Readonly<Record<'small' | 'full', Size>> = {
  small: { users: 100_000, items: 20_000, events: 1_000_000, smallEvents: 100_000, repetitions: 5 },
  full: { users: 1_000_000, items: 100_000, events: 10_000_000, smallEvents: 1_000_000, repetitions: 1 },
};

interface Report {
  readonly events: number;
  readonly events_per_s: number;
  readonly seconds: number;
  readonly max_rss_bytes: number;
}

/** Runs `recstream simulate --json` in a child process and returns its report. */
async function simulate(dataDir: string, size: Size, events: number): Promise<Report> {
  const args = ['simulate', '--json', '--data-dir', dataDir, '--users', String(size.users)];
  args.push('--items', String(size.items), '--events', String(events));
  const stdout = await recstream(args, { RECSTREAM_PARTITIONS: String(PARTITIONS) });
  return JSON.parse(stdout.trim().split('\n').pop()!) as Report;
}

/** Appends the run's own encoded interactions to a fresh log, as the simulator would, and times it. */
async function appendReference(runDir: string, workDir: string): Promise<number> {
  const source = await EmbeddedLog.open(join(runDir, 'log'), { readOnly: true });
  const batches: OutgoingRecord[][] = [];
  try {
    let batch: OutgoingRecord[] = [];
    for (const { partition, start, end } of await source.offsets(INTERACTIONS_TOPIC)) {
      for (let offset = start; offset < end; ) {
        const records = await source.read(INTERACTIONS_TOPIC, partition, offset, BATCH_SIZE);
        for (const r of records) {
          batch.push({ key: r.key, value: r.value, timestamp: r.timestamp });
          if (batch.length === BATCH_SIZE) {
            batches.push(batch);
            batch = [];
          }
        }
        offset = records[records.length - 1]!.offset + 1;
      }
    }
    if (batch.length) batches.push(batch);
  } finally {
    await source.close();
  }
  const dir = join(workDir, 'reference');
  const target = await EmbeddedLog.open(dir, { fsync: 1000, maintenanceIntervalMs: 0 });
  try {
    await target.ensureTopic({ name: INTERACTIONS_TOPIC, partitions: PARTITIONS });
    const started = performance.now();
    let records = 0;
    for (const b of batches) {
      await target.append(INTERACTIONS_TOPIC, b);
      records += b.length;
    }
    return records / ((performance.now() - started) / 1000);
  } finally {
    await target.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export const simulateSuite: Suite = async ({ scale, workDir, progress }): Promise<BenchResult[]> => {
  const size = SIZES[scale];
  // Other work on the machine takes CPU from the run: its load is part of the result.
  const loadBefore = loadavg()[0]!;
  const mb = (bytes: number) => bytes / 1024 / 1024;
  const smallRss: number[] = [];
  for (let rep = 0; rep < size.repetitions; rep++) {
    const dir = join(workDir, `small-${rep}`);
    smallRss.push((await simulate(dir, size, size.smallEvents)).max_rss_bytes);
    await rm(dir, { recursive: true, force: true });
  }
  progress(
    `${size.smallEvents.toLocaleString('en-US')} events: peak RSS ${smallRss.map((b) => mb(b).toFixed(0)).join(', ')} MB`,
  );
  const rates: number[] = [];
  const rss: number[] = [];
  const references: number[] = [];
  for (let rep = 0; rep < size.repetitions; rep++) {
    const dir = join(workDir, `run-${rep}`);
    const run = await simulate(dir, size, size.events);
    if (run.events !== size.events)
      throw new Error(`simulate bench: wrote ${run.events} of ${size.events} events`);
    rates.push(run.events_per_s);
    rss.push(run.max_rss_bytes);
    references.push(await appendReference(dir, workDir));
    await rm(dir, { recursive: true, force: true });
    progress(
      `rep ${rep + 1}/${size.repetitions}: ${run.events_per_s.toLocaleString('en-US')} events/s (log alone ${Math.round(references[rep]!).toLocaleString('en-US')} records/s), peak RSS ${mb(run.max_rss_bytes).toFixed(0)} MB`,
    );
  }
  const config = {
    backend: 'embedded',
    command: `recstream simulate --users ${size.users} --items ${size.items} --events ${size.events}`,
    users: size.users,
    items: size.items,
    events: size.events,
    runs: size.repetitions,
    partitions: PARTITIONS,
    batch_size: BATCH_SIZE,
    fsync: '1000 ms interval',
    measured:
      'write phase as the command reports it: world build, generation, Avro encoding, appends; not Node start-up',
    reference: 'the same encoded interactions appended to a fresh embedded log in batches of the same size',
    events_per_s_runs: rates,
    machine_load_1m: [Number(loadBefore.toFixed(2)), Number(loadavg()[0]!.toFixed(2))],
  };
  const peakSmall = mb(median(smallRss));
  const peakLarge = mb(median(rss));
  return [
    metric('simulate', 'events_per_s', median(rates), 'events/s', true, config, {
      name: 'log_append_records_per_s',
      value: median(references),
    }),
    metric('simulate', 'peak_rss_mb', peakSmall, 'MB', false, {
      ...config,
      events: size.smallEvents,
    }),
    metric('simulate', 'peak_rss_mb', peakLarge, 'MB', false, config),
    metric('simulate', 'rss_growth_ratio', peakLarge / peakSmall, 'x', false, {
      ...config,
      compared: `peak RSS at ${size.events} events over peak RSS at ${size.smallEvents} events`,
    }),
  ];
};
