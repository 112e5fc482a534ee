/**
 * The model registry is the `rec.model-versions` topic: every
 * change is a `ModelVersion` event, nothing is edited in place, and the
 * registry's state is a fold over the events in order (./version-fold.ts).
 *
 * - A version's status is the status of its newest event.
 * - The **promoted** version of a model is the version of its newest
 *   `promoted` event, unless a newer event took that version out
 *   (`rolled_back`); then no version is promoted until the next `promoted`
 *   event. `rollback` therefore publishes two events: the current version
 *   `rolled_back`, then its predecessor `promoted` again.
 * - Version numbers grow by one per model; a version number exists once an
 *   event names it (artifacts stored by an attempt that never published are
 *   not a version, and the number is used again).
 *
 * Responders fold the same events, so a promotion or rollback reaches every
 * replica the same way.
 *
 * @example
 * ```ts
 * const registry = await ModelRegistry.load(log, serde);
 * registry.promoted('recstream')?.version;
 * await publishModelVersion(producer, { ...registry.get('recstream', 3)!, status: 'promoted', status_ts: Date.now() });
 * ```
 */
import type { EventLog } from '../runtime/log/log.js';
import type { Platform } from '../runtime/platform.js';
import type { Producer } from '../runtime/producer/producer.js';
import type { Serde } from '../runtime/serde/serde.js';
import type { ModelVersion } from '../schemas/generated/types.js';
import { MODEL_VERSIONS_TOPIC } from '../schemas/topics.js';
import { publishInOrder } from './publish-in-order.js';
import { foldTopic, VersionFold } from './version-fold.js';

export class ModelRegistry {
  private readonly fold = new VersionFold<ModelVersion>((event) => event.model, 'newest');
  private readonly promotedVersion = new Map<string, number | undefined>();
  /** Versions in the order they were promoted, newest last, per model (what a rollback returns to). */
  private readonly promotions = new Map<string, number[]>();

  static async load(log: EventLog, serde: Serde): Promise<ModelRegistry> {
    const registry = new ModelRegistry();
    await foldTopic(log, serde, MODEL_VERSIONS_TOPIC, 'rec.model-versions-value', (event) =>
      registry.apply(event),
    );
    return registry;
  }

  /** Folds one event in. */
  apply(event: ModelVersion): void {
    this.fold.apply(event);
    const promotions = this.promotions.get(event.model) ?? [];
    this.promotions.set(event.model, promotions);
    if (event.status === 'promoted') {
      this.promotedVersion.set(event.model, event.version);
      const at = promotions.indexOf(event.version);
      if (at >= 0) promotions.splice(at, 1);
      promotions.push(event.version);
    } else if (this.promotedVersion.get(event.model) === event.version) {
      this.promotedVersion.set(event.model, undefined);
    }
    if (event.status === 'rolled_back') {
      const at = promotions.indexOf(event.version);
      if (at >= 0) promotions.splice(at, 1);
    }
  }

  /** The newest event of a version. */
  get(model: string, version: number): ModelVersion | undefined {
    return this.fold.get(model, version);
  }

  /** Every version of a model, newest event each, by version number. */
  versions(model: string): ModelVersion[] {
    return this.fold.versions(model).sort((a, b) => a.version - b.version);
  }

  models(): string[] {
    return this.fold.names();
  }

  promoted(model: string): ModelVersion | undefined {
    const version = this.promotedVersion.get(model);
    return version === undefined ? undefined : this.get(model, version);
  }

  /** The version a rollback returns to: the one promoted before the current one and not rolled back since. */
  rollbackTarget(model: string): ModelVersion | undefined {
    const promotions = this.promotions.get(model) ?? [];
    const current = this.promotedVersion.get(model);
    const candidates = promotions.filter((v) => v !== current);
    const version = candidates[candidates.length - 1];
    return version === undefined ? undefined : this.get(model, version);
  }

  nextVersion(model: string): number {
    return this.fold.nextVersion(model);
  }

  /** Every event in the order it was applied. */
  events(): readonly ModelVersion[] {
    return this.fold.events();
  }
}

/**
 * Publishes `events` in order through a producer of its own (promotion and
 * rollback by hand, the admin API) and waits until the log acknowledged
 * each one.
 */
export async function publishModelVersions(
  platform: Platform,
  events: readonly ModelVersion[],
): Promise<void> {
  await publishInOrder(platform, MODEL_VERSIONS_TOPIC, events);
}

/** Publishes a `ModelVersion` event and waits until the log acknowledged it. */
export async function publishModelVersion(producer: Producer, event: ModelVersion): Promise<void> {
  await producer.deliver(MODEL_VERSIONS_TOPIC, [{ value: event }]);
}
