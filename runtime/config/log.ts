/**
 * Settings of where the events live: the data directory (the embedded log,
 * registry, state and artifacts), or Kafka brokers with their client,
 * security and timeouts and a schema registry; and the check of the Kafka
 * security settings that only make sense together.
 *
 * @example
 * ```ts
 * LOG_SETTINGS.kafkaBrokers.env; // 'RECSTREAM_KAFKA_BROKERS'
 * ```
 */
import { ConfigError } from '../errors.js';
import type { Setting, ValuesOf } from './setting.js';

/** The data directory, and the Kafka brokers and schema registry used instead of the embedded log. */
export const LOG_SETTINGS = {
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
} as const satisfies Record<string, Setting>;

/** Settings that only make sense together: SASL needs both credentials, a CA file needs TLS. */
export function checkKafkaSecurity(config: ValuesOf<typeof LOG_SETTINGS>): void {
  const sasl = config.kafkaSaslMechanism !== 'none';
  const env = (name: keyof typeof LOG_SETTINGS) => LOG_SETTINGS[name].env;
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
