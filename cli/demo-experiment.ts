/**
 * The demo's A/B test and its users. Once the trainer has published the
 * demo's first two model versions (neither rejected), `demo-ab` serves half
 * the users each version, and closed-loop users of the demo's world (a few
 * requests a second, beside the open-loop live stream) ask the responder
 * for their home lists and react to them, so each variant's click-through
 * builds up from what it served. The variants' online figures are printed
 * as they come in (`figures`).
 *
 * @example
 * ```ts
 * const ab = new DemoExperiment(platform, say);
 * await ab.onVersion();            // after each published version: starts demo-ab once two are there
 * const loop = ab.closedLoop(world, responder.url, signal);
 * ```
 */
import { join } from 'node:path';
import { startExperiment } from '../registry/experiments/experiment-actions.js';
import { readExperimentFigures } from '../registry/experiments/experiment-figures.js';
import { ExperimentRegistry } from '../registry/experiments/experiment-registry.js';
import { ModelRegistry } from '../registry/model-registry.js';
import type { OnlineStore } from '../runtime/online/online-store.js';
import type { Platform } from '../runtime/platform.js';
import type { ModelVersion } from '../schemas/generated/types.js';
import { type ClosedLoopSummary, runClosedLoop } from '../sim/closed-loop/closed-loop.js';
import type { SimulationOptions } from '../sim/options.js';
import { World } from '../sim/world.js';

/** The demo's experiment id. */
export const DEMO_EXPERIMENT = 'demo-ab';
/** Requests a second the demo's closed-loop users make: a light load beside the live stream. */
const CLOSED_LOOP_RATE = 5;

export class DemoExperiment {
  private started = false;
  private turn: Promise<void> = Promise.resolve();
  private lastFigures = '';

  constructor(
    private readonly platform: Platform,
    private readonly say: (line: string) => void,
  ) {}

  /** Starts `demo-ab` once the model has two versions that may serve; idempotent, one call at a time. */
  onVersion(): Promise<void> {
    this.turn = this.turn.catch(() => undefined).then(() => this.startOnce());
    return this.turn;
  }

  private async startOnce(): Promise<void> {
    if (this.started) return;
    const { log, serde, config } = this.platform;
    const experiments = await ExperimentRegistry.load(log, serde);
    if (experiments.get(DEMO_EXPERIMENT) !== undefined) {
      this.started = true;
      return;
    }
    const versions = (await ModelRegistry.load(log, serde)).versions(config.modelName).slice(0, 2);
    if (versions.length < 2) return;
    this.started = true;
    const refused = versions.find((v) => v.status === 'rejected' || v.status === 'rolled_back');
    if (refused !== undefined) {
      this.say(`no A/B test: ${label(refused)} is ${refused.status}`);
      return;
    }
    const [first, second] = versions as [ModelVersion, ModelVersion];
    await startExperiment(this.platform, {
      id: DEMO_EXPERIMENT,
      description: `the demo's first two model versions, ${label(first)} against ${label(second)}`,
      salt: `demo-${first.created_ts}`,
      variants: [
        { name: `v${first.version}`, model: label(first), share: 0.5 },
        { name: `v${second.version}`, model: label(second), share: 0.5 },
      ],
    });
    this.say(
      `A/B test ${DEMO_EXPERIMENT} started: half the users get ${label(first)}, half ${label(second)}; ` +
        `recstream experiments show ${DEMO_EXPERIMENT}`,
    );
  }

  /**
   * One line of the A/B test's online figures per variant (requests,
   * impressions, click-through with its interval, the verdict against the
   * first variant), when they changed since the last call; undefined
   * before the test runs or before its first list is counted.
   */
  async figures(online: OnlineStore): Promise<string | undefined> {
    if (!this.started) return undefined;
    const experiment = (await ExperimentRegistry.load(this.platform.log, this.platform.serde)).get(
      DEMO_EXPERIMENT,
    );
    const report = await readExperimentFigures(online, DEMO_EXPERIMENT, experiment);
    if (report === undefined) return undefined;
    const line = report.variants
      .map(
        (v) =>
          `${v.name} ${v.requests} lists, ctr ${v.ctr.toFixed(4)} [${v.ctr_ci[0].toFixed(4)}, ${v.ctr_ci[1].toFixed(4)}]` +
          (v.verdict === null ? '' : ` — ${v.verdict}`),
      )
      .join('; ');
    if (line === this.lastFigures) return undefined;
    this.lastFigures = line;
    return `${DEMO_EXPERIMENT}: ${line}`;
  }

  /**
   * Closed-loop users of the demo's world against the responder until
   * `signal` aborts; their truth log goes to `<data-dir>/closed-loop/`.
   */
  closedLoop(world: SimulationOptions, responder: string, signal: AbortSignal): Promise<ClosedLoopSummary> {
    return runClosedLoop({
      world: new World(world),
      responder,
      durationMs: Number.POSITIVE_INFINITY,
      rate: CLOSED_LOOP_RATE,
      visits: 4,
      truthPath: join(this.platform.config.dataDir, 'closed-loop', 'truth.jsonl'),
      signal,
    });
  }
}

function label(version: ModelVersion): string {
  return `${version.model}@${version.version}`;
}
