/**
 * Refusals of experiments: one that is not well formed
 * (`ExperimentInvalidError`), one that clashes with what runs now, or one
 * that names none. Each carries the field it is about, so the CLI prints it
 * and the admin API answers with it.
 *
 * @example
 * ```ts
 * throw new ExperimentConflictError('traffic_start', 'overlaps running experiment ab');
 * ```
 */
import { RecstreamError } from '../../runtime/errors.js';

/**
 * An experiment is well formed but clashes with what runs now: its traffic
 * slice overlaps a running experiment's, it starts an id that is running,
 * or it stops one that is not. `field` names what clashes (`traffic_start`,
 * `id`).
 */
export class ExperimentConflictError extends RecstreamError {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`, { code: 'EXPERIMENT_CONFLICT' });
  }
}

/** No experiment has this id on `rec.experiments` (or it was forgotten by a tombstone). */
export class ExperimentNotFoundError extends RecstreamError {
  constructor(readonly id: string) {
    super(`id: no experiment ${JSON.stringify(id)} (see recstream experiments list)`, {
      code: 'EXPERIMENT_NOT_FOUND',
    });
  }
}

/**
 * An experiment (a file for `experiments start`, an admin call, a canary)
 * was refused; `field` names what is wrong, as a path into the
 * experiment (`variants[1].share`, `traffic_start`).
 */
export class ExperimentInvalidError extends RecstreamError {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`, { code: 'EXPERIMENT_INVALID' });
  }
}
