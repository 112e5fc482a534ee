/**
 * Settings of canary rollouts: the steps a candidate's share grows
 * through, and how much worse than the promoted model each guardrail
 * lets it be before it is rolled back. `recstream models promote
 * <version> --canary <pct>` and the trainer's gate
 * (`RECSTREAM_GATE_CANARY_PCT`) start canaries with them.
 *
 * @example
 * ```ts
 * loadConfig({ RECSTREAM_CANARY_STEPS: '0.1,0.5,1' }).canarySteps; // [0.1, 0.5, 1]
 * ```
 */
import type { Setting } from './setting.js';

export const CANARY_SETTINGS = {
  canarySteps: {
    env: 'RECSTREAM_CANARY_STEPS',
    kind: 'steps',
    default: '0.05,0.25,0.5,1',
    doc: "a canary candidate's shares, rising, the last 1; a canary started at a share between two steps starts there and goes on with the next",
  },
  canaryMinImpressions: {
    env: 'RECSTREAM_CANARY_MIN_IMPRESSIONS',
    kind: 'int',
    min: 0,
    max: 1_000_000_000,
    default: 200,
    doc: 'impressions the candidate and the control each need in a canary step before it grows or is rolled back',
  },
  canaryMinUsers: {
    env: 'RECSTREAM_CANARY_MIN_USERS',
    kind: 'int',
    min: 0,
    max: 1_000_000_000,
    default: 30,
    doc: "effective users (Kish: (sum of users' impressions)^2 / sum of their squares) the candidate and the control each need in a canary step before it grows or is rolled back; 0, none",
  },
  canaryMinStepMs: {
    env: 'RECSTREAM_CANARY_MIN_STEP_MS',
    kind: 'int',
    min: 0,
    max: 30 * 24 * 3600 * 1000,
    default: 60_000,
    doc: 'how long (event time) a canary step lasts at least before it grows',
  },
  canaryCtrTolerance: {
    env: 'RECSTREAM_CANARY_CTR_TOLERANCE',
    kind: 'float',
    min: 0,
    max: 1,
    default: 0.05,
    doc: "a canary is rolled back when its click-through is significantly below (1 - tolerance) x the promoted model's",
  },
  canaryErrorRateTolerance: {
    env: 'RECSTREAM_CANARY_ERROR_RATE_TOLERANCE',
    kind: 'float',
    min: 0,
    max: 100,
    default: 0.1,
    doc: "... or its error rate significantly above (1 + tolerance) x the promoted model's",
  },
  canaryFallbackRateTolerance: {
    env: 'RECSTREAM_CANARY_FALLBACK_RATE_TOLERANCE',
    kind: 'float',
    min: 0,
    max: 100,
    default: 0.1,
    doc: "... or its fallback rate significantly above (1 + tolerance) x the promoted model's",
  },
  canaryLatencyP99Tolerance: {
    env: 'RECSTREAM_CANARY_LATENCY_P99_TOLERANCE',
    kind: 'float',
    min: 0,
    max: 100,
    default: 0.25,
    doc: "... or its p99 latency above (1 + tolerance) x the promoted model's",
  },
} as const satisfies Record<string, Setting>;
