/**
 * What `GET /readyz` reports: named checks that each say "ready" (null) or
 * why not. Each part of the responder adds its own — the ingest while it
 * rebuilds its event-id index; the recommendation routes until a model and
 * an index are loaded — and the service is ready when all are.
 *
 * @example
 * ```ts
 * const readiness = new Readiness();
 * readiness.add('ingest', () => (indexLoaded ? null : 'rebuilding the event-id index'));
 * readiness.status(); // { ready: false, checks: { ingest: 'rebuilding the event-id index' } }
 * ```
 */
export type ReadinessCheck = () => string | null;

export interface ReadinessStatus {
  readonly ready: boolean;
  /** Per check: 'ready', or the reason it is not. */
  readonly checks: Readonly<Record<string, string>>;
}

export class Readiness {
  private readonly checks = new Map<string, ReadinessCheck>();

  /** Adds (or replaces) a named check. */
  add(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
  }

  status(): ReadinessStatus {
    const checks: Record<string, string> = {};
    let ready = true;
    for (const [name, check] of this.checks) {
      const reason = check();
      checks[name] = reason ?? 'ready';
      if (reason !== null) ready = false;
    }
    return { ready, checks };
  }
}
