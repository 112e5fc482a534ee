/**
 * When an evaluation serves each user: one time for everyone, or each
 * user's own (`recstream eval` serves each user a second after their own
 * last training event), features read as of it.
 *
 * @example
 * ```ts
 * const at: ServeTime = (userId) => lastEvent.get(userId)! + 1000;
 * serveTimeOf(at, 'u1'); // u1's last event + 1 s
 * serveTimeOf(1_700_000_000_000, 'u1'); // the same time for every user
 * ```
 */
export type ServeTime = number | ((userId: string) => number);

/** The time `userId` is served at. */
export function serveTimeOf(at: ServeTime, userId: string): number {
  return typeof at === 'number' ? at : at(userId);
}
