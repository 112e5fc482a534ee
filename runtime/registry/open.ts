/**
 * Picks the schema registry back-end from configuration, so nothing else
 * needs to know which one runs: a registry URL (RECSTREAM_SCHEMA_REGISTRY_URL)
 * selects the Confluent-compatible client, no URL the embedded registry in
 * the data dir.
 *
 * @example
 * ```ts
 * const registry = await openSchemaRegistry({
 *   dataDir: process.env.RECSTREAM_DATA_DIR ?? './data',
 *   url: process.env.RECSTREAM_SCHEMA_REGISTRY_URL,
 * });
 * ```
 */
import { openConfluentRegistry } from './confluent/confluent-registry.js';
import { openEmbeddedRegistry } from './embedded/embedded-registry.js';
import type { SchemaRegistry } from './registry.js';

export interface SchemaRegistryConfig {
  /** Where the embedded registry keeps its file (`<dataDir>/registry/`). */
  readonly dataDir: string;
  /** A Confluent-compatible registry's URL; unset or empty selects the embedded registry. */
  readonly url?: string | undefined;
  /** Only read: the embedded registry then writes nothing (see EmbeddedRegistryOptions); a remote registry is unaffected. */
  readonly readOnly?: boolean;
}

export async function openSchemaRegistry(config: SchemaRegistryConfig): Promise<SchemaRegistry> {
  if (config.url !== undefined && config.url !== '') return openConfluentRegistry({ url: config.url });
  return openEmbeddedRegistry({ dataDir: config.dataDir, readOnly: config.readOnly ?? false });
}
