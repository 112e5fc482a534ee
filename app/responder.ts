/**
 * Starts the responder on a platform: decides who may call its data
 * endpoints and logs it (../responders/auth/exposure.ts: credentials when configured;
 * open on loopback; refused on another address unless
 * RECSTREAM_DATA_ENDPOINTS_OPEN=true), ensures rec.interactions exists,
 * opens the ingest and its event-id index, listens on RECSTREAM_HTTP_HOST:PORT,
 * and in the background rebuilds the index from the log tail and, given an
 * online store, starts the recommendation service (catalog, profiles, the
 * promoted model and its index, popularity). Until each is done `/readyz`
 * says so, `POST /v1/events` answers 503 with Retry-After and
 * `GET /v1/recommendations` 503.
 *
 * @example
 * ```ts
 * const responder = await startResponder(platform, { online });
 * console.log(responder.url);   // http://127.0.0.1:8080
 * console.log(responder.access.summary); // who may post events and read histories
 * await responder.started;      // index rebuilt, recommendations served
 * await responder.close();      // drains requests, flushes appends, served lists and index
 * ```
 */
import type { FastifyInstance } from 'fastify';
import { artifactStore } from '../registry/model-store.js';
import { createResponderApp } from '../responders/app.js';
import { AccessPolicy } from '../responders/auth/access.js';
import { Authenticator } from '../responders/auth/authenticator.js';
import { type DataEndpointAccess, dataEndpointAccess } from '../responders/auth/exposure.js';
import { Ingest } from '../responders/ingest/ingest.js';
import { Readiness } from '../responders/readiness.js';
import { RecommendationService } from '../responders/recommend/service.js';
import type { OnlineStore } from '../runtime/online/online-store.js';
import type { Platform } from '../runtime/platform.js';
import { INTERACTIONS_TOPIC } from '../schemas/topics.js';
import type { OffPolicyStepRunner } from '../trainer/gate-off-policy.js';
import { platformAdminActions } from './admin-actions.js';

export interface ResponderOptions {
  /** What recommendations read user and item views from; without it GET /v1/recommendations is not served. */
  readonly online?: OnlineStore;
  /** Service settings for tests (poll and refresh intervals). */
  readonly service?: { readonly popularityRefreshMs?: number; readonly pollMs?: number };
  /**
   * The gate's off-policy step that `POST /admin/retrain` runs, as `recstream train` does
   * (evaluation/off-policy/gate-step.ts, a layer above this one); without it a retrained
   * candidate waits for a trainer that has it.
   */
  readonly offPolicyStep?: OffPolicyStepRunner;
}

export interface RunningResponder {
  readonly app: FastifyInstance;
  readonly url: string;
  readonly ingest: Ingest;
  /** Whether the data endpoints need credentials, and the line that says so. */
  readonly access: DataEndpointAccess;
  /** Resolves when events are accepted and recommendations served; rejects if a start failed. */
  readonly started: Promise<void>;
  /** The recommendation service once started. */
  recommendations(): RecommendationService | undefined;
  close(): Promise<void>;
}

export async function startResponder(
  platform: Platform,
  options: ResponderOptions = {},
): Promise<RunningResponder> {
  const { config, log, serde, logger, metrics } = platform;
  const authenticator = await Authenticator.fromConfig(config);
  const access = dataEndpointAccess(config, authenticator);
  if (access.why === 'override') logger.warn({ data_endpoints: access.why }, access.summary);
  else logger.info({ data_endpoints: access.why }, access.summary);
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
  const store = artifactStore(config.dataDir);
  const adminActions = platformAdminActions(platform, store, options.online, options.offPolicyStep);
  let service: RecommendationService | undefined;
  let serviceProblem = 'starting: loading the catalog, profiles, the promoted model and its index';
  const readiness = new Readiness();
  let app: FastifyInstance;
  try {
    app = await createResponderApp({
      metrics,
      readiness,
      logger,
      ingest: { service: ingest, maxBodyBytes: config.ingestMaxBodyBytes },
      access: new AccessPolicy(authenticator, access.open),
      trustProxy: config.trustProxy,
      admin: { actions: adminActions, experiments: adminActions },
      console: {
        log,
        serde,
        modelName: config.modelName,
        indexName: config.indexName,
        ...(options.online === undefined ? {} : { service: () => service, online: options.online }),
      },
      ...(config.rateLimitPerSecond === 0 && config.adminRateLimitPerSecond === 0
        ? {}
        : {
            rateLimit: {
              max: config.rateLimitPerSecond,
              adminMax: config.adminRateLimitPerSecond,
              windowMs: 1000,
            },
          }),
      ...(options.online === undefined
        ? {}
        : {
            recommendations: {
              service: () => service,
              maxK: config.serveMaxK,
              notReadyReason: () => (service === undefined ? serviceProblem : null),
            },
          }),
    });
    await app.listen({ host: config.httpHost, port: config.httpPort });
  } catch (err) {
    await ingest.close();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.httpPort;
  const host = config.httpHost.includes(':') ? `[${config.httpHost}]` : config.httpHost;
  const online = options.online;
  const serviceStarted =
    online === undefined
      ? Promise.resolve()
      : RecommendationService.start({
          platform,
          online,
          store,
          ...options.service,
        }).then(
          (started) => {
            service = started;
          },
          (error: Error) => {
            serviceProblem = `recommendation service failed to start: ${error.message}`;
            throw error;
          },
        );
  const started = Promise.all([ingest.start(), serviceStarted]).then(() => {});
  // Observed here so that a failed start is not an unhandled rejection before the caller awaits it.
  started.catch(() => {});
  return {
    app,
    url: `http://${host}:${port}`,
    ingest,
    access,
    started,
    recommendations: () => service,
    close: async () => {
      await app.close();
      await started.catch(() => {});
      await adminActions.close();
      await service?.close();
      await ingest.close();
    },
  };
}
