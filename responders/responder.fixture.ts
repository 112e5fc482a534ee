/**
 * Test fixture: a responder app over a real platform (embedded log and
 * registry in a scratch data dir, RocksDB dedup index), driven with
 * `app.inject()`. `wrapLog` lets a test put fault injection around the real log.
 *
 * @example
 * ```ts
 * const h = await openTestResponder();
 * const res = await h.post([{ event_id: 'e1', ... }]);
 * await h.close();
 * ```
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { loadConfig } from '../runtime/config.js';
import type { EventLog, LogRecord } from '../runtime/log/log.js';
import { silentLogger } from '../runtime/observability/logger.js';
import type { Interaction } from '../schemas/generated/types.js';
import { openPlatform, type Platform } from '../schemas/platform.js';
import { INTERACTIONS_TOPIC } from '../schemas/topics.js';
import { createResponderApp, type ResponderAppOptions } from './app.js';
import { Ingest } from './ingest/ingest.js';
import { Readiness } from './readiness.js';

export interface TestResponder {
  readonly dataDir: string;
  readonly platform: Platform;
  readonly ingest: Ingest;
  readonly app: FastifyInstance;
  post(body: unknown, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
  /** Every record of rec.interactions, decoded. */
  logged(): Promise<{ record: LogRecord; event: Interaction }[]>;
  /** Closes app, ingest and platform; keeps the data dir unless `remove`. */
  close(remove?: boolean): Promise<void>;
}

export interface TestResponderOptions {
  readonly dataDir?: string;
  readonly wrapLog?: (log: EventLog) => EventLog;
  readonly maxInFlightEvents?: number;
  readonly maxBodyBytes?: number;
  readonly deliveryTimeoutMs?: number;
  /** Skip `ingest.start()` (tests of the not-ready state). */
  readonly start?: boolean;
  /** More app options (access, rate limit, console), given the platform. */
  readonly app?: (platform: Platform) => Partial<ResponderAppOptions>;
}

export async function openTestResponder(options: TestResponderOptions = {}): Promise<TestResponder> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'recstream-responder-')));
  const platform = await openPlatform(loadConfig({ RECSTREAM_LOG_FSYNC: 'never' }, { dataDir }), {
    logger: silentLogger(),
  });
  await platform.log.ensureTopic({ name: INTERACTIONS_TOPIC, partitions: 2 });
  const log = options.wrapLog?.(platform.log) ?? platform.log;
  const ingest = await Ingest.open({
    log,
    serde: platform.serde,
    dataDir,
    windowMs: 3_600_000,
    maxInFlightEvents: options.maxInFlightEvents ?? 20_000,
    ...(options.deliveryTimeoutMs === undefined ? {} : { deliveryTimeoutMs: options.deliveryTimeoutMs }),
    metrics: platform.metrics,
  });
  const app = await createResponderApp({
    metrics: platform.metrics,
    readiness: new Readiness(),
    ingest: { service: ingest, maxBodyBytes: options.maxBodyBytes ?? 1 << 20 },
    ...options.app?.(platform),
  });
  if (options.start !== false) await ingest.start();
  return {
    dataDir,
    platform,
    ingest,
    app,
    post: (body, headers = { 'content-type': 'application/json' }) =>
      app.inject({
        method: 'POST',
        url: '/v1/events',
        headers,
        payload: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
      }),
    logged: async () => {
      const decoder = await platform.serde.decoder('rec.interactions-value');
      const out: { record: LogRecord; event: Interaction }[] = [];
      for (const { partition, start, end } of await platform.log.offsets(INTERACTIONS_TOPIC)) {
        for (const record of await platform.log.read(INTERACTIONS_TOPIC, partition, start, end - start)) {
          out.push({ record, event: await decoder.decode(record.value!) });
        }
      }
      return out;
    },
    close: async (remove = false) => {
      await app.close();
      await ingest.close();
      await platform.close();
      if (remove) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A valid event; override fields to break it. */
export function event(n: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    event_id: `ev-${n}`,
    user_id: `u${n % 7}`,
    item_id: `i${n % 13}`,
    type: 'view',
    value: 0.5,
    watch_ms: 1000 + n,
    ts: 1_735_689_600_000 + n,
    context: { device: 'web', country: 'PT', session_id: `s${n % 3}`, surface: 'home', request_id: null },
    ...overrides,
  };
}
