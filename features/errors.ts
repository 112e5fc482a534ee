/**
 * Refusals of a training set that cannot be trained on.
 *
 * @example
 * ```ts
 * if (rows === 0) throw new TrainingSetError('the training set has no examples');
 * ```
 */
import { RecstreamError } from '../runtime/errors.js';

/** A training set cannot be trained on: empty, or its columns are inconsistent. */
export class TrainingSetError extends RecstreamError {
  constructor(message: string) {
    super(message, { code: 'TRAINING_SET_INVALID' });
  }
}
