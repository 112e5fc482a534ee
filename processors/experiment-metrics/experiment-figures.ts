/**
 * `experiment-figures`, the second half of `experiment-metrics`: sums the
 * `rec.experiment-outcomes` of each experiment (its task holds all of
 * them: the topic is keyed by experiment id) into store
 * `experiment-figures`, and runs the canary controller after every
 * outcome of a running canary, in event time.
 *
 * An outcome counts in the experiment's whole figures and in those of the
 * canary step in effect at its event time (the experiment's state as of
 * then, from the `rec.experiments` global table, or the controller's own
 * newer decision, kept with its figures, until the table shows it). After
 * each outcome the always-valid p-value of every variant's click-through against the
 * control's is lowered to the test's current 1/Λ when that is smaller:
 * the figures are looked at continuously, which the mSPRT allows.
 *
 * When the controller grows, promotes or rolls back a canary it forwards
 * the experiment's new state to `rec.experiments` and, on promotion or
 * rollback, a `ModelVersion` event for the candidate to
 * `rec.model-versions`: `promoted` (the version's newest event, status
 * changed, as `models promote` writes it), or `rejected` on a rollback,
 * because the candidate was never the promoted version (`rolled_back`
 * would tell the registry a promotion was withdrawn). Every decision is
 * an event at the event time of the outcome that caused it, so a replay
 * of the topics tells the rollout again.
 *
 * @example
 * ```ts
 * builder.addProcessor('experiment-figures', () => new ExperimentFigures(), ['experiment-outcomes'])
 * ```
 */
import { asOf, latest, type Versioned } from '../../features/math/versioned.js';
import { DEFAULT_SEQUENTIAL, differenceTest } from '../../lib/sequential-test.js';
import { ProcessingError } from '../../runtime/errors.js';
import type {
  GlobalTableView,
  Processor,
  ProcessorContext,
  StreamRecord,
} from '../../runtime/processor/processor.js';
import { jsonCodec } from '../../runtime/state/codecs/index.js';
import { DedupWindow } from '../../runtime/state/dedup-window.js';
import type { KeyValueStore, ValueCodec } from '../../runtime/state/store.js';
import type { Experiment, ExperimentOutcome, ModelVersion } from '../../schemas/generated/types.js';
import { decideCanary, nextExperimentState } from './canary.js';
import {
  addOutcome,
  addUserCounts,
  clickThrough,
  EXPERIMENT_USER_FIGURES_STORE,
  emptyFigures,
  type UserCounts,
  userCountsKey,
  type VariantFigures,
} from './figures.js';
import { controlName, EXPERIMENT_FIGURES_STORE, type ExperimentFiguresValue } from './report.js';
import {
  EXPERIMENT_VERSIONS,
  MODEL_VERSIONS_TABLE,
  type ModelVersionEvents,
  parseModelRef,
} from './tables.js';

/** Store of the outcome ids taken over the dedup horizon. */
export const OUTCOME_IDS_STORE = 'outcome-ids';

export interface ExperimentFiguresOptions {
  /** Event time over which a repeated outcome_id is recognised (RECSTREAM_DEDUP_HORIZON_MS). */
  readonly dedupHorizonMs: number;
}

export const experimentFiguresCodec: ValueCodec<ExperimentFiguresValue> = jsonCodec<ExperimentFiguresValue>();
export const userCountsCodec: ValueCodec<UserCounts> = jsonCodec<UserCounts>();

/** The sinks the controller writes to. */
export const EXPERIMENTS_SINK = 'experiments';
export const MODEL_VERSIONS_SINK = 'model-versions';

const COUNTS = ['requests', 'impressions', 'clicks', 'engaged_ms', 'fallbacks', 'errors'] as const;

function checkOutcome(outcome: ExperimentOutcome, key: string | null): void {
  const what = `experiment outcome of request ${JSON.stringify(outcome.request_id)}`;
  if (key !== outcome.experiment_id)
    throw new ProcessingError(`${what}: record key ${JSON.stringify(key)} is not its experiment_id`);
  if (outcome.outcome_id === '') throw new ProcessingError(`${what}: outcome_id is empty`);
  if (outcome.variant === '') throw new ProcessingError(`${what}: variant is empty`);
  for (const field of COUNTS)
    if (!Number.isSafeInteger(outcome[field]) || outcome[field] < 0)
      throw new ProcessingError(`${what}: ${field} ${outcome[field]} is not a count`);
  if (outcome.took_ms !== null && !(outcome.took_ms >= 0 && Number.isFinite(outcome.took_ms)))
    throw new ProcessingError(`${what}: took_ms ${outcome.took_ms} is not a duration`);
}

export class ExperimentFigures implements Processor<ExperimentOutcome | null, Experiment | ModelVersion> {
  private ctx!: ProcessorContext<Experiment | ModelVersion>;
  private figures!: KeyValueStore<ExperimentFiguresValue>;
  private users!: KeyValueStore<UserCounts>;
  private experiments!: GlobalTableView<Versioned<Experiment>>;
  private models!: GlobalTableView<ModelVersionEvents>;
  private seen!: DedupWindow;

  constructor(private readonly options: ExperimentFiguresOptions) {}

  async init(ctx: ProcessorContext<Experiment | ModelVersion>): Promise<void> {
    this.ctx = ctx;
    this.seen = new DedupWindow(ctx.store(OUTCOME_IDS_STORE), { horizonMs: this.options.dedupHorizonMs });
    await this.seen.load();
    this.figures = ctx.store(EXPERIMENT_FIGURES_STORE);
    this.users = ctx.store(EXPERIMENT_USER_FIGURES_STORE);
    this.experiments = ctx.globalTable(EXPERIMENT_VERSIONS);
    this.models = ctx.globalTable(MODEL_VERSIONS_TABLE);
  }

  async process(record: StreamRecord<ExperimentOutcome | null>): Promise<void> {
    const outcome = record.value;
    if (outcome === null) throw new ProcessingError('rec.experiment-outcomes record has no value');
    checkOutcome(outcome, record.key);
    if (!(await this.seen.firstSeen(outcome.outcome_id, outcome.ts))) return;
    const id = outcome.experiment_id;
    const stored = await this.figures.get(id);
    const experiment = this.stateAt(id, outcome.ts, stored);
    const step = experiment?.canary?.step ?? 0;
    const value: ExperimentFiguresValue = stored ?? {
      experiment_id: id,
      step,
      updated_ts: outcome.ts,
      control: null,
      variants: {},
    };
    if (step > value.step) {
      value.step = step;
      for (const v of Object.values(value.variants)) v.step = emptyFigures();
    }
    value.updated_ts = Math.max(value.updated_ts, outcome.ts);
    let variant = value.variants[outcome.variant];
    if (variant === undefined) {
      variant = { shadow: outcome.shadow, total: emptyFigures(), step: emptyFigures(), min_p: null };
      value.variants[outcome.variant] = variant;
    }
    addOutcome(variant.total, outcome);
    if (step === value.step) addOutcome(variant.step, outcome);
    await this.countUser(variant, outcome, step, value.step);
    value.control = controlName(value, experiment);
    this.lowerPValues(value);
    if (experiment !== undefined) this.control(experiment, value, outcome.ts);
    this.figures.put(id, value);
  }

  /** The outcome's user's counts into the per-user sums of the whole figures and, when it is of the step in effect, the step's. */
  private async countUser(
    variant: { total: VariantFigures; step: VariantFigures },
    outcome: ExperimentOutcome,
    step: number,
    current: number,
  ): Promise<void> {
    const key = userCountsKey(outcome);
    const before = await this.users.get(key);
    addUserCounts(variant.total, before, outcome.clicks, outcome.impressions);
    // A new user is in no step's figures yet: a late outcome of an earlier step must not make
    // their first outcome of the current step look like a returning user's.
    const counts: UserCounts = before ?? {
      clicks: 0,
      impressions: 0,
      step: -1,
      step_clicks: 0,
      step_impressions: 0,
    };
    counts.clicks += outcome.clicks;
    counts.impressions += outcome.impressions;
    if (step === current) {
      const inStep = before !== undefined && counts.step === current;
      addUserCounts(
        variant.step,
        inStep ? { clicks: counts.step_clicks, impressions: counts.step_impressions } : undefined,
        outcome.clicks,
        outcome.impressions,
      );
      if (!inStep) {
        counts.step = current;
        counts.step_clicks = 0;
        counts.step_impressions = 0;
      }
      counts.step_clicks += outcome.clicks;
      counts.step_impressions += outcome.impressions;
    }
    this.users.put(key, counts);
  }

  /** The experiment's state at `ts`: the table's, or this task's newer decision (stored with its figures). */
  private stateAt(
    id: string,
    ts: number,
    stored: ExperimentFiguresValue | undefined,
  ): Experiment | undefined {
    const fromTable = asOf(this.experiments.get(id), ts);
    const own = stored?.decided;
    if (own === undefined || own.updated_ts > ts) return fromTable;
    if (fromTable !== undefined && fromTable.updated_ts >= own.updated_ts) {
      delete stored!.decided;
      return fromTable;
    }
    return own;
  }

  private lowerPValues(value: ExperimentFiguresValue): void {
    const control = value.control === null ? undefined : value.variants[value.control];
    if (control === undefined) return;
    const a = clickThrough(control.total);
    for (const [name, v] of Object.entries(value.variants)) {
      if (v.shadow || name === value.control) continue;
      const test = differenceTest(a, clickThrough(v.total), DEFAULT_SEQUENTIAL);
      if (test !== undefined && (v.min_p === null || test.p < v.min_p)) v.min_p = test.p;
    }
  }

  private control(experiment: Experiment, value: ExperimentFiguresValue, now: number): void {
    // Whatever follows, a hold reason from an earlier outcome no longer says why.
    delete value.holding;
    if (experiment.status !== 'running' || experiment.canary === null) return;
    // Only the present state is the controller's to change: on a replay the table already holds
    // the decisions (and any later stop), which are not made again.
    const newest = latest(this.experiments.get(experiment.id));
    if (newest !== undefined && newest.updated_ts > experiment.updated_ts) return;
    const own = value.decided;
    if (own !== undefined && own.updated_ts > experiment.updated_ts) return;
    const step: Record<string, VariantFigures> = {};
    for (const [name, v] of Object.entries(value.variants)) step[name] = v.step;
    const decision = decideCanary(experiment, step, now);
    if (decision.action === 'hold') {
      value.holding = decision.reason;
      return;
    }
    // The decision follows the outcome that caused it: outcomes at `now` stay in the step they were counted in.
    const at = now + 1;
    const next = nextExperimentState(experiment, decision, at);
    value.decided = next;
    this.ctx.logger.info(
      { experiment: experiment.id, action: decision.action, step: next.canary?.step, ts: at },
      decision.reason,
    );
    this.ctx.forward({ key: next.id, value: next, timestamp: at }, EXPERIMENTS_SINK);
    if (decision.action === 'grow') return;
    const candidate = experiment.variants.find((v) => v.name === experiment.canary!.candidate);
    const ref = candidate === undefined ? undefined : parseModelRef(candidate.model);
    const current = ref === undefined ? undefined : this.models.get(ref.model)?.[String(ref.version)];
    if (current === undefined) {
      this.ctx.logger.warn(
        { experiment: experiment.id, model: candidate?.model },
        'the canary candidate names no known model version: no ModelVersion event written',
      );
      return;
    }
    const event: ModelVersion = {
      ...current,
      status: decision.action === 'promote' ? 'promoted' : 'rejected',
      status_ts: at,
      reason: `${experiment.id}: ${decision.reason}`,
    };
    this.ctx.forward({ key: event.model, value: event, timestamp: at }, MODEL_VERSIONS_SINK);
  }
}
