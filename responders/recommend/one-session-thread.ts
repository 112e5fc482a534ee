/**
 * Served pairs gathered onto one session thread. A pair loads on a
 * background thread of its own, so that creating its sessions (150–350 ms
 * of synchronous work) never stalls a pair that serves; but a responder
 * that then serves two pairs, as under an experiment, keeps two session
 * threads, each woken for half the requests, and pays more CPU per request
 * for it (docs/decisions.md §43). ONNX sessions cannot move between
 * threads, so the pairs are loaded again, together, onto a fresh background
 * thread, which comes to the foreground once all of them are loaded; the
 * caller then swaps them in at once and retires the pairs they replace.
 *
 * @example
 * ```ts
 * if (sessionThreadsOf(served) > 1) {
 *   const gathered = await loadOnOneThread(served.map((b) => ({ ...sourceOf(b), store, catalog })));
 *   swap(served, gathered);
 * }
 * ```
 */
import { SessionThread } from '../../inference/session-thread.js';
import { type BundleSource, ServingBundle } from './serving-bundle.js';

/** How many session threads the pairs run on. */
export function sessionThreadsOf(bundles: Iterable<ServingBundle>): number {
  return new Set([...bundles].map((bundle) => bundle.thread)).size;
}

/**
 * Loads each source onto one new thread, one after another, verified as
 * any pair is; resolves to the pairs in the order of `sources`, the thread
 * in the foreground. If one fails, those loaded before it are freed (the
 * thread ends with them) and the error is thrown.
 */
export async function loadOnOneThread(
  sources: readonly Omit<BundleSource, 'thread'>[],
): Promise<ServingBundle[]> {
  const thread = new SessionThread({ background: true });
  const loaded: ServingBundle[] = [];
  try {
    for (const source of sources) loaded.push(await ServingBundle.load({ ...source, thread }));
    await thread.foreground();
    return loaded;
  } catch (error) {
    await Promise.all(loaded.map((bundle) => bundle.retire()));
    await thread.endIfIdle();
    throw error;
  }
}
