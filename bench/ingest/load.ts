/**
 * The `ingest` bench's load generator, on loopback and bounded in count and
 * time: a closed loop (N connections, each posting the next body as soon as
 * the previous answered) for throughput, and an open loop (a body every
 * 1/rate seconds whether or not earlier ones answered) for latency at a
 * fixed offered load.
 *
 * @example
 * ```ts
 * const result = await closedLoop('http://127.0.0.1:8080', bodies, { concurrency: 16, timeLimitMs: 30_000 });
 * result.events / result.seconds; // events/s acknowledged
 * ```
 */
import { Agent, request } from 'node:http';

export interface Body {
  readonly bytes: Buffer;
  readonly events: number;
}

export interface LoadResult {
  /** Requests answered 202 and the events they carried. */
  readonly acknowledged: number;
  readonly events: number;
  readonly seconds: number;
  /** Per acknowledged request, send to full reply, in ms. */
  readonly latenciesMs: number[];
  /** Replies other than 202 (and transport errors), by status. */
  readonly failures: Readonly<Record<string, number>>;
  /** Open loop only: the latest a request left after its planned time, in ms. */
  readonly maxLagMs: number;
}

const TIMEOUT_MS = 10_000;

function post(agent: Agent, url: URL, body: Buffer): Promise<{ status: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': body.length },
        timeout: TIMEOUT_MS,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: String(res.statusCode), ms: performance.now() - started }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ status: err.message, ms: performance.now() - started }));
    req.end(body);
  });
}

class Tally {
  acknowledged = 0;
  events = 0;
  readonly latenciesMs: number[] = [];
  readonly failures: Record<string, number> = {};

  add(outcome: { status: string; ms: number }, events: number): void {
    if (outcome.status === '202') {
      this.acknowledged++;
      this.events += events;
      this.latenciesMs.push(outcome.ms);
    } else {
      this.failures[outcome.status] = (this.failures[outcome.status] ?? 0) + 1;
    }
  }
}

export async function closedLoop(
  base: string,
  bodies: readonly Body[],
  options: { concurrency: number; timeLimitMs: number },
): Promise<LoadResult> {
  const url = new URL('/v1/events', base);
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const tally = new Tally();
  const deadline = performance.now() + options.timeLimitMs;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (next < bodies.length && performance.now() < deadline) {
        const body = bodies[next++]!;
        tally.add(await post(agent, url, body.bytes), body.events);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return { ...tally, seconds, maxLagMs: 0 };
}

export async function openLoop(
  base: string,
  bodies: readonly Body[],
  options: { requestsPerS: number; durationMs: number },
): Promise<LoadResult> {
  const url = new URL('/v1/events', base);
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const tally = new Tally();
  const interval = 1000 / options.requestsPerS;
  const count = Math.min(bodies.length, Math.floor(options.durationMs / interval));
  const inFlight: Promise<void>[] = [];
  let maxLagMs = 0;
  const started = performance.now();
  for (let k = 0; k < count; k++) {
    const due = started + k * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    maxLagMs = Math.max(maxLagMs, performance.now() - due);
    const body = bodies[k]!;
    inFlight.push(post(agent, url, body.bytes).then((o) => tally.add(o, body.events)));
  }
  await Promise.all(inFlight);
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return { ...tally, seconds, maxLagMs };
}

/** Nearest-rank percentile. */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) throw new Error('percentile of no values');
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
