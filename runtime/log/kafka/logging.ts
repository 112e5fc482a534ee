/**
 * Where the Kafka back-end logs, and the bridge that routes kafkajs' own log
 * lines there. Any pino logger fits `KafkaLogLogger`.
 *
 * kafkajs logs every failed request at ERROR from its connection layer; the
 * same failure is thrown to our caller (mapped to a recstream error), so those
 * lines are demoted to debug instead of reporting one failure twice. Its INFO
 * lines (joins, rebalances) are routine and go to debug as well.
 *
 * @example
 * ```ts
 * const log = new KafkaLog({ brokers: ['kafka:9092'], logger: createLogger({ name: 'log' }) });
 * ```
 */
import kafkajs, { type logCreator } from 'kafkajs';

/** The log sink of `KafkaLog`: structured fields first, then the message (pino's argument order). */
export interface KafkaLogLogger {
  error(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  debug(fields: Record<string, unknown>, message: string): void;
}

/** Default sink: warnings and errors as JSON lines on stderr, nothing else. */
export const stderrLogger: KafkaLogLogger = {
  error(fields, message) {
    process.stderr.write(
      `${JSON.stringify({ level: 'error', time: Date.now(), component: 'kafka-log', ...fields, msg: message })}\n`,
    );
  },
  warn(fields, message) {
    process.stderr.write(
      `${JSON.stringify({ level: 'warn', time: Date.now(), component: 'kafka-log', ...fields, msg: message })}\n`,
    );
  },
  info() {},
  debug() {},
};

/** A kafkajs `logCreator` writing to `logger`. */
export function kafkajsLogCreator(logger: KafkaLogLogger): logCreator {
  const { logLevel } = kafkajs;
  return () =>
    ({ namespace, level, log }) => {
      const { message, ...fields } = log;
      const entry = { kafkajs: namespace, ...fields };
      if (level === logLevel.ERROR && namespace !== 'Connection') logger.error(entry, message);
      else if (level === logLevel.WARN) logger.warn(entry, message);
      else logger.debug(entry, message);
    };
}
