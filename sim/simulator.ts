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
import { Behaviour } from './behaviour.js';
import { EventStream, type SimRecord } from './event-stream.js';
import type { SimulationOptions } from './options.js';
import { Rng, STREAM } from './random.js';
import { COUNTRIES } from './vocabulary.js';
import { World } from './world.js';

/** Visits sampled up front to learn how many events a visit makes, which sets the visit rate. */
const CALIBRATION_SESSIONS = 1500;

export class Simulator {
  readonly world: World;
  /** Prefix of event and session ids: `sim-<first 8 hex of sha256(options)>-`. */
  readonly idPrefix: string;
  /** Mean interaction events per visit, measured on sample visits with their own generator. */
  readonly meanEventsPerSession: number;

  constructor(options: SimulationOptions | World = {}) {
    this.world = options instanceof World ? options : new World(options);
    const o = this.world.options;
    const digest = createHash('sha256')
      .update(JSON.stringify([o.seed, o.users, o.items, o.events, o.days, o.start, o.rate ?? null, o.dims]))
      .digest('hex');
    this.idPrefix = `sim-${digest.slice(0, 8)}-`;
    this.meanEventsPerSession = this.calibrate();
  }

  /** A fresh pass over the simulation; every pass yields the same records. */
  stream(): EventStream {
    return new EventStream(this.world, this.idPrefix, this.meanEventsPerSession);
  }

  /** The same records as `stream()`, each a separate object (for tests and tools; slower). */
  *records(): Generator<SimRecord> {
    const stream = this.stream();
    for (let r = stream.next(); r !== undefined; r = stream.next()) yield { ...r };
  }

  /** Mean events per visit over sample visits in mid-span, drawn with a generator of their own. */
  private calibrate(): number {
    const world = this.world;
    const { population, options } = world;
    const rng = Rng.derive(options.seed, STREAM.calibration);
    const behaviour = new Behaviour(world, rng, 'calibration-');
    const t = Math.round(options.start + options.spanMs / 2);
    const shares = COUNTRIES.map((c, i) => (population.byCountry[i] === undefined ? 0 : c.share));
    let events = 0;
    for (let n = 0; n < CALIBRATION_SESSIONS; n++) {
      const user = population.byCountry[rng.pick(shares)]!.sample(rng);
      const session = behaviour.startSession(n, user, t);
      while (!Number.isNaN(session.nextRequestTs)) {
        behaviour.request(session, session.nextRequestTs);
        events += session.queue.length;
        session.queue.length = 0;
      }
    }
    return Math.max(1, events / CALIBRATION_SESSIONS);
  }
}
