/**
 * The index registry is the `rec.index-versions` topic, folded like the
 * model registry (./version-fold.ts): per index name, its versions in
 * order. A `full` version indexes every available catalog item of one
 * model version; a `delta` names its full `base_version` and carries every
 * item added, changed or removed since that base (cumulative, so a reader
 * applies only the newest delta of its base).
 *
 * @example
 * ```ts
 * const indexes = await IndexRegistry.load(log, serde);
 * const full = indexes.fullFor('items', 'recstream', 3);
 * const delta = full && indexes.latestDelta('items', full.version);
 * ```
 */
import type { EventLog } from '../runtime/log/log.js';
import type { Producer } from '../runtime/producer/producer.js';
import type { Serde } from '../runtime/serde/serde.js';
import type { IndexVersion } from '../schemas/generated/types.js';
import { INDEX_VERSIONS_TOPIC } from '../schemas/topics.js';
import { foldTopic, VersionFold } from './version-fold.js';

export class IndexRegistry {
  private readonly fold = new VersionFold<IndexVersion>((event) => event.index, 'first');

  static async load(log: EventLog, serde: Serde): Promise<IndexRegistry> {
    const registry = new IndexRegistry();
    await foldTopic(log, serde, INDEX_VERSIONS_TOPIC, 'rec.index-versions-value', (event) =>
      registry.apply(event),
    );
    return registry;
  }

  /** Folds one event in; an index version is published once, so a repeat of its number is ignored. */
  apply(event: IndexVersion): void {
    this.fold.apply(event);
  }

  /** Every version of an index, in the order they were published. */
  versions(index: string): readonly IndexVersion[] {
    return this.fold.versions(index);
  }

  nextVersion(index: string): number {
    return this.fold.nextVersion(index);
  }

  /** The newest full index built for a model version. */
  fullFor(index: string, model: string, modelVersion: number): IndexVersion | undefined {
    return this.versions(index)
      .filter((v) => v.kind === 'full' && v.model === model && v.model_version === modelVersion)
      .at(-1);
  }

  /** The newest delta of a full version. */
  latestDelta(index: string, baseVersion: number): IndexVersion | undefined {
    return this.versions(index)
      .filter((v) => v.kind === 'delta' && v.base_version === baseVersion)
      .at(-1);
  }
}

export async function publishIndexVersion(producer: Producer, event: IndexVersion): Promise<void> {
  await producer.deliver(INDEX_VERSIONS_TOPIC, [{ value: event }]);
}
