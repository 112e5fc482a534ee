/**
 * The trainer's failures: the engine cannot run or failed.
 *
 * @example
 * ```ts
 * throw new TrainingError('python3 with torch not found: run scripts/setup.sh', { code: 'TRAINING_ENGINE_MISSING' });
 * ```
 */
import { RecstreamError } from '../runtime/errors.js';

/**
 * The training engine cannot run (no Python interpreter with torch) or
 * failed; the message says what to install or what the engine reported.
 * A failed run is retriable (the next snapshot or a restart tries again);
 * a missing interpreter is not.
 */
export class TrainingError extends RecstreamError {
  constructor(message: string, options: { code?: string; retriable?: boolean; cause?: unknown } = {}) {
    super(message, {
      code: options.code ?? 'TRAINING_FAILED',
      retriable: options.retriable ?? false,
      cause: options.cause,
    });
  }
}
