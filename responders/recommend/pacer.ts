/**
 * Paces background work that runs on the request thread in turns (a
 * popularity rebuild, a new pair's vocabularies and catalog check): after
 * each turn it waits so that the work takes at most `share` of the
 * thread's time, the wait growing with how long the turn took (at most
 * `maxPauseMs`). A turn that took longer because requests ran meanwhile
 * earns a longer pause, so a busier responder does its background work
 * slower. With `share` 1 a pause only yields to the event loop once.
 *
 * @example
 * ```ts
 * const pacer = new Pacer({ share: 0.2, maxPauseMs: 50, signal });
 * for (const chunk of chunks) {
 *   work(chunk);
 *   await pacer.pause();
 * }
 * ```
 */
import { setImmediate, setTimeout as sleep } from 'node:timers/promises';

export interface PacerOptions {
  /** Share of the thread's time the work may take, in (0, 1]. */
  readonly share: number;
  /** Longest pause after one turn. */
  readonly maxPauseMs: number;
  /** Cuts a pause short (the work's owner is closing). */
  readonly signal?: AbortSignal;
  /** Milliseconds, for tests; default `performance.now`. */
  readonly clock?: () => number;
  /** Waits `ms`, for tests; default a timer. */
  readonly wait?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

const timer = (ms: number, signal?: AbortSignal) =>
  sleep(ms, undefined, { signal }).catch(() => undefined) as Promise<void>;

export class Pacer {
  private readonly clock: () => number;
  private readonly wait: (ms: number, signal?: AbortSignal) => Promise<void>;
  private turnStarted: number;

  constructor(private readonly options: PacerOptions) {
    if (!(options.share > 0 && options.share <= 1))
      throw new RangeError(`a pacer's share must be in (0, 1], got ${options.share}`);
    this.clock = options.clock ?? (() => performance.now());
    this.wait = options.wait ?? timer;
    this.turnStarted = this.clock();
  }

  /** Ends a turn: waits in proportion to the time since the previous one ended, then starts the next. */
  async pause(): Promise<void> {
    const { share, maxPauseMs, signal } = this.options;
    const took = this.clock() - this.turnStarted;
    const ms = Math.min(maxPauseMs, (took * (1 - share)) / share);
    if (ms > 0) await this.wait(ms, signal);
    else await setImmediate();
    this.turnStarted = this.clock();
  }
}
