/**
 * The platform as every recstream process opens it: the runtime's platform
 * with the platform's data contract, the Avro schemas shipped in this
 * folder and the topic catalogue (./topics.ts), so its serde reads and
 * writes the `rec.*` subjects and its producers key, timestamp and create
 * the `rec.*` topics as declared. `Platform` and `PlatformOptions` are the
 * runtime's.
 *
 * @example
 * ```ts
 * const platform = await openPlatform(loadConfig());
 * const serde = platformSerde(registry); // a serde of its own over another registry
 * ```
 */
import type { Config } from '../runtime/config.js';
import {
  openPlatform as openRuntimePlatform,
  type Platform,
  type PlatformOptions,
} from '../runtime/platform.js';
import type { SchemaRegistry } from '../runtime/registry/registry.js';
import type { SchemaSource } from '../runtime/serde/avro.js';
import { type DataContract, Serde, type SerdeOptions } from '../runtime/serde/serde.js';
import { isShippedSubject, loadSchema } from './index.js';
import { PLATFORM_TOPICS } from './topics.js';

export type { Platform, PlatformOptions };

/** The shipped schemas (newest version of each subject) and the platform's topics. */
export const PLATFORM_CONTRACT: DataContract = {
  schema: (subject) => (isShippedSubject(subject) ? (loadSchema(subject) as SchemaSource) : undefined),
  topics: PLATFORM_TOPICS,
};

/** Opens the log, registry and serde the configuration names, with the platform's contract. */
export function openPlatform(
  config: Config,
  options: Omit<PlatformOptions, 'contract'> = {},
): Promise<Platform> {
  return openRuntimePlatform(config, { ...options, contract: PLATFORM_CONTRACT });
}

/** A serde over `registry` with the platform's contract. */
export function platformSerde(registry: SchemaRegistry, options: Omit<SerdeOptions, 'contract'> = {}): Serde {
  return new Serde(registry, { ...options, contract: PLATFORM_CONTRACT });
}
