/**
 * One application as `recstream process` runs it: the runner looping now,
 * which a blue/green rebuild may replace with a green one while the loop
 * goes on (internals/blue-green.ts). Replays and readers always reach the current
 * runner through it.
 *
 * @example
 * ```ts
 * const app = new RunningApplication(await StreamRunner.start(options), base);
 * await app.blueGreen('g1', { onProgress, onSwap: (green) => writeActiveNamespace(dir, 'g1') });
 * const stats = await app.finished();   // after stop(), whichever runner is current
 * ```
 */
import { rm } from 'node:fs/promises';
import { TopologyError } from '../errors.js';
import type { Topology } from '../processor/topology.js';
import { type BuildProgress, GreenBuild, handover } from './internals/blue-green.js';
import { optionsInNamespace } from './namespace.js';
import type { RunnerOptions, RunStats, StreamRunner } from './runner.js';

interface Instance {
  readonly runner: StreamRunner;
  readonly options: RunnerOptions;
  readonly run: Promise<RunStats>;
}

export interface SwapHooks {
  /** Records rebuilt of the inputs' end at start, while green catches up. */
  readonly onProgress: BuildProgress;
  /**
   * Green has taken over the outputs and blue covered every muted one; blue
   * still runs. Make green the active namespace here (the pointer file, the
   * online store's readers). A failure leaves blue running and stops green.
   */
  readonly onSwap: (green: StreamRunner) => Promise<void>;
}

export class RunningApplication {
  private current: Instance;
  private building: GreenBuild | undefined;
  private stopping = false;

  /**
   * Starts `runner`'s loop. `base`: the application's options in the
   * default namespace, from which a green namespace's are derived.
   */
  constructor(
    runner: StreamRunner,
    private readonly base: RunnerOptions,
    namespace: string | undefined,
  ) {
    this.current = { runner, options: optionsInNamespace(base, namespace), run: runner.run() };
  }

  get runner(): StreamRunner {
    return this.current.runner;
  }

  get topology(): Topology {
    return this.current.options.topology;
  }

  get namespace(): string | undefined {
    return this.current.options.namespace;
  }

  /** The application's topology in the default namespace, from which every namespace's is derived. */
  get baseTopology(): Topology {
    return this.base.topology;
  }

  /** Stops the current runner and a green one being built. */
  stop(): void {
    this.stopping = true;
    this.current.runner.stop();
    this.building?.runner.stop();
  }

  /** The stats of the runner current when the loop ended (after a swap, green's). */
  async finished(): Promise<RunStats> {
    for (;;) {
      const instance = this.current;
      const stats = await instance.run;
      if (instance === this.current) return stats;
    }
  }

  /**
   * Builds `namespace` from earliest beside the current runner (blue), which
   * keeps processing; hands over, calls `onSwap`, stops blue and deletes its
   * state dir. Resolves with the input records rebuilt. Blue's topics stay
   * until the command deletes them (`deleteNamespaceTopics`), once every
   * reader, the online store's included, has moved to green.
   */
  async blueGreen(namespace: string, hooks: SwapHooks): Promise<{ records: number }> {
    if (this.building) throw new TopologyError('a blue/green rebuild of this application is already running');
    if (namespace === this.namespace)
      throw new TopologyError(`namespace ${namespace} is the active one; name another namespace`);
    const blue = this.current;
    const green = optionsInNamespace(this.base, namespace);
    const build = await GreenBuild.start(green);
    this.building = build;
    let ended = false;
    let greenFailure: unknown;
    const greenRun = build.runner.run();
    greenRun.then(
      () => (ended = true),
      (error: unknown) => {
        ended = true;
        greenFailure = error;
      },
    );
    blue.run.then(
      () => (ended = true),
      () => (ended = true),
    );
    const stopped = () => this.stopping || ended;
    try {
      await build.caughtUp(hooks.onProgress, stopped);
      await handover(blue.runner, blue.options, build, stopped);
      await hooks.onSwap(build.runner);
    } catch (error) {
      this.building = undefined;
      build.runner.stop();
      await greenRun.catch(() => undefined);
      // Green's own failure says more than "stopped".
      throw greenFailure ?? error;
    }
    this.current = { runner: build.runner, options: green, run: greenRun };
    this.building = undefined;
    blue.runner.stop();
    await blue.run.catch((error: unknown) =>
      blue.options.logger.warn({ err: error }, 'blue instance failed while stopping after the swap'),
    );
    await rm(blue.options.stateDir, { recursive: true, force: true });
    return { records: build.total };
  }
}
