/**
 * `ingest` suite: `POST /v1/events` of `recstream serve` (validation, event-id
 * dedup in RocksDB, Avro encoding, embedded log append acknowledged before
 * the 202) under load from a generator on loopback, with 100-event batches.
 * The server runs in its own process pinned to one CPU (`taskset -c 0`).
 *
 * - `events_per_s`: closed loop, 16 connections, until the bodies run out.
 * - `events_per_cpu_s`: the same events over the server's CPU time (utime +
 *   stime of all its threads, from /proc): the rate one core sustains when
 *   the machine's other processes do not take turns on it.
 * - `batch_latency_p50_ms` / `batch_latency_p99_ms`: open loop at a fixed
 *   offered load of 20 000 events/s (200 batches/s), send to full reply.
 *
 * Reference in the same run, same bodies, same core: a bare Node `http`
 * server that reads and JSON-parses each body and answers 202 (no
 * validation, no dedup, no log). Each repetition uses a fresh data dir and
 * new event ids; the figures are medians over repetitions.
 */
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { type Body, closedLoop, type LoadResult, openLoop, percentile } from '../ingest/load.js';
import {
  ingestCommand,
  pinLoadGenerator,
  referenceCommand,
  SERVER_CPU,
  type ServerCommand,
  startServer,
} from '../ingest/servers.js';
import { interactionStream } from '../interaction-load.js';
import { median, metric, type Suite } from '../result.js';

const BATCH = 100;
const CONCURRENCY = 16;
const OFFERED_EVENTS_PER_S = 20_000;
const SIZES = {
  small: { throughputEvents: 40_000, latencySeconds: 3, repetitions: 5 },
  full: { throughputEvents: 300_000, latencySeconds: 10, repetitions: 5 },
};

/** Request bodies of valid, distinct events, JSON-encoded before any timing. */
function bodies(prefix: string, count: number, seed: number): Body[] {
  const out: Body[] = [];
  let batch: unknown[] = [];
  let i = 0;
  for (const event of interactionStream({ seed, users: 50_000, items: 20_000, count })) {
    batch.push({ ...event, event_id: `${prefix}-${i++}` });
    if (batch.length === BATCH) {
      out.push({ bytes: Buffer.from(JSON.stringify(batch)), events: BATCH });
      batch = [];
    }
  }
  return out;
}

interface Figures {
  readonly eventsPerS: number;
  /** Events per second of the server's own CPU time (all its threads): what one core does without neighbours. */
  readonly eventsPerCpuS: number | undefined;
  readonly p50: number;
  readonly p99: number;
  readonly failures: number;
  readonly maxLagMs: number;
}

async function measure(
  command: ServerCommand,
  prefix: string,
  size: (typeof SIZES)['small'],
): Promise<Figures> {
  const throughputBodies = bodies(`${prefix}-t`, size.throughputEvents, 1);
  const latencyBodies = bodies(`${prefix}-l`, OFFERED_EVENTS_PER_S * size.latencySeconds, 2);
  const server = await startServer(command);
  let throughput: LoadResult;
  let latency: LoadResult;
  let cpu: number | undefined;
  try {
    const cpuBefore = server.cpuSeconds();
    throughput = await closedLoop(server.url, throughputBodies, {
      concurrency: CONCURRENCY,
      timeLimitMs: 60_000,
    });
    const cpuAfter = server.cpuSeconds();
    cpu = cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore;
    latency = await openLoop(server.url, latencyBodies, {
      requestsPerS: OFFERED_EVENTS_PER_S / BATCH,
      durationMs: size.latencySeconds * 1000,
    });
  } finally {
    await server.stop();
  }
  const failures = [throughput, latency].reduce(
    (n, r) => n + Object.values(r.failures).reduce((a, b) => a + b, 0),
    0,
  );
  if (failures > 0) {
    throw new Error(
      `ingest bench: ${failures} requests not acknowledged: ${JSON.stringify({ ...throughput.failures, ...latency.failures })}`,
    );
  }
  return {
    eventsPerS: throughput.events / throughput.seconds,
    eventsPerCpuS: cpu === undefined || cpu === 0 ? undefined : throughput.events / cpu,
    p50: percentile(latency.latenciesMs, 0.5),
    p99: percentile(latency.latenciesMs, 0.99),
    failures,
    maxLagMs: latency.maxLagMs,
  };
}

export const ingestSuite: Suite = async ({ scale, workDir, progress }) => {
  const size = SIZES[scale];
  // The machine is shared: its load says how much of "one core" the server really had.
  const loadAtStart = loadavg()[0]!;
  const ingest: Figures[] = [];
  const reference: Figures[] = [];
  const unpin = pinLoadGenerator();
  try {
    for (let rep = 0; rep < size.repetitions; rep++) {
      const ref = await measure(referenceCommand, `ref${rep}`, size);
      reference.push(ref);
      const ing = await measure(ingestCommand(join(workDir, `ingest-${rep}`)), `ing${rep}`, size);
      ingest.push(ing);
      progress(
        `rep ${rep + 1}/${size.repetitions}: ingest ${Math.round(ing.eventsPerS).toLocaleString('en-US')} events/s (${Math.round(ing.eventsPerCpuS ?? 0).toLocaleString('en-US')} per cpu-s), p50 ${ing.p50.toFixed(2)} ms, p99 ${ing.p99.toFixed(2)} ms | bare http ${Math.round(ref.eventsPerS).toLocaleString('en-US')} events/s, p99 ${ref.p99.toFixed(2)} ms`,
      );
    }
  } finally {
    unpin();
  }
  const config = {
    batch_events: BATCH,
    throughput_events: size.throughputEvents,
    throughput_load: `closed loop, ${CONCURRENCY} keep-alive connections`,
    latency_load: `open loop, ${OFFERED_EVENTS_PER_S} events/s offered for ${size.latencySeconds} s`,
    runs: size.repetitions,
    server_cpu: SERVER_CPU === undefined ? 'unpinned' : `taskset -c ${SERVER_CPU}`,
    load_generator_cpu: SERVER_CPU === undefined ? 'unpinned' : `taskset -c ${SERVER_CPU + 1}`,
    backend: 'embedded log (fsync every 1 s), RocksDB event-id index',
    partitions: 4,
    machine_load_1m: [round1(loadAtStart), round1(loadavg()[0]!)],
    load_generator_max_lag_ms: Math.round(Math.max(...ingest.map((f) => f.maxLagMs))),
    node: process.version,
  };
  const med = (list: Figures[], pick: (f: Figures) => number) => median(list.map(pick));
  const result = (
    name: string,
    unit: string,
    higher: boolean,
    pick: (f: Figures) => number,
    refName: string,
  ) =>
    metric('ingest', name, med(ingest, pick), unit, higher, config, {
      name: refName,
      value: med(reference, pick),
    });
  const cpuMeasured = [...ingest, ...reference].every((f) => f.eventsPerCpuS !== undefined);
  return [
    result('events_per_s', 'events/s', true, (f) => f.eventsPerS, 'bare_node_http_events_per_s'),
    ...(cpuMeasured
      ? [
          result(
            'events_per_cpu_s',
            'events/cpu-s',
            true,
            (f) => f.eventsPerCpuS!,
            'bare_node_http_events_per_cpu_s',
          ),
        ]
      : []),
    result('batch_latency_p50_ms', 'ms', false, (f) => f.p50, 'bare_node_http_p50_ms'),
    result('batch_latency_p99_ms', 'ms', false, (f) => f.p99, 'bare_node_http_p99_ms'),
  ];
};

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
