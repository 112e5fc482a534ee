/**
 * When people watch: a diurnal curve over local time (a trough before dawn,
 * a lunchtime bump, a peak in the evening) times a weekly one (weekends
 * busier), shifted per country by its UTC offset. The simulator starts
 * sessions as a Poisson process whose intensity is this rhythm; a country's
 * share of new sessions at time t is its term of the sum.
 *
 * @example
 * ```ts
 * const rhythm = new Rhythm();
 * const perCountry = new Float64Array(COUNTRIES.length);
 * const factor = rhythm.intensities(Date.now(), perCountry); // mean 1 over a week
 * ```
 */
import { COUNTRIES } from './vocabulary.js';

/** Relative activity at each local hour 0…23 (interpolated linearly in between). */
const DIURNAL: readonly number[] = [
  0.45, 0.28, 0.16, 0.1, 0.08, 0.09, 0.16, 0.3, 0.42, 0.48, 0.52, 0.58, 0.68, 0.66, 0.6, 0.62, 0.72, 0.88,
  1.08, 1.35, 1.55, 1.5, 1.18, 0.75,
];

/** Relative activity Monday … Sunday. */
const WEEKLY: readonly number[] = [0.9, 0.88, 0.9, 0.94, 1.05, 1.2, 1.13];

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;

/** Local hour (fractional) and weekday (0 = Monday) of an epoch time at a UTC offset. */
export function localTime(t: number, utcOffsetHours: number): { hour: number; weekday: number } {
  const local = t + utcOffsetHours * HOUR_MS;
  const day = Math.floor(local / DAY_MS);
  // 1970-01-01 was a Thursday.
  const weekday = (((day + 3) % 7) + 7) % 7;
  return { hour: (local - day * DAY_MS) / HOUR_MS, weekday };
}

function diurnal(hour: number): number {
  const h = Math.floor(hour);
  const f = hour - h;
  return DIURNAL[h % 24]! * (1 - f) + DIURNAL[(h + 1) % 24]! * f;
}

export class Rhythm {
  /** The largest value `intensities` returns: the bound for thinning a Poisson process. */
  readonly peak: number;
  private readonly scale: number;

  constructor() {
    this.scale = 1;
    // Sample a whole week finely: every knot of every country's piecewise-linear curve is on a quarter hour.
    const step = HOUR_MS / 4;
    const out = new Float64Array(COUNTRIES.length);
    let sum = 0;
    let max = 0;
    let samples = 0;
    for (let t = 0; t < WEEK_MS; t += step, samples++) {
      const v = this.intensities(t, out);
      sum += v;
      if (v > max) max = v;
    }
    this.scale = samples / sum;
    this.peak = max * this.scale * 1.0001;
  }

  /**
   * Writes each country's share of session starts at `t` into `out` (same
   * order as COUNTRIES) and returns their sum: the rate factor at t, whose
   * mean over a week is 1.
   */
  intensities(t: number, out: Float64Array): number {
    let total = 0;
    for (let c = 0; c < COUNTRIES.length; c++) {
      const country = COUNTRIES[c]!;
      const { hour, weekday } = localTime(t, country.utcOffset);
      const v = country.share * diurnal(hour) * WEEKLY[weekday]! * this.scale;
      out[c] = v;
      total += v;
    }
    return total;
  }
}
