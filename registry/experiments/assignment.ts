/**
 * Who is in which experiment, and in which variant: pure functions of the
 * user id, so every responder replica, every restart and every reader of
 * the served-list log agree without sharing any state.
 *
 * - A user's **traffic bucket** is a hash of the user id under the
 *   platform's fixed traffic salt, in [0, 1). A running experiment holds
 *   the slice `[traffic_start, traffic_end)` of it, and running experiments
 *   hold disjoint slices (./validate-experiment.ts refuses overlaps), so a
 *   user is in at most one and every list names one experiment.
 * - Inside an experiment the **variant bucket** is a hash of (salt, user id)
 *   in [0, 1), and the non-shadow variants take consecutive ranges of it by
 *   their shares, in declaration order. Two experiments with different salts
 *   split users independently; growing the first variant's share (a canary
 *   step) keeps every user it had.
 *
 * Both hashes are the first 48 bits of SHA-256, so the split is uniform to
 * well under the ±1 % an experiment needs, and any language can recompute
 * it: `int(sha256(salt + "\0" + user_id)[:6]) / 2**48`.
 *
 * @example
 * ```ts
 * const at = assignVariant(registry.running(), 'u42');
 * at?.experiment.id; at?.variant.name; // undefined outside every experiment
 * ```
 */
import { createHash } from 'node:crypto';
import type { Experiment, ExperimentVariant } from '../../schemas/generated/types.js';

/** Salt of the traffic hash that places users into experiments' slices; fixed for the platform. */
export const TRAFFIC_SALT = 'recstream-traffic';

const SPAN = 2 ** 48;

/**
 * A user's position in [0, 1) under a salt.
 *
 * @example
 * ```ts
 * unitHash('7c1f', 'u42'); // 0.1484…, the same in every process
 * ```
 */
export function unitHash(salt: string, userId: string): number {
  const digest = createHash('sha256').update(salt).update('\0').update(userId).digest();
  return digest.readUIntBE(0, 6) / SPAN;
}

/** Whether a user is in an experiment's traffic slice. */
export function inTraffic(experiment: Experiment, userId: string): boolean {
  const bucket = unitHash(TRAFFIC_SALT, userId);
  return bucket >= experiment.traffic_start && bucket < experiment.traffic_end;
}

/** The variants users are served from (not shadow), in hash order. */
export function servedVariants(experiment: Experiment): ExperimentVariant[] {
  return experiment.variants.filter((variant) => !variant.shadow);
}

/**
 * The served variant of a user inside an experiment (whether or not the
 * user is in its traffic slice).
 *
 * @example
 * ```ts
 * variantOf(experiment, 'u42').name; // 'control'
 * ```
 */
export function variantOf(experiment: Experiment, userId: string): ExperimentVariant {
  const variants = servedVariants(experiment);
  const bucket = unitHash(experiment.salt, userId);
  let end = 0;
  for (const variant of variants) {
    end += variant.share;
    if (bucket < end) return variant;
  }
  // Shares summing to 1 within rounding: the last positive-share variant takes the remainder.
  for (let i = variants.length - 1; i >= 0; i--) if (variants[i]!.share > 0) return variants[i]!;
  return variants[variants.length - 1]!;
}

/** A user's experiment and variant. */
export interface Assignment {
  readonly experiment: Experiment;
  readonly variant: ExperimentVariant;
}

/**
 * The running experiment a user is in, with their variant; undefined when
 * the user is in none (they get the promoted model).
 */
export function assignVariant(running: readonly Experiment[], userId: string): Assignment | undefined {
  if (running.length === 0) return undefined;
  const bucket = unitHash(TRAFFIC_SALT, userId);
  for (const experiment of running) {
    if (experiment.status !== 'running') continue;
    if (bucket >= experiment.traffic_start && bucket < experiment.traffic_end)
      return { experiment, variant: variantOf(experiment, userId) };
  }
  return undefined;
}
