/**
 * Load for the `serve` bench, on loopback and bounded in time: GETs of
 * `/v1/recommendations/<user>?k=10`, each request for the next user of a
 * list, so the load is spread over many users (and their views and
 * embeddings), with every response checked.
 *
 * - `closedLoop`: `autocannon` (a well-kept generator) with N keep-alive
 *   connections, each sending its next request as soon as the previous one
 *   answered: the most the server does, and latency at that concurrency.
 *   Latencies are taken from autocannon's per-response times (its own
 *   histogram keeps whole milliseconds only).
 * - `openLoop`: requests sent on a fixed schedule (one every 1/rate s)
 *   whether or not earlier ones answered, each latency counted from its
 *   scheduled send time, so a server that stalls (or a generator that lags)
 *   cannot hide latency by delaying the requests behind it (coordinated
 *   omission). autocannon's own rate limit is not used for this: it sends a
 *   connection's whole per-second quota back to back at the start of each
 *   second and corrects latencies with an expected interval of
 *   `ceil(1 / rate)` = 1 ms.
 *
 * `ResponseCheck` reads every response: a status other than 200, a
 * fallback (a personalised list was expected), a response whose
 * `index_version` was not built for its `model_version` (a mixed pair), and
 * the experiment variant each response names.
 *
 * @example
 * ```ts
 * const check = new ResponseCheck({ 'items@1': 'recstream@1' });
 * const result = await closedLoop({ base, paths: userPaths(users), connections: 8, seconds: 10, check });
 * result.requestsPerS; check.summary();
 * ```
 */

import type { EventEmitter } from 'node:events';
import { Agent, request } from 'node:http';
import { createRequire } from 'node:module';

/** Paths `/v1/recommendations/<user>?k=10` over the users in turn, from `offset`. */
export function userPaths(users: readonly string[], offset = 0, k = 10): () => string {
  let next = offset;
  return () => `/v1/recommendations/${users[next++ % users.length]}?k=${k}`;
}

interface Parsed {
  readonly model_version?: string | null;
  readonly index_version?: string | null;
  readonly fallback?: string | null;
  readonly variant?: string | null;
}

const DEGRADED = new Set(['no_model', 'model_error', 'online_store_timeout', 'online_store_unavailable']);

/** What every response said, counted. */
export class ResponseCheck {
  ok = 0;
  /** Non-200 statuses and transport errors, by status or message. */
  readonly failures: Record<string, number> = {};
  readonly fallbacks: Record<string, number> = {};
  /** Responses whose index version was built for another model version than the one they name. */
  mixed = 0;
  readonly pairs: Record<string, number> = {};
  /** Responses by the experiment variant they name (`none` outside every experiment). */
  readonly variants: Record<string, number> = {};

  constructor(
    /** `items@N` → `recstream@M`; undefined: versions are not checked (the reference's fixed body). */
    private readonly indexModels?: Readonly<Record<string, string>>,
  ) {}

  /** Records one response; returns the model version it names (null for a fallback), or undefined when it failed. */
  add(status: string, body: string | undefined): string | null | undefined {
    if (status !== '200') {
      this.failures[status] = (this.failures[status] ?? 0) + 1;
      return undefined;
    }
    this.ok++;
    if (this.indexModels === undefined || body === undefined) return null;
    let parsed: Parsed;
    try {
      parsed = JSON.parse(body) as Parsed;
    } catch {
      this.failures['unparseable body'] = (this.failures['unparseable body'] ?? 0) + 1;
      return undefined;
    }
    if (parsed.fallback != null) this.fallbacks[parsed.fallback] = (this.fallbacks[parsed.fallback] ?? 0) + 1;
    const variant = parsed.variant ?? 'none';
    this.variants[variant] = (this.variants[variant] ?? 0) + 1;
    const model = parsed.model_version ?? null;
    if (model !== null) {
      const pair = `${model} + ${parsed.index_version}`;
      this.pairs[pair] = (this.pairs[pair] ?? 0) + 1;
      if (this.indexModels[parsed.index_version ?? ''] !== model) this.mixed++;
    }
    return model;
  }

  failed(): number {
    return Object.values(this.failures).reduce((a, b) => a + b, 0);
  }

  /**
   * Fallbacks served because something on the personalised path failed or
   * was too slow (no model, a model error, the online store timing out or
   * unavailable); an opted-out user's popularity list is what they asked for.
   */
  degraded(): number {
    return Object.entries(this.fallbacks)
      .filter(([reason]) => DEGRADED.has(reason))
      .reduce((a, [, n]) => a + n, 0);
  }
}

export interface ClosedLoopResult {
  /** 200 responses per second of the run. */
  readonly requestsPerS: number;
  readonly seconds: number;
  /** Per response, in ms (autocannon's response times). */
  readonly latenciesMs: number[];
  readonly errors: number;
  readonly timeouts: number;
}

interface AutocannonResult {
  readonly duration: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly '2xx': number;
}
type Autocannon = (
  options: Record<string, unknown>,
  done: (error: Error | null, result: AutocannonResult) => void,
) => EventEmitter & { stop(): void };

export function closedLoop(options: {
  base: string;
  paths: () => string;
  connections: number;
  seconds: number;
  check: ResponseCheck;
}): Promise<ClosedLoopResult> {
  // Loaded here, not at import: it is a development dependency, and only this suite needs it.
  const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
  const latenciesMs: number[] = [];
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.base,
        connections: options.connections,
        duration: options.seconds,
        timeout: 10,
        requests: [
          {
            method: 'GET',
            setupRequest: (req: Record<string, unknown>) => ({ ...req, path: options.paths() }),
            onResponse: (status: number, body: string) => {
              options.check.add(String(status), body);
            },
          },
        ],
      },
      (error, result) => {
        if (error) return reject(error);
        options.check.failures.errors = (options.check.failures.errors ?? 0) + result.errors;
        if (options.check.failures.errors === 0) delete options.check.failures.errors;
        resolve({
          requestsPerS: result['2xx'] / result.duration,
          seconds: result.duration,
          latenciesMs,
          errors: result.errors,
          timeouts: result.timeouts,
        });
      },
    );
    instance.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) => {
      latenciesMs.push(ms);
    });
  });
}

export interface OpenLoopSample {
  /** When the request was due, ms after the run started, and the wall-clock time of that (Date.now()). */
  readonly dueMs: number;
  readonly dueEpochMs: number;
  /** Scheduled send to full reply, in ms. */
  readonly latencyMs: number;
  /** The model version the response named (null: a fallback), undefined when it failed. */
  readonly model: string | null | undefined;
}

export interface OpenLoopResult {
  readonly samples: OpenLoopSample[];
  readonly seconds: number;
  /** The latest a request left after its scheduled time, in ms (the generator's own lag). */
  readonly maxLagMs: number;
}

const TIMEOUT_MS = 10_000;

function get(agent: Agent, url: URL): Promise<{ status: string; body: string }> {
  return new Promise((resolve) => {
    const req = request(url, { agent, timeout: TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: String(res.statusCode), body: Buffer.concat(chunks).toString() }),
      );
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ status: err.message, body: '' }));
    req.end();
  });
}

/**
 * `rate` requests per second for `seconds` (or until `until()` says so),
 * on up to 256 keep-alive connections, then waits for the answers.
 */
export async function openLoop(options: {
  base: string;
  paths: () => string;
  rate: number;
  seconds: number;
  check: ResponseCheck;
  until?: () => boolean;
  /** Told of each answered request as it is answered. */
  onSample?: (sample: OpenLoopSample) => void;
}): Promise<OpenLoopResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const interval = 1000 / options.rate;
  const samples: OpenLoopSample[] = [];
  let inFlight = 0;
  let drained: (() => void) | undefined;
  let maxLagMs = 0;
  const started = performance.now();
  const startedEpoch = Date.now();
  const endMs = options.seconds * 1000;
  for (let k = 0; ; k++) {
    const dueMs = k * interval;
    if (dueMs >= endMs || options.until?.()) break;
    const wait = started + dueMs - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    maxLagMs = Math.max(maxLagMs, performance.now() - (started + dueMs));
    const url = new URL(options.paths(), options.base);
    // From the due time when the generator is late (coordinated omission counted), from the send when
    // a timer fired early: never less than the request really took.
    const from = Math.min(started + dueMs, performance.now());
    inFlight++;
    get(agent, url).then(({ status, body }) => {
      const latencyMs = performance.now() - from;
      const model = options.check.add(status, body);
      const sample = { dueMs, dueEpochMs: startedEpoch + dueMs, latencyMs, model };
      samples.push(sample);
      options.onSample?.(sample);
      if (--inFlight === 0) drained?.();
    });
  }
  if (inFlight > 0) await new Promise<void>((resolve) => (drained = resolve));
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  samples.sort((a, b) => a.dueMs - b.dueMs);
  return { samples, seconds, maxLagMs };
}

/** Nearest-rank percentile. */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
