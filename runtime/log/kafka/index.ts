/**
 * The Kafka back-end of the event log port.
 *
 * @example
 * ```ts
 * import { KafkaLog } from './runtime/log/kafka/index.js';
 * const log = new KafkaLog({ brokers: process.env.RECSTREAM_KAFKA_BROKERS!.split(',') });
 * ```
 */

export type { KafkaLogConsumer } from './consumer.js';
export { kafkaError } from './errors.js';
export type { ConsumerSettings } from './group-member.js';
export { KafkaLog, type KafkaLogOptions } from './kafka-log.js';
export type { KafkaLogLogger } from './logging.js';
