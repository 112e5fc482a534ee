/**
 * The fault suite's figures: each fault test reports what it injected and
 * what it saw as one `figure` diagnostic line, so the numbers in
 * docs/reliability.md are copied from a real run's output, not written by hand.
 *
 * @example
 * ```ts
 * reportFigure(t, 'redis-kill', { requests: 5120, fallbacks: 830, status_5xx: 0, recovery_ms: 1400 });
 * // # figure redis-kill {"requests":5120,"fallbacks":830,"status_5xx":0,"recovery_ms":1400}
 * ```
 */
import type { TestContext } from 'node:test';

export type Figures = Readonly<Record<string, number | string | boolean>>;

export function reportFigure(t: TestContext, fault: string, figures: Figures): void {
  t.diagnostic(`figure ${fault} ${JSON.stringify(figures)}`);
}
