/**
 * The synthetic agent engine: a `World` (catalog, users, tastes, rhythm)
 * and the stream of `rec.items`, `rec.users` and `rec.interactions` records
 * its agents produce, in event-time order (see event-stream.ts for how).
 *
 * Event ids are `sim-<options hash>-e<n>` and session ids
 * `sim-<options hash>-s<n>`: the same options give the same ids (a re-run is
 * a duplicate readers drop), other options give other ids.
 *
 * @example
 * ```ts
 * const sim = new Simulator({ seed: 7, users: 1000, items: 200, events: 10_000 });
 * const stream = sim.stream();
 * for (let r = stream.next(); r !== undefined; r = stream.next()) {
 *   if (r.topic === 'rec.interactions') console.log(r.value.type);
 * }
 * ```
 */
import { createHash } from 'node:crypto';
import { INTERACTIONS_TOPIC } from '../schemas/topics.js';
import { Calibration } from './calibration.js';
import { EventStream, type LiveAnchor, type SimRecord } from './event-stream.js';
import type { ResolvedSimulation, SimulationOptions } from './options.js';
import { World } from './world.js';

export class Simulator {
  readonly world: World;
  /** Prefix of event and session ids: `sim-<first 8 hex of sha256(options)>-`. */
  readonly idPrefix: string;
  /** What sample visits say about visits: events per visit, their spread over a visit's life. */
  readonly calibration: Calibration;

  constructor(options: SimulationOptions | World = {}) {
    this.world = options instanceof World ? options : new World(options);
    this.idPrefix = idPrefixOf(this.world.options);
    this.calibration = new Calibration(this.world);
  }

  /**
   * A fresh pass over the simulation; every pass yields the same records
   * (with a live anchor, the same records moved to the anchor's clock from
   * its interaction on).
   */
  stream(anchor?: LiveAnchor): EventStream {
    return new EventStream(this.world, this.idPrefix, this.calibration, anchor);
  }

  /**
   * Event time of the span's last interaction (one pass over its events):
   * `now - historyEnd()` as a live anchor's `shift` makes the history end now.
   */
  historyEnd(): number {
    const { events, start } = this.world.options;
    const stream = this.stream();
    let last = start;
    for (let r = stream.next(); r !== undefined && stream.emitted <= events; r = stream.next()) {
      if (r.topic === INTERACTIONS_TOPIC) last = r.ts;
      if (stream.emitted === events) break;
    }
    return last;
  }

  /** The same records as `stream()`, each a separate object (for tests and tools; slower). */
  *records(): Generator<SimRecord> {
    const stream = this.stream();
    for (let r = stream.next(); r !== undefined; r = stream.next()) yield { ...r };
  }
}

/** `sim-<first 8 hex of sha256(options)>-`: the prefix of a simulation's event and session ids. */
export function idPrefixOf(o: ResolvedSimulation): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([o.seed, o.users, o.items, o.events, o.days, o.start, o.rate ?? null, o.dims]))
    .digest('hex');
  return `sim-${digest.slice(0, 8)}-`;
}
