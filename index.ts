/**
 * The `recstream` package entry: what other services import.
 *
 * @example
 * ```ts
 * import { createProducer, loadConfig, openPlatform } from 'recstream';
 * const platform = await openPlatform(loadConfig());
 * const producer = createProducer({ log: platform.log, serde: platform.serde });
 * ```
 */
// The shipped subjects' value types, merged into the runtime's serde and producer types.
import './schemas/value-types.js';

export type { Config } from './runtime/config.js';
export { loadConfig } from './runtime/config.js';
export {
  BufferFullError,
  DeliveryTimeoutError,
  isRetriable,
  ProducerError,
  RecstreamError,
  SchemaValidationError,
} from './runtime/errors.js';
export type { Platform } from './runtime/platform.js';
export type {
  DeliveredRecord,
  DeliverOptions,
  DeliveryReport,
  Producer,
  ProducerOptions,
  ProducerRecord,
  TopicValue,
} from './runtime/producer/producer.js';
export { createProducer } from './runtime/producer/producer.js';
export type * from './schemas/generated/types.js';
export { openPlatform } from './schemas/platform.js';
