/**
 * Event time for sources that carry none (the `lines` format, a CSV without
 * a time column): the n-th interaction of the import, counted from 0 in file
 * order, happens at `start + n * stepMs`. Time then follows file order
 * strictly, and re-importing the same file gives the same times.
 *
 * @example
 * ```ts
 * const clock = new SyntheticClock({ start: Date.UTC(2020, 0, 1), stepMs: 1000 });
 * clock.next(); // 1577836800000
 * clock.next(); // 1577836801000
 * ```
 */

/** 2020-01-01T00:00:00Z: the default start of synthesised event time. */
export const DEFAULT_SYNTHETIC_START = Date.UTC(2020, 0, 1);
export const DEFAULT_SYNTHETIC_STEP_MS = 1000;

export class SyntheticClock {
  private n = 0;

  constructor(private readonly options: { readonly start: number; readonly stepMs: number }) {}

  next(): number {
    return this.options.start + this.n++ * this.options.stepMs;
  }
}
