/**
 * The requests holding a serving bundle. Each request `acquire`s the
 * bundle for its duration and `release`s it after; `idle` resolves once
 * the last one has let go, so a swapped-out bundle closes its sessions
 * only when no request is still using them.
 *
 * @example
 * ```ts
 * const refs = new BundleRefs();
 * refs.acquire();
 * const freed = refs.idle(); // pending while a request holds the bundle
 * refs.release();            // resolves `freed`
 * ```
 */
export class BundleRefs {
  private count = 0;
  private drained: (() => void) | undefined;

  /** One more request holds the bundle. */
  acquire(): void {
    this.count++;
  }

  /** A request lets go of the bundle; the last one to do so ends a pending `idle`. */
  release(): void {
    this.count--;
    if (this.count === 0) this.drained?.();
  }

  /** Resolves once no request holds the bundle: at once when none does. */
  async idle(): Promise<void> {
    if (this.count > 0) await new Promise<void>((resolve) => (this.drained = resolve));
  }
}
