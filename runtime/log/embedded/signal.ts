/**
 * In-process wake-up for tail-following consumers. `version` changes on
 * every append, so a poller that saw no data can tell whether something
 * arrived while it was reading, instead of sleeping through it.
 */
export class AppendSignal {
  version = 0;
  private readonly waiters = new Set<() => void>();

  notify(): void {
    this.version++;
    if (this.waiters.size === 0) return;
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiters) wake();
  }

  /**
   * Resolves on the next append, after `timeoutMs`, or when `abort` is
   * called (consumer or log closing), whichever comes first.
   */
  wait(timeoutMs: number, onAbortable: (abort: () => void) => void): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.waiters.add(done);
      onAbortable(done);
    });
  }

  /** Wakes every waiter (the log is closing). */
  wakeAll(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiters) wake();
  }
}
