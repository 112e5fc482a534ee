/**
 * Settings of training: the trainer's interpreter and device, the model's
 * name, what a training run reads and when it runs, and the gates a
 * trained version passes before it is promoted.
 *
 * @example
 * ```ts
 * TRAINING_SETTINGS.trainWindowDays.default; // days of examples a run reads
 * ```
 */
import type { Setting } from './setting.js';

/** The Python interpreter that trains and the device it trains on. */
export const TRAINER_PROCESS_SETTINGS = {
  python: {
    env: 'RECSTREAM_PYTHON',
    kind: 'string',
    default: undefined,
    doc: 'trainer interpreter; unset: the first python3 that imports torch',
  },
  device: {
    env: 'RECSTREAM_DEVICE',
    kind: 'enum',
    values: ['auto', 'cpu', 'cuda'],
    default: 'auto',
    doc: 'training device',
  },
} as const satisfies Record<string, Setting>;

/** The model trained, the examples and pace of training runs, and the promotion gates. */
export const TRAINING_SETTINGS = {
  modelName: {
    env: 'RECSTREAM_MODEL_NAME',
    kind: 'string',
    default: 'recstream',
    doc: 'name of the model the trainer trains (the key of its rec.model-versions events)',
  },
  trainWindowDays: {
    env: 'RECSTREAM_TRAIN_WINDOW_DAYS',
    kind: 'int',
    min: 0,
    max: 3650,
    default: 0,
    doc: 'train on the last N days of event time of the snapshots; 0 trains on every snapshot',
  },
  trainMinNewExamples: {
    env: 'RECSTREAM_TRAIN_MIN_NEW_EXAMPLES',
    kind: 'int',
    min: 1,
    max: 1_000_000_000,
    default: 1,
    doc: 'the trainer retrains once new snapshots hold at least this many examples',
  },
  trainMinIntervalMs: {
    env: 'RECSTREAM_TRAIN_MIN_INTERVAL_MS',
    kind: 'int',
    min: 0,
    max: 30 * 24 * 3600 * 1000,
    default: 0,
    doc: 'the trainer retrains no sooner than this long (wall clock) after its newest version was made; 0: as soon as new snapshots come',
  },
  trainConfig: {
    env: 'RECSTREAM_TRAIN_CONFIG',
    kind: 'json',
    default: undefined,
    doc: 'JSON object of training-engine settings (models/README.md), e.g. {"epochs": 10}',
  },
  gatePopularityMargin: {
    env: 'RECSTREAM_GATE_POPULARITY_MARGIN',
    kind: 'float',
    min: 0,
    max: 1,
    default: 0,
    doc: 'a model is promoted only if its holdout Recall@20 is at least (1 - margin) x the popularity baseline',
  },
  gatePreviousMargin: {
    env: 'RECSTREAM_GATE_PREVIOUS_MARGIN',
    kind: 'float',
    min: 0,
    max: 1,
    default: 0.02,
    doc: "... and at least (1 - margin) x the promoted model's Recall@20, both scored on the holdout events after the last one the promoted model trained on (none: not compared)",
  },
  gateAllowUncompared: {
    env: 'RECSTREAM_GATE_ALLOW_UNCOMPARED',
    kind: 'enum',
    values: ['true', 'false'],
    default: 'false',
    doc: "true promotes a model whose comparison cannot run (the promoted model's artifacts do not verify or the engine could not score it, a baseline metric missing) instead of rejecting it; the version records gate_override: what was missing",
  },
  gateCanaryPct: {
    env: 'RECSTREAM_GATE_CANARY_PCT',
    kind: 'float',
    min: 0,
    max: 99,
    default: 0,
    doc: 'above 0, a model that passes the gate while another is promoted is published candidate and starts a canary at this percentage of users (RECSTREAM_CANARY_*) instead of being promoted; 0 promotes it at once',
  },
  gateOffPolicy: {
    env: 'RECSTREAM_GATE_OFF_POLICY',
    kind: 'enum',
    values: ['true', 'false'],
    default: 'false',
    doc: "true adds a step after the holdout: a model that passes it while another is promoted is published candidate, indexed, and promoted (or canaried) only if its off-policy click-through on the served lists of the window is not significantly below the promoted model's; the lists must have been served with exploration",
  },
  gateOffPolicyWindowMs: {
    env: 'RECSTREAM_GATE_OFF_POLICY_WINDOW_MS',
    kind: 'int',
    min: 60_000,
    max: 90 * 24 * 3600 * 1000,
    default: 24 * 3600 * 1000,
    doc: 'the off-policy step reads the lists served in this long before the candidate was published',
  },
  gateOffPolicyWaitMs: {
    env: 'RECSTREAM_GATE_OFF_POLICY_WAIT_MS',
    kind: 'int',
    min: 0,
    max: 24 * 3600 * 1000,
    default: 10 * 60 * 1000,
    doc: 'a candidate awaiting the off-policy step whose index the indexer has not built within this long is rejected',
  },
  gateOffPolicyMaxUnsupported: {
    env: 'RECSTREAM_GATE_OFF_POLICY_MAX_UNSUPPORTED',
    kind: 'float',
    min: 0,
    max: 1,
    default: 0.05,
    doc: "largest share of either model's slots the served lists may not support (items exploration never placed there) before the off-policy step cannot run",
  },
} as const satisfies Record<string, Setting>;
