/**
 * Configuration as a schema (the fastify way): every setting has a type, a
 * default and a doc line; `loadConfig` validates the environment at start,
 * names the variable in every error, and returns a frozen object. The file
 * is long because the table is: one entry per variable, kept whole so that
 * `--help`, validation and the types all read one source.
 *
 * @example
 * ```ts
 * const config = loadConfig(process.env, { dataDir: '/var/lib/recstream' });
 * config.httpPort; // 8080 unless RECSTREAM_HTTP_PORT says otherwise
 * ```
 */
import { resolve } from 'node:path';
import { ConfigError } from './errors.js';
import { type ApiKeyEntry, parseApiKeys, parseTrustProxy, type TrustProxy } from './http-access.js';
import { logHashKeyProblem } from './observability/user-hash.js';

type Kind = 'string' | 'int' | 'float' | 'json' | 'enum' | 'url-list' | 'url' | 'api-keys' | 'trust-proxy';

interface Setting<K extends Kind = Kind> {
  readonly env: string;
  readonly kind: K;
  readonly default: string | number | undefined;
  readonly doc: string;
  readonly values?: readonly string[];
  readonly min?: number;
  readonly max?: number;
}

/** The settings, in the order `recstream --help` lists them under `environment:`. */
export const CONFIG_SCHEMA = {
  dataDir: {
    env: 'RECSTREAM_DATA_DIR',
    kind: 'string',
    default: './data',
    doc: 'embedded log, registry, RocksDB state and artifacts',
  },
  kafkaBrokers: {
    env: 'RECSTREAM_KAFKA_BROKERS',
    kind: 'url-list',
    default: undefined,
    doc: 'comma-separated Kafka brokers (host:port); unset uses the embedded log',
  },
  kafkaIdempotent: {
    env: 'RECSTREAM_KAFKA_IDEMPOTENT',
    kind: 'enum',
    values: ['true', 'false'],
    default: 'true',
    doc: 'idempotent Kafka producer; false only for brokers whose idempotence check is broken (go-mokapi): appends keep their order but a retried request may write its records twice, which consumers absorb by event_id',
  },
  kafkaClientId: {
    env: 'RECSTREAM_KAFKA_CLIENT_ID',
    kind: 'string',
    default: 'recstream',
    doc: 'client id the Kafka brokers see (quotas, broker logs)',
  },
  kafkaMaxRequestBytes: {
    env: 'RECSTREAM_KAFKA_MAX_REQUEST_BYTES',
    kind: 'int',
    min: 1024,
    max: 100 * 1024 * 1024,
    default: 1_048_576,
    doc: "largest produce request (the producer's max.request.size); larger appends are sent in several requests, each atomic per partition. Keep it at or below the brokers' message.max.bytes",
  },
  kafkaSaslMechanism: {
    env: 'RECSTREAM_KAFKA_SASL_MECHANISM',
    kind: 'enum',
    values: ['none', 'plain', 'scram-sha-256', 'scram-sha-512'],
    default: 'none',
    doc: 'SASL authentication with the Kafka brokers; any value but none needs RECSTREAM_KAFKA_SASL_USERNAME and _PASSWORD (use it with RECSTREAM_KAFKA_TLS=true: plain sends the password as is)',
  },
  kafkaSaslUsername: {
    env: 'RECSTREAM_KAFKA_SASL_USERNAME',
    kind: 'string',
    default: undefined,
    doc: 'SASL user name (with RECSTREAM_KAFKA_SASL_MECHANISM)',
  },
  kafkaSaslPassword: {
    env: 'RECSTREAM_KAFKA_SASL_PASSWORD',
    kind: 'string',
    default: undefined,
    doc: 'SASL password (with RECSTREAM_KAFKA_SASL_MECHANISM); never logged',
  },
  kafkaTls: {
    env: 'RECSTREAM_KAFKA_TLS',
    kind: 'enum',
    values: ['true', 'false'],
    default: 'false',
    doc: "TLS to the Kafka brokers, verifying their certificates against the system's CAs or RECSTREAM_KAFKA_TLS_CA_FILE",
  },
  kafkaTlsCaFile: {
    env: 'RECSTREAM_KAFKA_TLS_CA_FILE',
    kind: 'string',
    default: undefined,
    doc: "PEM file of the CA(s) that signed the brokers' certificates, instead of the system's (needs RECSTREAM_KAFKA_TLS=true)",
  },
  kafkaConnectionTimeoutMs: {
    env: 'RECSTREAM_KAFKA_CONNECTION_TIMEOUT_MS',
    kind: 'int',
    min: 1,
    max: 600_000,
    default: 3000,
    doc: 'TCP (and TLS) connect timeout per Kafka broker',
  },
  kafkaRequestTimeoutMs: {
    env: 'RECSTREAM_KAFKA_REQUEST_TIMEOUT_MS',
    kind: 'int',
    min: 1,
    max: 600_000,
    default: 30_000,
    doc: 'Kafka request timeout, also the produce timeout',
  },
  schemaRegistryUrl: {
    env: 'RECSTREAM_SCHEMA_REGISTRY_URL',
    kind: 'url',
    default: undefined,
    doc: 'Confluent-compatible schema registry URL; unset uses the embedded registry',
  },
  redisUrl: {
    env: 'RECSTREAM_REDIS_URL',
    kind: 'url',
    default: undefined,
    doc: "Redis URL for the online store; unset serves from the processors' own stores",
  },
  redisKeyPrefix: {
    env: 'RECSTREAM_REDIS_KEY_PREFIX',
    kind: 'string',
    default: 'recstream',
    doc: 'prefix of every online-store key in Redis (several deployments can share one server)',
  },
  python: {
    env: 'RECSTREAM_PYTHON',
    kind: 'string',
    default: undefined,
    doc: 'trainer interpreter; unset: the first python3 that imports torch',
  },
  device: {
    env: 'RECSTREAM_DEVICE',
    kind: 'enum',
    values: ['auto', 'cpu', 'cuda'],
    default: 'auto',
    doc: 'training device',
  },
  httpPort: {
    env: 'RECSTREAM_HTTP_PORT',
    kind: 'int',
    min: 0,
    max: 65535,
    default: 8080,
    doc: 'responder HTTP port',
  },
  httpHost: {
    env: 'RECSTREAM_HTTP_HOST',
    kind: 'string',
    default: '127.0.0.1',
    doc: 'address the responder listens on; 0.0.0.0 for every interface (then credentials must be configured, or RECSTREAM_DATA_ENDPOINTS_OPEN=true)',
  },
  ingestMaxBodyBytes: {
    env: 'RECSTREAM_INGEST_MAX_BODY_BYTES',
    kind: 'int',
    min: 1024,
    max: 64 * 1024 * 1024,
    default: 1024 * 1024,
    doc: 'largest POST /v1/events body; larger gets 413',
  },
  ingestMaxInFlightEvents: {
    env: 'RECSTREAM_INGEST_MAX_IN_FLIGHT_EVENTS',
    kind: 'int',
    min: 1000,
    max: 10_000_000,
    default: 20_000,
    doc: 'events accepted but not yet acknowledged by the log before POST /v1/events answers 429',
  },
  ingestDedupWindowMs: {
    env: 'RECSTREAM_INGEST_DEDUP_WINDOW_MS',
    kind: 'int',
    min: 1000,
    max: 30 * 24 * 3600 * 1000,
    default: 24 * 3600 * 1000,
    doc: 'POST /v1/events remembers accepted event ids at least this long (at most twice) to drop resends',
  },
  serveMaxK: {
    env: 'RECSTREAM_SERVE_MAX_K',
    kind: 'int',
    min: 1,
    max: 1000,
    default: 100,
    doc: 'largest k GET /v1/recommendations accepts; a larger one gets 400',
  },
  serveCandidates: {
    env: 'RECSTREAM_SERVE_CANDIDATES',
    kind: 'int',
    min: 10,
    max: 5000,
    default: 100,
    doc: 'items retrieved from the ANN index per request (past the filters) for the ranker and the top k',
  },
  serveAnnExpansion: {
    env: 'RECSTREAM_SERVE_ANN_EXPANSION',
    kind: 'int',
    min: 16,
    max: 4096,
    default: 256,
    doc: "HNSW search expansion (usearch's expansion_search) of the served index: candidates kept while searching, at least the count asked; higher finds more of the exact top, slower",
  },
  serveAnnCopy: {
    env: 'RECSTREAM_SERVE_ANN_COPY',
    kind: 'enum',
    values: ['f16', 'f32'],
    default: 'f16',
    doc: "which copy of an index version responders search: f16 (its f16 copy where the indexer wrote one, else its f32 index) or f32; an i8 copy is never served, since usearch normalises vectors to convert them and it ranks by cosine, not the model's inner product",
  },
  serveItemFeaturesTtlMs: {
    env: 'RECSTREAM_SERVE_ITEM_FEATURES_TTL_MS',
    kind: 'int',
    min: 0,
    max: 600_000,
    default: 1000,
    doc: "how long a candidate's ranker item features, read from the online store, are reused (request time); 0 reads every candidate every time",
  },
  servePopularityRefreshMs: {
    env: 'RECSTREAM_SERVE_POPULARITY_REFRESH_MS',
    kind: 'int',
    min: 100,
    max: 3_600_000,
    default: 60_000,
    doc: 'pause between rebuilds of the popularity lists (cold-start, opted-out and fallback answers) from every item view; each rebuild is paced to a fifth of the request thread',
  },
  serveStoreTimeoutMs: {
    env: 'RECSTREAM_SERVE_STORE_TIMEOUT_MS',
    kind: 'int',
    min: 1,
    max: 10_000,
    default: 50,
    doc: 'longest wait for an online-store read before a request falls back to popularity',
  },
  serveRankerWeight: {
    env: 'RECSTREAM_SERVE_RANKER_WEIGHT',
    kind: 'float',
    min: 0,
    max: 100,
    default: 1,
    doc: "weight of the ranker's log click probability added to the retrieval score (0: retrieval order)",
  },
  serveMaxCategoryShare: {
    env: 'RECSTREAM_SERVE_MAX_CATEGORY_SHARE',
    kind: 'float',
    min: 0.01,
    max: 1,
    default: 0.5,
    doc: 'share of a page whose items may share their first category; further ones move down the list',
  },
  rateLimitPerSecond: {
    env: 'RECSTREAM_RATE_LIMIT_PER_S',
    kind: 'int',
    min: 0,
    max: 10_000_000,
    default: 6000,
    doc: 'requests per second one client (the subject of its credentials, else its address) may make to the responder; 0 turns the limit off',
  },
  adminRateLimitPerSecond: {
    env: 'RECSTREAM_ADMIN_RATE_LIMIT_PER_S',
    kind: 'int',
    min: 0,
    max: 10_000,
    default: 5,
    doc: 'requests per second one client may make to POST /admin/*, counted apart from the other routes; 0 turns the limit off',
  },
  trustProxy: {
    env: 'RECSTREAM_TRUST_PROXY',
    kind: 'trust-proxy',
    default: 'false',
    doc: "whose X-Forwarded-For names the client address the rate limit counts by: false (nobody's: the socket's peer is the client) or the trusted proxies' addresses and CIDR ranges, comma-separated (e.g. 10.0.0.0/8,127.0.0.1; also loopback, linklocal, uniquelocal)",
  },
  indexName: {
    env: 'RECSTREAM_INDEX_NAME',
    kind: 'string',
    default: 'items',
    doc: 'name of the ANN index the indexer builds and responders serve (the key of its rec.index-versions events)',
  },
  indexQuantization: {
    env: 'RECSTREAM_INDEX_QUANTIZATION',
    kind: 'enum',
    values: ['f16', 'i8', 'none'],
    default: 'f16',
    doc: 'quantised copy the indexer writes beside each full f32 index, with its recall@10 against exact search in the manifest (`recstream index --quantization` overrides); responders search an f16 copy (RECSTREAM_SERVE_ANN_COPY)',
  },
  jwtSecret: {
    env: 'RECSTREAM_JWT_SECRET',
    kind: 'string',
    default: undefined,
    doc: 'HS256 secret (32 bytes or more) of the bearer JWTs the responder accepts, their scope claim naming events:write, users:read and/or admin; with no secret, public key or API key the admin API is off',
  },
  jwtPublicKey: {
    env: 'RECSTREAM_JWT_PUBLIC_KEY',
    kind: 'string',
    default: undefined,
    doc: 'PEM public key (RS256 for RSA, ES256 for EC P-256) of the bearer JWTs the responder accepts',
  },
  apiKeys: {
    env: 'RECSTREAM_API_KEYS',
    kind: 'api-keys',
    default: undefined,
    doc: 'static API keys, sent as Authorization: ApiKey <key>: comma-separated name:scope+scope:sha256hex, the sha256 of each key in hex (printf %s "$KEY" | sha256sum), e.g. producer:events:write:9f86…',
  },
  dataEndpointsOpen: {
    env: 'RECSTREAM_DATA_ENDPOINTS_OPEN',
    kind: 'enum',
    values: ['true', 'false'],
    default: 'false',
    doc: 'true lets a responder on a non-loopback RECSTREAM_HTTP_HOST serve POST /v1/events and user histories to anyone when no credentials are configured; false refuses to start there',
  },
  featureLatenessMs: {
    env: 'RECSTREAM_FEATURE_LATENESS_MS',
    kind: 'int',
    min: 0,
    max: 7 * 24 * 3600 * 1000,
    default: 5 * 60 * 1000,
    doc: 'how late (event time) an interaction may arrive and still be placed exactly in the feature views',
  },
  dedupHorizonMs: {
    env: 'RECSTREAM_DEDUP_HORIZON_MS',
    kind: 'int',
    min: 3600 * 1000,
    max: 365 * 24 * 3600 * 1000,
    default: 7 * 24 * 3600 * 1000,
    doc: 'how long (event time, as each task has seen it advance) processors remember an event_id after it arrived, to drop its duplicates; kept in one-hour segments',
  },
  labelWindowMs: {
    env: 'RECSTREAM_LABEL_WINDOW_MS',
    kind: 'int',
    min: 1,
    max: 7 * 24 * 3600 * 1000,
    default: 30 * 60 * 1000,
    doc: 'how long after an impression (event time) a click-through still labels it clicked',
  },
  watermarkIntervalMs: {
    env: 'RECSTREAM_WATERMARK_INTERVAL_MS',
    kind: 'int',
    min: 1,
    max: 24 * 3600 * 1000,
    default: 5 * 60 * 1000,
    doc: 'event-time progress between watermarks user-features sends to every item-features task',
  },
  snapshotEveryExamples: {
    env: 'RECSTREAM_SNAPSHOT_EVERY_EXAMPLES',
    kind: 'int',
    min: 1,
    max: 100_000_000,
    default: 100_000,
    doc: 'the snapshotter closes a training snapshot of a partition after this many examples',
  },
  snapshotEveryMs: {
    env: 'RECSTREAM_SNAPSHOT_EVERY_MS',
    kind: 'int',
    min: 1,
    max: 365 * 24 * 3600 * 1000,
    default: 24 * 3600 * 1000,
    doc: 'the snapshotter closes a training snapshot of a partition once its examples span this much event time',
  },
  modelName: {
    env: 'RECSTREAM_MODEL_NAME',
    kind: 'string',
    default: 'recstream',
    doc: 'name of the model the trainer trains (the key of its rec.model-versions events)',
  },
  trainWindowDays: {
    env: 'RECSTREAM_TRAIN_WINDOW_DAYS',
    kind: 'int',
    min: 0,
    max: 3650,
    default: 0,
    doc: 'train on the last N days of event time of the snapshots; 0 trains on every snapshot',
  },
  trainMinNewExamples: {
    env: 'RECSTREAM_TRAIN_MIN_NEW_EXAMPLES',
    kind: 'int',
    min: 1,
    max: 1_000_000_000,
    default: 1,
    doc: 'the trainer retrains once new snapshots hold at least this many examples',
  },
  trainMinIntervalMs: {
    env: 'RECSTREAM_TRAIN_MIN_INTERVAL_MS',
    kind: 'int',
    min: 0,
    max: 30 * 24 * 3600 * 1000,
    default: 0,
    doc: 'the trainer retrains no sooner than this long (wall clock) after its newest version was made; 0: as soon as new snapshots come',
  },
  trainConfig: {
    env: 'RECSTREAM_TRAIN_CONFIG',
    kind: 'json',
    default: undefined,
    doc: 'JSON object of training-engine settings (models/README.md), e.g. {"epochs": 10}',
  },
  gatePopularityMargin: {
    env: 'RECSTREAM_GATE_POPULARITY_MARGIN',
    kind: 'float',
    min: 0,
    max: 1,
    default: 0,
    doc: 'a model is promoted only if its holdout Recall@20 is at least (1 - margin) x the popularity baseline',
  },
  gatePreviousMargin: {
    env: 'RECSTREAM_GATE_PREVIOUS_MARGIN',
    kind: 'float',
    min: 0,
    max: 1,
    default: 0.02,
    doc: "... and at least (1 - margin) x the promoted model's Recall@20, both scored on the holdout events after the last one the promoted model trained on (none: not compared)",
  },
  gateAllowUncompared: {
    env: 'RECSTREAM_GATE_ALLOW_UNCOMPARED',
    kind: 'enum',
    values: ['true', 'false'],
    default: 'false',
    doc: "true promotes a model whose comparison cannot run (the promoted model's artifacts do not verify or the engine could not score it, a baseline metric missing) instead of rejecting it; the version records gate_override: what was missing",
  },
  stateEngine: {
    env: 'RECSTREAM_STATE_ENGINE',
    kind: 'enum',
    values: ['rocksdb', 'memory'],
    default: 'rocksdb',
    doc: 'processor state engine; memory keeps nothing across restarts (restored from changelogs)',
  },
  commitIntervalMs: {
    env: 'RECSTREAM_COMMIT_INTERVAL_MS',
    kind: 'int',
    min: 1,
    max: 600_000,
    default: 100,
    doc: 'how often processors commit state + input offsets (Kafka Streams commit.interval.ms)',
  },
  commitIdleMs: {
    env: 'RECSTREAM_COMMIT_IDLE_MS',
    kind: 'int',
    min: 0,
    max: 600_000,
    default: 10,
    doc: 'a running processor commits early once its input has been idle this long with records uncommitted, so a lone event is visible within milliseconds; 0 waits for the commit interval',
  },
  partitions: {
    env: 'RECSTREAM_PARTITIONS',
    kind: 'int',
    min: 1,
    max: 1024,
    default: 4,
    doc: 'partitions for topics recstream creates',
  },
  logFsync: {
    env: 'RECSTREAM_LOG_FSYNC',
    kind: 'enum',
    values: ['never', 'always', 'interval'],
    default: 'interval',
    doc: 'embedded log fsync: every append, never (kill -9 safe, not power-loss safe) or every 1s',
  },
  otlpEndpoint: {
    env: 'RECSTREAM_OTLP_ENDPOINT',
    kind: 'url',
    default: undefined,
    doc: 'OpenTelemetry collector (OTLP/HTTP) base URL, e.g. http://127.0.0.1:4318, that traces are sent to (/v1/traces appended); wins over the OTEL_EXPORTER_OTLP_* variables. Tracing is off when none of the three is set',
  },
  otelTracesEndpoint: {
    env: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
    kind: 'url',
    default: undefined,
    doc: "OpenTelemetry's standard variable: the full OTLP/HTTP traces URL, used as is (e.g. http://collector:4318/v1/traces); wins over OTEL_EXPORTER_OTLP_ENDPOINT",
  },
  otelEndpoint: {
    env: 'OTEL_EXPORTER_OTLP_ENDPOINT',
    kind: 'url',
    default: undefined,
    doc: "OpenTelemetry's standard variable: the collector's OTLP/HTTP base URL (e.g. http://collector:4318), traces going to its /v1/traces",
  },
  otelServiceName: {
    env: 'OTEL_SERVICE_NAME',
    kind: 'string',
    default: 'recstream',
    doc: 'service.name of the spans recstream sends',
  },
  traceSampleRatio: {
    env: 'RECSTREAM_TRACE_SAMPLE_RATIO',
    kind: 'float',
    min: 0,
    max: 1,
    default: 1,
    doc: 'share of new traces recorded when tracing is on; a continued trace follows its traceparent',
  },
  logLevel: {
    env: 'RECSTREAM_LOG_LEVEL',
    kind: 'enum',
    values: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'],
    default: 'info',
    doc: 'pino log level',
  },
  logHashKey: {
    env: 'RECSTREAM_LOG_HASH_KEY',
    kind: 'string',
    default: undefined,
    doc: 'key of the HMAC that hashes user ids in logs and dead-letter messages: at least 32 characters, no white space (openssl rand -hex 32); set the same key on every process to correlate a user across them; unset: a random key per process',
  },
} as const satisfies Record<string, Setting>;

type Schema = typeof CONFIG_SCHEMA;
type ValueOf<S extends Setting> = S['kind'] extends 'int' | 'float'
  ? number
  : S['kind'] extends 'json'
    ? Readonly<Record<string, unknown>>
    : S['kind'] extends 'url-list'
      ? readonly string[]
      : S['kind'] extends 'api-keys'
        ? readonly ApiKeyEntry[]
        : S['kind'] extends 'trust-proxy'
          ? TrustProxy
          : S['kind'] extends 'enum'
            ? S extends { values: readonly (infer V)[] }
              ? V
              : string
            : string;
type Required<S extends Setting> = S['default'] extends undefined ? ValueOf<S> | undefined : ValueOf<S>;

/** The validated, frozen configuration. */
export type Config = { readonly [K in keyof Schema]: Required<Schema[K]> };

function parse(name: string, setting: Setting, raw: string): unknown {
  switch (setting.kind) {
    case 'int': {
      if (!/^-?\d+$/.test(raw.trim()))
        throw new ConfigError(`${setting.env}=${JSON.stringify(raw)} is not a whole number (${setting.doc})`);
      const n = Number(raw);
      if ((setting.min !== undefined && n < setting.min) || (setting.max !== undefined && n > setting.max)) {
        throw new ConfigError(`${setting.env}=${n} is out of range ${setting.min}..${setting.max}`);
      }
      return n;
    }
    case 'float': {
      const n = Number(raw.trim());
      if (raw.trim() === '' || !Number.isFinite(n))
        throw new ConfigError(`${setting.env}=${JSON.stringify(raw)} is not a number (${setting.doc})`);
      if ((setting.min !== undefined && n < setting.min) || (setting.max !== undefined && n > setting.max))
        throw new ConfigError(`${setting.env}=${n} is out of range ${setting.min}..${setting.max}`);
      return n;
    }
    case 'json': {
      let value: unknown;
      try {
        value = JSON.parse(raw);
      } catch (error) {
        throw new ConfigError(`${setting.env} is not valid JSON: ${(error as Error).message}`);
      }
      if (value === null || typeof value !== 'object' || Array.isArray(value))
        throw new ConfigError(`${setting.env} must be a JSON object, got ${JSON.stringify(raw)}`);
      return Object.freeze(value);
    }
    case 'enum':
      if (!setting.values!.includes(raw)) {
        throw new ConfigError(
          `${setting.env}=${JSON.stringify(raw)} must be one of ${setting.values!.join(', ')}`,
        );
      }
      return raw;
    case 'url-list': {
      const parts = raw
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean);
      if (parts.length === 0) throw new ConfigError(`${setting.env} is set but names no broker`);
      for (const p of parts) {
        if (!/^[A-Za-z0-9_.\-[\]:]+:\d+$/.test(p))
          throw new ConfigError(`${setting.env}: ${JSON.stringify(p)} is not host:port`);
      }
      return Object.freeze(parts);
    }
    case 'api-keys':
      return parseApiKeys(setting.env, raw);
    case 'trust-proxy':
      return parseTrustProxy(setting.env, raw);
    case 'url':
      try {
        new URL(raw);
      } catch {
        throw new ConfigError(`${setting.env}=${JSON.stringify(raw)} is not a URL`);
      }
      return raw;
    default:
      if (name === 'dataDir') return resolve(raw);
      return raw;
  }
}

/**
 * Reads every setting from `env` (overrides win over the environment, as a
 * command-line flag does), validates, and freezes.
 */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<Record<keyof Schema, string>> = {},
): Config {
  const out: Record<string, unknown> = {};
  for (const [name, setting] of Object.entries(CONFIG_SCHEMA) as [keyof Schema, Setting][]) {
    const raw = overrides[name] ?? env[setting.env];
    if (raw === undefined || raw === '') {
      // Defaults are written as the variable would be, so the kinds that build a value parse theirs too.
      out[name] =
        typeof setting.default === 'string' ? parse(name, setting, setting.default) : setting.default;
    } else {
      out[name] = parse(name, setting, raw);
    }
  }
  checkKafkaSecurity(out as Config);
  checkLogHashKey(out as Config);
  return Object.freeze(out) as Config;
}

/** Settings that only make sense together: SASL needs both credentials, a CA file needs TLS. */
function checkKafkaSecurity(config: Config): void {
  const sasl = config.kafkaSaslMechanism !== 'none';
  const env = (name: keyof Schema) => CONFIG_SCHEMA[name].env;
  if (sasl && (config.kafkaSaslUsername === undefined || config.kafkaSaslPassword === undefined))
    throw new ConfigError(
      `${env('kafkaSaslMechanism')}=${config.kafkaSaslMechanism} needs ${env('kafkaSaslUsername')} and ${env('kafkaSaslPassword')}`,
    );
  if (!sasl && (config.kafkaSaslUsername !== undefined || config.kafkaSaslPassword !== undefined))
    throw new ConfigError(
      `${env('kafkaSaslUsername')} / ${env('kafkaSaslPassword')} are set but ${env('kafkaSaslMechanism')} is none; name the mechanism (plain, scram-sha-256, scram-sha-512)`,
    );
  if (config.kafkaTlsCaFile !== undefined && config.kafkaTls !== 'true')
    throw new ConfigError(`${env('kafkaTlsCaFile')} is set but ${env('kafkaTls')} is not true`);
}

/** A log hash key is checked at start, not at the first hashed id. */
function checkLogHashKey(config: Config): void {
  if (config.logHashKey === undefined) return;
  const problem = logHashKeyProblem(config.logHashKey);
  if (problem !== undefined) throw new ConfigError(problem);
}

/** One line per setting, for `--help`. */
export function describeConfig(): string {
  return Object.values(CONFIG_SCHEMA)
    .map(
      (s: Setting) =>
        `  ${s.env.padEnd(32)} ${s.doc}${s.default === undefined ? '' : ` (default ${s.default})`}`,
    )
    .join('\n');
}
