/**
 * A role that works in rounds (the trainer, the indexer) as a long-running
 * process: a round every `pollMs` (each round decides by itself whether
 * there is anything to do); a round that fails for a retriable reason is
 * tried again after a backoff that doubles up to a minute, so a broken
 * environment never becomes a tight crash loop. A non-retriable failure
 * ends the loop with the error.
 *
 * @example
 * ```ts
 * const controller = new AbortController();
 * process.once('SIGTERM', () => controller.abort());
 * await followRounds(() => trainer.trainOnce(), { pollMs: 2000, signal: controller.signal, logger, describe: (o) => o.kind });
 * ```
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isRetriable } from '../runtime/errors.js';
import type { Logger } from '../runtime/observability/logger.js';

export interface FollowOptions<T> {
  readonly pollMs: number;
  readonly signal: AbortSignal;
  readonly logger: Logger;
  /** A line that says what a round did; `onOutcome` hears a round only when its line differs from the last one. */
  readonly describe: (outcome: T) => string;
  readonly onOutcome?: (outcome: T) => void;
}

const MAX_BACKOFF_MS = 60_000;

export async function followRounds<T>(round: () => Promise<T>, options: FollowOptions<T>): Promise<void> {
  let backoff = options.pollMs;
  let last = '';
  while (!options.signal.aborted) {
    let wait = options.pollMs;
    try {
      const outcome = await round();
      backoff = options.pollMs;
      const line = options.describe(outcome);
      if (line !== last) options.onOutcome?.(outcome);
      last = line;
    } catch (error) {
      if (options.signal.aborted) return;
      if (!isRetriable(error)) throw error;
      options.logger.warn({ err: (error as Error).message, retry_in_ms: backoff }, 'round failed; retrying');
      wait = backoff;
      backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
    }
    await sleep(wait, undefined, { signal: options.signal }).catch(() => undefined);
  }
}
