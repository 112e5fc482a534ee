/**
 * Replay beside a running topology, without stopping it: a request file in
 * the data dir that the running `recstream process` polls (Kafka Streams'
 * reset tool needs every instance stopped first). Per application, under
 * `<dataDir>/control/<applicationId>/`:
 *
 * - `runner.json`: `{ pid }` of the process running the application;
 * - `replay-request.json`: `{ id, from }`, written by `recstream replay`
 *   (write then rename, so it is never read half-written), or `{ id,
 *   blueGreen: namespace }` from `recstream rebuild --blue-green`, then `{ id,
 *   deleteTopicsOf: namespace }` to delete the retired namespace's topics
 *   once the online store has moved on (the process owns the log);
 * - `active.json`: the active state namespace (active-namespace.ts);
 * - `replay-<id>.json`: the status the runner side writes: `resetting`,
 *   `rebuilding` with `done`/`total` records, then `done` or `failed`.
 *
 * The runner side pauses the application's tasks between two batches,
 * wipes and repositions them (StreamRunner.reset), and reports `done` once
 * every input partition reached the end it had when the reset began and
 * the internal topics are drained (StreamRunner.drained). A blue/green
 * request builds the green namespace in this process beside the running
 * instance (RunningApplication.blueGreen), flips `active.json` at the
 * swap, and reports `done` once the old state is dropped.
 *
 * @example
 * ```ts
 * // in the process running the topology
 * const control = await ReplayControl.serve(dir, new RunningApplication(runner, base, namespace), log, logger);
 * // in `recstream replay`
 * const id = await sendReplayRequest(dir, { kind: 'earliest' }, rewrittenTopics([topology]));
 * const status = await waitForReplay(dir, id, (s) => progress.update(s.done));
 * ```
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { TopologyError } from '../errors.js';
import type { EventLog } from '../log/log.js';
import { sleep } from '../retry.js';
import { writeActiveNamespace } from './active-namespace.js';
import { deleteNamespaceTopics } from './internals/blue-green.js';
import {
  formatReplayFrom,
  parseReplayFrom,
  type ReplayFrom,
  ReplayProgress,
  replayTargets,
} from './internals/reset.js';
import { checkNamespace } from './namespace.js';
import type { RunningApplication } from './running-application.js';

export interface ReplayStatus {
  readonly id: string;
  readonly from: string;
  readonly state: 'resetting' | 'rebuilding' | 'done' | 'failed';
  /** Input records processed since the reset, of `total` (the inputs' end when it began). */
  readonly done: number;
  readonly total: number;
  readonly error?: string;
  /** A blue/green rebuild's green namespace; active once the state is `done`. */
  readonly namespace?: string;
  /** A finished `deleteTopicsOf` request: the topics that existed and are deleted. */
  readonly deletedTopics?: readonly string[];
}

const POLL_MS = 200;

/** The pid of a live process running `applicationDir`'s application, if any. */
export async function runningPid(applicationDir: string): Promise<number | undefined> {
  let pid: number;
  try {
    pid = (JSON.parse(await readFile(join(applicationDir, 'runner.json'), 'utf8')) as { pid: number }).pid;
  } catch {
    return undefined;
  }
  return pid !== process.pid && alive(pid) ? pid : undefined;
}

/**
 * Writes the request and returns its id. `rewritten`: the topics the whole
 * replay re-emits (rewrittenTopics of every application replayed), which
 * this application skips to their end instead of reading twice.
 */
export async function sendReplayRequest(
  applicationDir: string,
  from: ReplayFrom,
  rewritten: ReadonlySet<string>,
): Promise<string> {
  const id = randomUUID();
  await writeAtomically(join(applicationDir, 'replay-request.json'), {
    id,
    from: formatReplayFrom(from),
    rewritten: [...rewritten],
  });
  return id;
}

/**
 * Asks the running process to rebuild the application blue/green into
 * `namespace` (status file as for a replay; `waitForReplay` waits for it).
 */
export async function sendBlueGreenRequest(applicationDir: string, namespace: string): Promise<string> {
  const id = randomUUID();
  await writeAtomically(join(applicationDir, 'replay-request.json'), {
    id,
    from: 'earliest',
    rewritten: [],
    blueGreen: checkNamespace(namespace),
  });
  return id;
}

/**
 * Asks the running process to delete the topics of a retired namespace of
 * the application (not the one it runs); `waitForReplay` waits for it and
 * its status lists them in `deletedTopics`.
 */
export async function sendDeleteTopicsRequest(
  applicationDir: string,
  namespace: string | undefined,
): Promise<string> {
  const id = randomUUID();
  await writeAtomically(join(applicationDir, 'replay-request.json'), {
    id,
    from: 'earliest',
    rewritten: [],
    // null: the default namespace (topics without a namespace suffix).
    deleteTopicsOf: namespace === undefined ? null : checkNamespace(namespace),
  });
  return id;
}

/** Waits for the outcome of a request sent with sendReplayRequest, sendBlueGreenRequest or sendDeleteTopicsRequest. */
export async function waitForReplay(
  applicationDir: string,
  id: string,
  onStatus: (status: ReplayStatus) => void = () => {},
): Promise<ReplayStatus> {
  const statusPath = join(applicationDir, `replay-${id}.json`);
  for (;;) {
    await sleep(POLL_MS);
    const status = await readStatus(statusPath);
    if (status) onStatus(status);
    if (status?.state === 'done' || status?.state === 'failed') {
      await rm(statusPath, { force: true });
      return status;
    }
    if ((await runningPid(applicationDir)) === undefined) {
      await rm(join(applicationDir, 'replay-request.json'), { force: true });
      throw new TopologyError(
        `the process running ${applicationDir} stopped before the replay finished; run recstream replay again`,
      );
    }
  }
}

/** The runner side: announces the running process and serves replay requests until closed. */
export class ReplayControl {
  private timer: NodeJS.Timeout | undefined;
  private busy: Promise<void> = Promise.resolve();

  private constructor(
    private readonly dir: string,
    private readonly app: RunningApplication,
    private readonly log: EventLog,
    private readonly logger: Logger,
  ) {}

  static async serve(
    dir: string,
    app: RunningApplication,
    log: EventLog,
    logger: Logger,
  ): Promise<ReplayControl> {
    await mkdir(dir, { recursive: true });
    await writeAtomically(join(dir, 'runner.json'), { pid: process.pid });
    const control = new ReplayControl(dir, app, log, logger);
    control.schedule();
    return control;
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.busy;
    await rm(join(this.dir, 'runner.json'), { force: true });
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.busy = this.poll().finally(() => {
        if (this.timer !== undefined) this.schedule();
      });
    }, POLL_MS);
  }

  private async poll(): Promise<void> {
    const path = join(this.dir, 'replay-request.json');
    let request: {
      id: string;
      from: string;
      rewritten: string[];
      blueGreen?: string;
      deleteTopicsOf?: string | null;
    };
    try {
      request = JSON.parse(await readFile(path, 'utf8')) as typeof request;
    } catch {
      return;
    }
    await rm(path, { force: true });
    const statusPath = join(this.dir, `replay-${request.id}.json`);
    const report = (s: Omit<ReplayStatus, 'id' | 'from'>) =>
      writeAtomically(statusPath, { id: request.id, from: request.from, ...s });
    if (request.blueGreen !== undefined) return this.blueGreen(request.id, request.blueGreen, report);
    if (request.deleteTopicsOf !== undefined)
      return this.deleteTopicsOf(request.deleteTopicsOf ?? undefined, report);
    try {
      const from = parseReplayFrom(request.from);
      await report({ state: 'resetting', done: 0, total: 0 });
      this.logger.info({ from: request.from, id: request.id }, 'replay requested; resetting the tasks');
      const runner = this.app.runner;
      const partitions = runner.positions().map((p) => p.partition);
      const rewritten = new Set(request.rewritten);
      const targets = await replayTargets(this.app.topology, this.log, [...new Set(partitions)], rewritten);
      await runner.reset(from, rewritten);
      const progress = new ReplayProgress(targets, runner.positions());
      const total = progress.total;
      for (;;) {
        const { done, reached } = progress.at(runner.positions());
        if (reached && (await runner.drained())) {
          await report({ state: 'done', done: total, total });
          this.logger.info({ id: request.id, records: total }, 'replay finished');
          return;
        }
        await report({ state: 'rebuilding', done, total });
        await sleep(POLL_MS);
      }
    } catch (error) {
      this.logger.error({ err: error, id: request.id }, 'replay failed');
      await report({ state: 'failed', done: 0, total: 0, error: String(error) });
    }
  }

  /** Deletes a retired namespace's topics; refuses the namespace this process runs. */
  private async deleteTopicsOf(
    namespace: string | undefined,
    report: (s: Omit<ReplayStatus, 'id' | 'from'>) => Promise<void>,
  ): Promise<void> {
    const requested = namespace ?? 'default';
    try {
      if (namespace === this.app.namespace)
        throw new TopologyError(`namespace ${requested} is the one this process runs; its topics stay`);
      const deleted = await deleteNamespaceTopics(this.log, this.app.baseTopology, namespace);
      this.logger.info(
        { namespace: requested, topics: deleted },
        'deleted the topics of a retired namespace',
      );
      await report({ state: 'done', done: 0, total: 0, namespace: requested, deletedTopics: deleted });
    } catch (error) {
      this.logger.error(
        { err: error, namespace: requested },
        'deleting the topics of a retired namespace failed',
      );
      await report({ state: 'failed', done: 0, total: 0, error: String(error), namespace: requested });
    }
  }

  /** Builds `namespace` beside the running instance, swaps the active pointer, drops the old state. */
  private async blueGreen(
    id: string,
    namespace: string,
    report: (s: Omit<ReplayStatus, 'id' | 'from'>) => Promise<void>,
  ): Promise<void> {
    let last = Promise.resolve();
    try {
      this.logger.info({ id, namespace }, 'blue/green rebuild requested; building beside the running state');
      const { records } = await this.app.blueGreen(namespace, {
        onProgress: (done, total) => {
          last = last.then(() => report({ state: 'rebuilding', done, total, namespace }));
        },
        onSwap: async () => {
          await last;
          await writeActiveNamespace(this.dir, namespace);
          this.logger.info({ id, namespace }, 'blue/green: green caught up; active namespace swapped');
        },
      });
      await report({ state: 'done', done: records, total: records, namespace });
      this.logger.info({ id, namespace, records }, 'blue/green rebuild finished; old state dropped');
    } catch (error) {
      await last;
      this.logger.error({ err: error, id, namespace }, 'blue/green rebuild failed');
      await report({ state: 'failed', done: 0, total: 0, error: String(error), namespace });
    }
  }
}

async function readStatus(path: string): Promise<ReplayStatus | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as ReplayStatus;
  } catch {
    return undefined;
  }
}

async function writeAtomically(path: string, value: unknown): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(value));
  await rename(tmp, path);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
