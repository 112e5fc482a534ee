/**
 * The fold both registries share: a registry topic holds versioned events
 * (`rec.model-versions`, `rec.index-versions`), nothing is edited in place,
 * and a registry's state is these events folded in log order, per name (a
 * model, an index), per version number.
 *
 * What a repeated version means differs, so the caller says which event of
 * a version is kept:
 * - `newest`: each event is the version's new status (a model version goes
 *   `candidate` → `promoted` → `rolled_back`), so the newest wins;
 * - `first`: a version is published once and never changes (an index
 *   version names its files), so a later event for the same number is a
 *   duplicate and the first one stands.
 *
 * @example
 * ```ts
 * const fold = new VersionFold<ModelVersion>((e) => e.model, 'newest');
 * await foldTopic(log, serde, MODEL_VERSIONS_TOPIC, 'rec.model-versions-value', (e) => fold.apply(e));
 * fold.nextVersion('recstream'); // one past the highest version any event named
 * ```
 */
import type { EventLog } from '../runtime/log/log.js';
import type { Serde, ValueOf } from '../runtime/serde/serde.js';
import { readTopic } from './topic-reader.js';

/** What a registry event has at least: a version number of its name. */
export interface VersionEvent {
  readonly version: number;
}

/** Which event of a version a fold keeps when more than one names it. */
export type RepeatedVersion = 'newest' | 'first';

/** Versioned events folded per name and version number, keeping the event `repeated` says. */
export class VersionFold<E extends VersionEvent> {
  private readonly byName = new Map<string, Map<number, E>>();
  private readonly history: E[] = [];

  /**
   * @param nameOf - the name an event versions (its model, its index)
   * @param repeated - which event of a version is kept
   */
  constructor(
    private readonly nameOf: (event: E) => string,
    private readonly repeated: RepeatedVersion,
  ) {}

  /** Folds one event in; false when it repeats a version kept from its first event (nothing changed). */
  apply(event: E): boolean {
    this.history.push(event);
    const name = this.nameOf(event);
    let versions = this.byName.get(name);
    if (!versions) {
      versions = new Map();
      this.byName.set(name, versions);
    }
    if (this.repeated === 'first' && versions.has(event.version)) return false;
    versions.set(event.version, event);
    return true;
  }

  /** The kept event of a version. */
  get(name: string, version: number): E | undefined {
    return this.byName.get(name)?.get(version);
  }

  /** The kept event of every version of a name, in the order each version first appeared. */
  versions(name: string): E[] {
    return [...(this.byName.get(name)?.values() ?? [])];
  }

  /** Every name an event named, sorted. */
  names(): string[] {
    return [...this.byName.keys()].sort();
  }

  /** One past the highest version of a name; 1 for a name no event named. */
  nextVersion(name: string): number {
    let highest = 0;
    for (const version of this.byName.get(name)?.keys() ?? []) highest = Math.max(highest, version);
    return highest + 1;
  }

  /** Every event in the order it was applied. */
  events(): readonly E[] {
    return this.history;
  }
}

/**
 * Decodes every record of a registry topic with `subject`'s schema and
 * hands each value to `apply`, in log order; nothing when the topic does
 * not exist yet (no version was ever published).
 */
export async function foldTopic<S extends string>(
  log: EventLog,
  serde: Serde,
  topic: string,
  subject: S,
  apply: (event: ValueOf<S>) => void,
): Promise<void> {
  if (!(await log.describeTopic(topic))) return;
  const decoder = await serde.decoder(subject);
  for await (const record of readTopic(log, topic))
    if (record.value !== null) apply(await decoder.decode(record.value));
}
