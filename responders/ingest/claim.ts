/**
 * An event id being appended by one request of the ingest. The request
 * that claims an id first appends it; another request with the same id
 * waits on the claim's `outcome` instead of appending it again, then
 * compares fingerprints to call its record a duplicate or a conflict.
 *
 * @example
 * ```ts
 * const claim = new Claim('e1', fingerprint(event));
 * const outcome = claim.outcome(); // a concurrent request waits here
 * claim.resolve('appended');       // the log acknowledged it
 * ```
 */

/** How a claimed id's append ended: acknowledged by the log, or not. */
export type Outcome = 'appended' | 'failed';

export class Claim {
  /** The fingerprint the index held when the id turned out to be accepted already. */
  stored: Buffer | undefined;
  private result: Outcome | undefined;
  // Created only when another request waits: most claims are never waited on.
  private waiting: Promise<Outcome> | undefined;
  private settle: ((o: Outcome) => void) | undefined;

  constructor(
    readonly id: string,
    readonly fingerprint: Buffer,
  ) {}

  /** Whether the append has ended. */
  get settled(): boolean {
    return this.result !== undefined;
  }

  /** How the append ended, once it has. */
  outcome(): Promise<Outcome> {
    if (this.result !== undefined) return Promise.resolve(this.result);
    this.waiting ??= new Promise((resolve) => (this.settle = resolve));
    return this.waiting;
  }

  /** Ends the append; only the first outcome counts. */
  resolve(outcome: Outcome): void {
    if (this.result !== undefined) return;
    this.result = outcome;
    this.settle?.(outcome);
  }
}
