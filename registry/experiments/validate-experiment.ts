/**
 * What makes an experiment acceptable, checked before its first event is
 * written (the CLI, the admin API, `models promote --canary`), each refusal
 * an `ExperimentInvalidError` naming the field:
 *
 * - its shape: an id of letters, digits, `.`, `_`, `-`; a salt; at least
 *   one served (not shadow) variant; unique variant names; shares in
 *   [0, 1] whose served ones sum to 1; a traffic slice inside [0, 1];
 *   ordering overrides in range (an exploration ε in [0, 1));
 *   known metrics; a canary plan whose candidate is a variant serving a
 *   model version and whose steps rise to 1;
 * - its models: `promoted`, `popularity`, or a `<model>@<version>` the
 *   model registry knows and has not rejected;
 * - its users: its traffic slice overlaps no other running experiment's,
 *   so no user is in two experiments at once (give each a disjoint
 *   `traffic_start`/`traffic_end` to run them side by side); an overlap is
 *   an `ExperimentConflictError` on `traffic_start`, since the file is
 *   right and what runs now is in the way.
 *
 * @example
 * ```ts
 * const experiment = experimentFromJson(JSON.parse(text), Date.now());
 * checkExperiment(experiment, { running: registry.running(), models });
 * ```
 */

import type {
  CanaryPlan,
  Experiment,
  ExperimentVariant,
  Guardrail,
  OrderingOverrides,
} from '../../schemas/generated/types.js';
import type { ModelRegistry } from '../model-registry.js';
import { ExperimentConflictError, ExperimentInvalidError } from './errors.js';

/** Metrics an experiment can be decided on. */
export const PRIMARY_METRICS = ['ctr', 'clicks_per_request', 'engaged_ms_per_request'] as const;
/** Metrics a guardrail can watch. */
export const GUARDRAIL_METRICS = ['ctr', 'error_rate', 'fallback_rate', 'latency_p99_ms'] as const;

const ID = /^[A-Za-z0-9._-]{1,128}$/;
const MODEL_VERSION = /^([A-Za-z0-9._-]+)@([1-9][0-9]*)$/;
const SHARE_SLACK = 1e-9;

type Json = Record<string, unknown>;

function fail(field: string, reason: string): never {
  throw new ExperimentInvalidError(field, reason);
}

function object(value: unknown, field: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(field, 'must be an object');
  return value as Json;
}

function string(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0) fail(field, 'must be a non-empty string');
  return value;
}

function number(value: unknown, field: string, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(field, 'must be a number');
  return value;
}

function nullable<T>(value: unknown, read: (v: unknown) => T): T | null {
  return value === undefined || value === null ? null : read(value);
}

function known(json: Json, field: string, keys: readonly string[]): void {
  for (const key of Object.keys(json))
    if (!keys.includes(key))
      fail(field === '' ? key : `${field}.${key}`, `is not a known field here (known: ${keys.join(', ')})`);
}

function ordering(value: unknown, field: string): OrderingOverrides | null {
  if (value === undefined || value === null) return null;
  const json = object(value, field);
  known(json, field, [
    'freshness_boost',
    'freshness_window_ms',
    'promotions',
    'max_category_share',
    'exploration_epsilon',
    'exploration_fresh_weight',
    'exploration_policy',
    'exploration_temperature',
    'exploration_pool_size',
  ]);
  const share = nullable(json.max_category_share, (v) => number(v, `${field}.max_category_share`));
  if (share !== null && (share <= 0 || share > 1)) fail(`${field}.max_category_share`, 'must be in (0, 1]');
  const window = nullable(json.freshness_window_ms, (v) => number(v, `${field}.freshness_window_ms`));
  if (window !== null && (window <= 0 || !Number.isInteger(window)))
    fail(`${field}.freshness_window_ms`, 'must be a positive whole number of milliseconds');
  const epsilon = nullable(json.exploration_epsilon, (v) => number(v, `${field}.exploration_epsilon`));
  if (epsilon !== null && (epsilon < 0 || epsilon >= 1))
    fail(`${field}.exploration_epsilon`, `must be in [0, 1), got ${epsilon}`);
  const freshWeight = nullable(json.exploration_fresh_weight, (v) =>
    number(v, `${field}.exploration_fresh_weight`),
  );
  if (freshWeight !== null && (freshWeight < 1 || freshWeight > 1000))
    fail(`${field}.exploration_fresh_weight`, `must be in [1, 1000], got ${freshWeight}`);
  const policy = nullable(json.exploration_policy, (v) => string(v, `${field}.exploration_policy`));
  if (policy !== null && policy !== 'epsilon_greedy' && policy !== 'plackett_luce')
    fail(
      `${field}.exploration_policy`,
      `must be epsilon_greedy or plackett_luce, got ${JSON.stringify(policy)}`,
    );
  const temperature = nullable(json.exploration_temperature, (v) =>
    number(v, `${field}.exploration_temperature`),
  );
  if (temperature !== null && !(temperature >= 0 && temperature <= 1000))
    fail(`${field}.exploration_temperature`, `must be in [0, 1000], got ${temperature}`);
  const poolSize = nullable(json.exploration_pool_size, (v) => number(v, `${field}.exploration_pool_size`));
  if (poolSize !== null && !(Number.isInteger(poolSize) && poolSize >= 1 && poolSize <= 1000))
    fail(`${field}.exploration_pool_size`, `must be a whole number in [1, 1000], got ${poolSize}`);
  const promotions = json.promotions;
  if (promotions !== undefined && promotions !== null && typeof promotions !== 'boolean')
    fail(`${field}.promotions`, 'must be true or false');
  return {
    freshness_boost: nullable(json.freshness_boost, (v) => number(v, `${field}.freshness_boost`)),
    freshness_window_ms: window,
    promotions: (promotions as boolean | undefined) ?? null,
    max_category_share: share,
    exploration_epsilon: epsilon,
    exploration_fresh_weight: freshWeight,
    exploration_policy: policy,
    exploration_temperature: temperature,
    exploration_pool_size: poolSize,
  };
}

function variant(value: unknown, field: string): ExperimentVariant {
  const json = object(value, field);
  known(json, field, ['name', 'model', 'share', 'shadow', 'ordering']);
  const name = string(json.name, `${field}.name`);
  if (!ID.test(name)) fail(`${field}.name`, 'may hold only letters, digits, ".", "_" and "-"');
  const model = string(json.model, `${field}.model`);
  if (model !== 'promoted' && model !== 'popularity' && !MODEL_VERSION.test(model))
    fail(`${field}.model`, `must be promoted, popularity or <model>@<version>, got ${JSON.stringify(model)}`);
  const shadow = json.shadow ?? false;
  if (typeof shadow !== 'boolean') fail(`${field}.shadow`, 'must be true or false');
  const share = number(json.share, `${field}.share`, shadow ? 0 : undefined);
  if (share < 0 || share > 1) fail(`${field}.share`, `must be in [0, 1], got ${share}`);
  return { name, model, share, shadow, ordering: ordering(json.ordering, `${field}.ordering`) };
}

function guardrail(value: unknown, field: string): Guardrail {
  const json = object(value, field);
  known(json, field, ['metric', 'tolerance']);
  const metric = string(json.metric, `${field}.metric`);
  if (!(GUARDRAIL_METRICS as readonly string[]).includes(metric))
    fail(`${field}.metric`, `must be one of ${GUARDRAIL_METRICS.join(', ')}, got ${JSON.stringify(metric)}`);
  const tolerance = number(json.tolerance, `${field}.tolerance`, 0);
  if (tolerance < 0) fail(`${field}.tolerance`, 'must be at least 0');
  return { metric, tolerance };
}

function canary(value: unknown, now: number): CanaryPlan | null {
  if (value === undefined || value === null) return null;
  const json = object(value, 'canary');
  // biome-ignore format: one line
  known(json, 'canary', ['candidate', 'steps', 'step', 'step_started_ts', 'min_impressions', 'min_users', 'min_step_ms']);
  if (!Array.isArray(json.steps) || json.steps.length === 0)
    fail('canary.steps', 'must be a non-empty array of shares');
  const steps = json.steps.map((s, i) => number(s, `canary.steps[${i}]`));
  steps.forEach((s, i) => {
    if (s <= 0 || s > 1 || (i > 0 && s <= steps[i - 1]!))
      fail(`canary.steps[${i}]`, 'steps must rise strictly inside (0, 1]');
  });
  if (steps[steps.length - 1] !== 1) fail('canary.steps', 'the last step must be 1 (the whole experiment)');
  const step = number(json.step, 'canary.step', 0);
  if (!Number.isInteger(step) || step < 0 || step >= steps.length)
    fail('canary.step', 'must index canary.steps');
  const minImpressions = number(json.min_impressions, 'canary.min_impressions', 200);
  const minUsers = number(json.min_users, 'canary.min_users', 30);
  const minStepMs = number(json.min_step_ms, 'canary.min_step_ms', 60_000);
  if (minImpressions < 0 || !Number.isInteger(minImpressions))
    fail('canary.min_impressions', 'must be a whole number ≥ 0');
  if (minUsers < 0 || !Number.isInteger(minUsers)) fail('canary.min_users', 'must be a whole number ≥ 0');
  if (minStepMs < 0 || !Number.isInteger(minStepMs)) fail('canary.min_step_ms', 'must be a whole number ≥ 0');
  return {
    candidate: string(json.candidate, 'canary.candidate'),
    steps,
    step,
    step_started_ts: number(json.step_started_ts, 'canary.step_started_ts', now),
    min_impressions: minImpressions,
    min_users: minUsers,
    min_step_ms: minStepMs,
  };
}

/**
 * An experiment from its JSON form (a file for `experiments start`, an
 * admin call's body), running from `now`, its shape checked.
 *
 * @throws ExperimentInvalidError naming the first field that is wrong
 */
export function experimentFromJson(input: unknown, now: number): Experiment {
  const json = object(input, 'experiment');
  known(json, '', [
    'id',
    'description',
    'salt',
    'traffic_start',
    'traffic_end',
    'variants',
    'primary_metric',
    'guardrails',
    'canary',
    'status',
    'reason',
    'created_ts',
    'updated_ts',
  ]);
  const id = string(json.id, 'id');
  if (!ID.test(id)) fail('id', 'may hold only letters, digits, ".", "_" and "-" (at most 128)');
  const description = json.description === undefined ? '' : json.description;
  if (typeof description !== 'string') fail('description', 'must be a string');
  const trafficStart = number(json.traffic_start, 'traffic_start', 0);
  const trafficEnd = number(json.traffic_end, 'traffic_end', 1);
  if (trafficStart < 0 || trafficStart >= 1) fail('traffic_start', 'must be in [0, 1)');
  if (trafficEnd <= trafficStart || trafficEnd > 1) fail('traffic_end', 'must be in (traffic_start, 1]');
  if (!Array.isArray(json.variants) || json.variants.length === 0)
    fail('variants', 'must be a non-empty array');
  const variants = json.variants.map((v, i) => variant(v, `variants[${i}]`));
  const names = new Set<string>();
  variants.forEach((v, i) => {
    if (names.has(v.name)) fail(`variants[${i}].name`, `${JSON.stringify(v.name)} is used twice`);
    names.add(v.name);
  });
  const served = variants.filter((v) => !v.shadow);
  if (served.length === 0) fail('variants', 'at least one variant must be served (not shadow)');
  const total = served.reduce((sum, v) => sum + v.share, 0);
  if (Math.abs(total - 1) > SHARE_SLACK)
    fail('variants', `the served variants' shares must sum to 1, they sum to ${total}`);
  const primary = json.primary_metric ?? 'ctr';
  if (typeof primary !== 'string' || !(PRIMARY_METRICS as readonly string[]).includes(primary))
    fail('primary_metric', `must be one of ${PRIMARY_METRICS.join(', ')}`);
  if (json.guardrails !== undefined && !Array.isArray(json.guardrails))
    fail('guardrails', 'must be an array');
  const guardrails = ((json.guardrails as unknown[] | undefined) ?? []).map((g, i) =>
    guardrail(g, `guardrails[${i}]`),
  );
  const plan = canary(json.canary, now);
  if (plan !== null) {
    const candidate = served.find((v) => v.name === plan.candidate);
    if (candidate === undefined)
      fail('canary.candidate', `names no served variant: ${JSON.stringify(plan.candidate)}`);
    if (!MODEL_VERSION.test(candidate.model))
      fail('canary.candidate', 'the candidate must serve a <model>@<version>');
    if (served[0] !== candidate)
      fail('canary.candidate', 'the candidate must be the first variant, so each step keeps its users');
    if (Math.abs(candidate.share - plan.steps[plan.step]!) > SHARE_SLACK)
      fail(
        `variants[${variants.indexOf(candidate)}].share`,
        `must equal canary.steps[${plan.step}] (${plan.steps[plan.step]})`,
      );
  }
  return {
    id,
    description,
    status: 'running',
    salt: string(json.salt, 'salt'),
    traffic_start: trafficStart,
    traffic_end: trafficEnd,
    variants,
    primary_metric: primary,
    guardrails,
    canary: plan,
    reason: nullable(json.reason, (v) => string(v, 'reason')),
    created_ts: now,
    updated_ts: now,
  };
}

/** What an experiment is checked against when it starts. */
export interface ExperimentContext {
  /** The experiments running now (the one being started, if it runs already, is left out by id). */
  readonly running: readonly Experiment[];
  readonly models: ModelRegistry;
}

/**
 * Checks a well-formed experiment against the platform: its model versions
 * exist and were not rejected, and its traffic slice is its own.
 *
 * @throws ExperimentInvalidError naming the field of a model version
 * @throws ExperimentConflictError on `traffic_start` for an overlap
 */
export function checkExperiment(experiment: Experiment, context: ExperimentContext): void {
  experiment.variants.forEach((v, i) => {
    const match = MODEL_VERSION.exec(v.model);
    if (match === null) return;
    const version = context.models.get(match[1]!, Number(match[2]));
    if (version === undefined) fail(`variants[${i}].model`, `the model registry has no version ${v.model}`);
    if (version.status === 'rejected' || version.status === 'rolled_back')
      fail(`variants[${i}].model`, `${v.model} is ${version.status}`);
  });
  for (const other of context.running) {
    if (other.id === experiment.id) continue;
    if (experiment.traffic_start < other.traffic_end && other.traffic_start < experiment.traffic_end)
      throw new ExperimentConflictError(
        'traffic_start',
        `the slice [${experiment.traffic_start}, ${experiment.traffic_end}) overlaps running experiment ${other.id} ` +
          `[${other.traffic_start}, ${other.traffic_end}); give them disjoint traffic slices or stop ${other.id}`,
      );
  }
}
