import { RecstreamError } from '../runtime/errors.js';

/**
 * A model or an ANN index was given what it cannot take (an input the model
 * does not declare with that shape or dtype, vectors of another width) or
 * used in a way it does not allow (searching a closed index). Not
 * retriable: the batch, or the artifact it was built for, is wrong.
 *
 * @example
 * ```ts
 * try { await tower.embed(batch); }
 * catch (err) { if (err instanceof InferenceError) log.error({ err }, 'model and batch disagree'); }
 * ```
 */
export class InferenceError extends RecstreamError {
  constructor(message: string, cause?: unknown) {
    super(message, { code: 'INFERENCE_INVALID', cause });
  }
}
