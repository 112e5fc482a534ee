/**
 * The KafkaLog options the platform's configuration asks for: brokers,
 * client id, idempotence, SASL, TLS (with the CA file read here) and the
 * connection and request timeouts.
 *
 * @example
 * ```ts
 * const log = new KafkaLog(await kafkaLogOptions(loadConfig(), logger));
 * ```
 */
import { readFile } from 'node:fs/promises';
import { CONFIG_SCHEMA, type Config } from '../../config.js';
import { ConfigError } from '../../errors.js';
import type { KafkaLogOptions } from './kafka-log.js';
import type { KafkaLogLogger } from './logging.js';

/** @throws ConfigError when Kafka is not configured or the CA file cannot be read */
export async function kafkaLogOptions(config: Config, logger?: KafkaLogLogger): Promise<KafkaLogOptions> {
  if (config.kafkaBrokers === undefined)
    throw new ConfigError(`${CONFIG_SCHEMA.kafkaBrokers.env} is not set`);
  const options: KafkaLogOptions = {
    brokers: [...config.kafkaBrokers],
    clientId: config.kafkaClientId,
    idempotent: config.kafkaIdempotent === 'true',
    connectionTimeoutMs: config.kafkaConnectionTimeoutMs,
    requestTimeoutMs: config.kafkaRequestTimeoutMs,
    maxRequestBytes: config.kafkaMaxRequestBytes,
    ...(logger === undefined ? {} : { logger }),
  };
  const sasl =
    config.kafkaSaslMechanism === 'none'
      ? {}
      : {
          sasl: {
            mechanism: config.kafkaSaslMechanism,
            username: config.kafkaSaslUsername ?? '',
            password: config.kafkaSaslPassword ?? '',
          },
        };
  if (config.kafkaTls !== 'true') return { ...options, ...sasl };
  if (config.kafkaTlsCaFile === undefined) return { ...options, ...sasl, tls: true };
  let ca: string;
  try {
    ca = await readFile(config.kafkaTlsCaFile, 'utf8');
  } catch (error) {
    throw new ConfigError(
      `${CONFIG_SCHEMA.kafkaTlsCaFile.env}=${config.kafkaTlsCaFile} cannot be read: ${(error as Error).message}`,
    );
  }
  return { ...options, ...sasl, tls: { ca } };
}
