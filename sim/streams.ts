/**
 * The simulator's purposes that each get their own generator
 * (`Rng.derive(seed, STREAM.x, index)`, lib/random.ts), so adding draws to
 * one leaves the others unchanged.
 *
 * @example
 * ```ts
 * const rng = Rng.derive(42, STREAM.sessions);
 * const taste = Rng.derive(42, STREAM.userTraits, userIndex).normal();
 * ```
 */
export const STREAM = {
  world: 1,
  itemTraits: 2,
  userTraits: 3,
  sessions: 4,
  calibration: 5,
  itemText: 6,
  userSignup: 7,
  userTaste: 8,
  closedLoop: 9,
} as const;
