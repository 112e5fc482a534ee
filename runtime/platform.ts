/**
 * Opens the back-ends the configuration selects: the event
 * log (embedded or Kafka), the schema registry (embedded or Confluent REST)
 * and the serde over it. Processors and commands get a `Platform` and never
 * know which back-end runs under them.
 *
 * @example
 * ```ts
 * const platform = await openPlatform(loadConfig());
 * try { await platform.log.append('rec.items', records); } finally { await platform.close(); }
 * ```
 */
import { join } from 'node:path';
import type { Config } from './config.js';
import { EmbeddedLog } from './log/embedded/embedded-log.js';
import { lockHolder } from './log/embedded/lock.js';
import type { EventLog } from './log/log.js';
import { createLogger, type Logger } from './observability/logger.js';
import { Registry } from './observability/metrics.js';
import { flushTracing, otlpTracesUrl, startTracingFromConfig } from './observability/tracing.js';
import { useLogHashKey } from './observability/user-hash.js';
import { openSchemaRegistry } from './registry/open.js';
import type { SchemaRegistry } from './registry/registry.js';
import { type DataContract, Serde } from './serde/serde.js';

export interface Platform {
  readonly config: Config;
  readonly log: EventLog;
  readonly registry: SchemaRegistry;
  readonly serde: Serde;
  readonly logger: Logger;
  readonly metrics: Registry;
  /** Where a processor application keeps its task state. */
  stateDir(applicationId: string): string;
  close(): Promise<void>;
}

const FSYNC_MODES = { always: 'always', never: 'never', interval: 1000 } as const;

export interface PlatformOptions {
  readonly logger?: Logger;
  /**
   * For tools that only look (`recstream topics`, `recstream dlq list`): the
   * embedded log opens read-only beside a running process instead of taking
   * its lock, the embedded registry writes nothing, and the serde never
   * registers a schema. Writing through such a platform fails. The Kafka
   * back-end needs no such mode.
   */
  readonly readOnly?: boolean;
  /**
   * For commands that may run beside a `recstream demo`, `up`, `serve` or
   * `process` (`experiments start`, `models promote`, `describe`): when
   * another live process holds the embedded log, open as `readOnly` does,
   * but hand appends to that process (runtime/log/embedded/append-spool.ts)
   * rather than fail on its lock. With no such process the platform opens
   * for writing as usual. The embedded registry is not the log's: several
   * processes may write it (a file lock), so schemas register as usual.
   */
  readonly besideHolder?: boolean;
  /** The application's shipped schemas and topics, which the serde and its producers use (default: none). */
  readonly contract?: DataContract;
  /**
   * A log another thread owns (a stream thread's `PortLog`), used instead of
   * opening one. The owner has registered every schema its topologies use,
   * so the registry opens read-only and the serde registers nothing.
   */
  readonly log?: EventLog;
}

/**
 * Opens the log, the schema registry and the serde the configuration names;
 * `close()` closes the log, then the registry, and flushes traces.
 *
 * @example
 * ```ts
 * const platform = await openPlatform(loadConfig(), { readOnly: true });
 * try { console.log(await platform.log.topics()); } finally { await platform.close(); }
 * ```
 */
export async function openPlatform(config: Config, options: PlatformOptions = {}): Promise<Platform> {
  // Before anything can log a user: the key every hashed id in this process (and its workers) uses.
  useLogHashKey(config.logHashKey);
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const beside =
    options.besideHolder === true &&
    !config.kafkaBrokers &&
    options.log === undefined &&
    lockHolder(join(config.dataDir, 'log')) !== undefined;
  const readOnly = options.readOnly ?? false;
  // An OTLP endpoint configured: the SDK starts once per process, before any producer or runner is made.
  if (!readOnly && (await startTracingFromConfig(config)))
    logger.debug({ endpoint: otlpTracesUrl(config) }, 'tracing to OTLP');
  const log = options.log ?? (await openLog(config, logger, readOnly || beside, beside));
  const registryReadOnly = readOnly || options.log !== undefined;
  let registry: SchemaRegistry;
  try {
    registry = await openSchemaRegistry({
      dataDir: config.dataDir,
      url: config.schemaRegistryUrl,
      readOnly: registryReadOnly,
    });
  } catch (error) {
    await log.close();
    throw error;
  }
  return {
    config,
    log,
    registry,
    serde: new Serde(registry, {
      autoRegister: !registryReadOnly,
      ...(options.contract === undefined ? {} : { contract: options.contract }),
    }),
    logger,
    metrics: new Registry(),
    stateDir: (applicationId) => join(config.dataDir, 'state', applicationId),
    close: async () => {
      await log.close();
      await registry.close();
      await flushTracing();
    },
  };
}

async function openLog(
  config: Config,
  logger: Logger,
  readOnly: boolean,
  appendThroughOwner: boolean,
): Promise<EventLog> {
  if (config.kafkaBrokers) {
    const { KafkaLog } = await import('./log/kafka/kafka-log.js');
    const { kafkaLogOptions } = await import('./log/kafka/client-config.js');
    return new KafkaLog(await kafkaLogOptions(config, logger));
  }
  return EmbeddedLog.open(join(config.dataDir, 'log'), {
    fsync: FSYNC_MODES[config.logFsync],
    logger,
    readOnly,
    appendThroughOwner,
  });
}
