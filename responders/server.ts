/**
 * Starts the responder on a platform: ensures rec.interactions exists, opens
 * the ingest and its event-id index, listens on RECSTREAM_HTTP_HOST:PORT,
 * and rebuilds the index from the log tail in the background (`/readyz` says
 * so meanwhile; `POST /v1/events` answers 503 with Retry-After).
 *
 * @example
 * ```ts
 * const responder = await startResponder(platform);
 * console.log(responder.url);   // http://127.0.0.1:8080
 * await responder.started;      // index rebuilt, events accepted
 * await responder.close();      // drains requests, flushes appends and index
 * ```
 */
import type { FastifyInstance } from 'fastify';
import type { Platform } from '../runtime/platform.js';
import { createResponderApp } from './app.js';
import { INTERACTIONS_TOPIC, Ingest } from './ingest/ingest.js';
import { Readiness } from './readiness.js';

export interface RunningResponder {
  readonly app: FastifyInstance;
  readonly url: string;
  readonly ingest: Ingest;
  /** Resolves when the ingest takes events; rejects if its start failed. */
  readonly started: Promise<void>;
  close(): Promise<void>;
}

export async function startResponder(platform: Platform): Promise<RunningResponder> {
  const { config, log, serde, logger, metrics } = platform;
  await log.ensureTopic({ name: INTERACTIONS_TOPIC, partitions: config.partitions });
  const ingest = await Ingest.open({
    log,
    serde,
    dataDir: config.dataDir,
    windowMs: config.ingestDedupWindowMs,
    maxInFlightEvents: config.ingestMaxInFlightEvents,
    logger,
    metrics,
  });
  const readiness = new Readiness();
  let app: FastifyInstance;
  try {
    app = await createResponderApp({
      metrics,
      readiness,
      logger,
      ingest: { service: ingest, maxBodyBytes: config.ingestMaxBodyBytes },
    });
    await app.listen({ host: config.httpHost, port: config.httpPort });
  } catch (err) {
    await ingest.close();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.httpPort;
  const host = config.httpHost.includes(':') ? `[${config.httpHost}]` : config.httpHost;
  const started = ingest.start();
  // Observed here so that a failed start is not an unhandled rejection before the caller awaits it.
  started.catch(() => {});
  return {
    app,
    url: `http://${host}:${port}`,
    ingest,
    started,
    close: async () => {
      await app.close();
      await started.catch(() => {});
      await ingest.close();
    },
  };
}
