/**
 * Waiting out failures: the runtime's one `sleep` and one backoff schedule.
 * The stream runner, the materializer and the long-running roles resume
 * after a retriable failure (errors.ts' `retriable` flag) with growing
 * pauses, reset once a step succeeds.
 *
 * @example
 * ```ts
 * const backoff = new Backoff([100, 250, 500, 1000]);
 * for (;;) {
 *   try { await step(); backoff.reset(); }
 *   catch (error) { if (!isRetriable(error)) throw error; await sleep(backoff.next()); }
 * }
 * ```
 */

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The pauses the stream runner and the materializer take after consecutive retriable failures. */
export const STEP_BACKOFF_MS: readonly number[] = [100, 250, 500, 1000, 2000, 5000];

/** Pauses from a fixed schedule, one step longer per consecutive failure, the last repeated. */
export class Backoff {
  private failures = 0;

  constructor(private readonly schedule: readonly number[] = STEP_BACKOFF_MS) {
    if (schedule.length === 0) throw new RangeError('a backoff schedule needs at least one pause');
  }

  /** The pause before the next attempt; each call counts one more failure. */
  next(): number {
    return this.schedule[Math.min(this.failures++, this.schedule.length - 1)]!;
  }

  /** After a success: the next failure pauses the shortest time again. */
  reset(): void {
    this.failures = 0;
  }
}
