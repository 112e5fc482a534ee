/**
 * What sample visits say about visits in general, measured once per
 * simulation with a generator of its own: how many events a visit makes
 * (which sets how often visits start, for a given event rate), and how a
 * visit's events spread over its lifetime.
 *
 * The second matters at the start of a stream. Visits last up to hours
 * (films are long), so a stream that starts with nobody online would reach
 * its event rate only hours later; on the real clock that is hours of a
 * trickle. `rampBoost(age)` is the factor by which visits must start more
 * often at that age of the stream for the expected event rate to be right
 * from the first second: 1 / F(age), F being the share of a visit's events
 * that come within `age` of its start.
 *
 * @example
 * ```ts
 * const calibration = new Calibration(world);
 * calibration.meanEventsPerSession; // e.g. 26.3
 * calibration.rampBoost(0);         // e.g. 4.1: only a quarter of a visit's events come at once
 * ```
 */

import { Rng } from '../lib/random.js';
import { Behaviour } from './behaviour.js';
import { STREAM } from './streams.js';
import { COUNTRIES } from './vocabulary.js';
import type { World } from './world.js';

/** Visits sampled. */
const SESSIONS = 1500;
/** Resolution of the event-age distribution. */
const QUANTILES = 256;
/** The boost ends once this share of a visit's events would have come. */
const RAMP_DONE = 0.99;

export class Calibration {
  readonly meanEventsPerSession: number;
  /** Age (ms since its visit started) of the events at each of QUANTILES evenly spaced quantiles. */
  private readonly ages: Float64Array;
  /** Age after which no boost applies. */
  readonly rampMs: number;
  /** The largest boost, at age 0. */
  readonly maxBoost: number;

  constructor(world: World) {
    const { population, options } = world;
    const rng = Rng.derive(options.seed, STREAM.calibration);
    const behaviour = new Behaviour(world, rng, 'calibration-');
    const t = Math.round(options.start + options.spanMs / 2);
    const shares = COUNTRIES.map((c, i) => (population.byCountry[i] === undefined ? 0 : c.share));
    const ages: number[] = [];
    for (let n = 0; n < SESSIONS; n++) {
      const user = population.byCountry[rng.pick(shares)]!.sample(rng);
      const session = behaviour.startSession(n, user, t);
      while (!Number.isNaN(session.nextRequestTs)) {
        behaviour.request(session, session.nextRequestTs);
        for (const e of session.queue) ages.push(e.ts - t);
        session.queue.length = 0;
      }
    }
    this.meanEventsPerSession = Math.max(1, ages.length / SESSIONS);
    ages.sort((a, b) => a - b);
    this.ages = new Float64Array(QUANTILES);
    for (let q = 0; q < QUANTILES; q++) this.ages[q] = ages[Math.floor((q * ages.length) / QUANTILES)] ?? 0;
    this.rampMs = ages[Math.floor(RAMP_DONE * (ages.length - 1))] ?? 0;
    this.maxBoost = this.rampBoost(0);
  }

  /** How much more often visits must start `age` ms into a stream that began empty (1 once past the ramp). */
  rampBoost(age: number): number {
    if (age >= this.rampMs) return 1;
    let lo = 0;
    let hi = QUANTILES;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ages[mid]! <= age) lo = mid + 1;
      else hi = mid;
    }
    return QUANTILES / Math.max(lo, 1);
  }
}
