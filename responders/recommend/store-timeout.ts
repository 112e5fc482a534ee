/**
 * An online-store read bounded in time: a slow store degrades the request
 * (popularity, or fewer candidates) instead of piling requests up.
 *
 * @example
 * ```ts
 * try { view = await bounded(online.get('user', id), 50); }
 * catch (error) { if (error instanceof StoreTimeout) … }
 * ```
 */

/** The read took longer than its bound. */
export class StoreTimeout extends Error {}

/** `read`, or a `StoreTimeout` rejection after `timeoutMs`; a late failure of `read` is swallowed. */
export function bounded<T>(read: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StoreTimeout()), timeoutMs);
  });
  read.catch(() => {});
  return Promise.race([read, timeout]).finally(() => clearTimeout(timer));
}
