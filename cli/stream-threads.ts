/**
 * `recstream process --once --threads N`: the applications' tasks spread
 * over N stream threads of this process (`stream-thread.ts`), the way
 * Kafka Streams spreads a process's tasks over `num.stream.threads`. Thread
 * t takes every N-th partition of each application's share, starting at
 * the t-th, and owns those tasks — stores, changelogs, input positions,
 * commits — as a process would, so a crash, a restart and a replay mean
 * what they mean on one thread. The log stays with this thread; the stream
 * threads reach it through a port (`runtime/log/port/`).
 *
 * As on one thread, the applications run one after another, writers
 * before readers, so snapshots also see every example features wrote in
 * the run. An application runs in rounds: every thread catches up on what
 * its partitions hold and commits; as the tasks of one thread also write
 * the internal topics another thread reads (co-visits, enriched
 * interactions), the next round starts once all have answered, and the
 * application is done when a round processed nothing on any thread.
 *
 * @example
 * ```ts
 * const stats = await runOnceOnThreads(platform, { app: 'all', threads: 2, topologies, shares });
 * ```
 */
import { availableParallelism } from 'node:os';
import { MessageChannel, Worker } from 'node:worker_threads';
import type { RunStats } from '../runtime/engine/runner.js';
import { ConfigError } from '../runtime/errors.js';
import { serveLog } from '../runtime/log/port/serve-log.js';
import type { Topology } from '../runtime/processor/topology.js';
import type { Platform } from '../schemas/platform.js';
import type { FromStreamThread, StreamThreadData, ToStreamThread } from './stream-thread.js';

export interface ThreadedRun {
  /** `--app` as given. */
  readonly app: string | undefined;
  readonly threads: number;
  /** The applications, writers first: the order they run in. */
  readonly topologies: readonly Topology[];
  /** Each application's partitions in this process, in `topologies` order. */
  readonly shares: readonly (readonly number[])[];
}

/** `--threads` as given (`what` names where it came from): a whole number from 1. */
export function parseThreads(text: string, what = '--threads'): number {
  const threads = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(threads) || threads < 1)
    throw new ConfigError(`${what} must be a whole number from 1, got ${JSON.stringify(text)}`);
  return threads;
}

/** Stream threads as asked: a count, or `auto` (the cores, at most the tasks). */
export type ThreadsAsked = number | 'auto';

/** `--threads` or `RECSTREAM_PROCESS_THREADS` as given: a whole number from 1, or `auto`. */
export function parseThreadsAsked(text: string, what: string): ThreadsAsked {
  return text.trim() === 'auto' ? 'auto' : parseThreads(text, what);
}

/**
 * How many threads `asked` means for applications whose partitions in this process are `shares`:
 * `auto` is the cores, at most the largest share, since a thread with no task only idles.
 *
 * @example
 * ```ts
 * resolveThreads('auto', [[0, 1, 2, 3]], 16); // 4
 * resolveThreads('auto', [[0, 1, 2, 3]], 2);  // 2
 * ```
 */
export function resolveThreads(
  asked: ThreadsAsked,
  shares: readonly (readonly number[])[],
  cores: number = availableParallelism(),
): number {
  if (asked !== 'auto') return asked;
  return Math.max(1, Math.min(cores, Math.max(0, ...shares.map((share) => share.length))));
}

/** Thread `t` of `threads`: every `threads`-th partition of `share`, from the `t`-th. */
export function threadShare(share: readonly number[], thread: number, threads: number): number[] {
  return share.filter((_, i) => i % threads === thread);
}

function add(a: RunStats, b: RunStats): RunStats {
  return {
    processed: a.processed + b.processed,
    deadLetters: a.deadLetters + b.deadLetters,
    commits: a.commits + b.commits,
  };
}

const NOTHING: RunStats = { processed: 0, deadLetters: 0, commits: 0 };

/** The stats of one round, summed over the threads' answers. */
function roundStats(answers: readonly FromStreamThread[]): RunStats {
  return answers.reduce<RunStats>((total, answer) => {
    if (!('ran' in answer)) throw new Error(`stream thread answered ${JSON.stringify(answer)} to a run`);
    return add(total, answer.stats);
  }, NOTHING);
}

/** A stream thread as the process sees it: its worker, and its answers in order. */
class StreamThread {
  private readonly answers: FromStreamThread[] = [];
  private waiting: { resolve(m: FromStreamThread): void; reject(e: Error): void } | undefined;
  private failure: Error | undefined;
  readonly exited: Promise<number>;

  constructor(readonly worker: Worker) {
    worker.on('message', (m: FromStreamThread) => {
      if ('failed' in m) this.fail(new Error(`stream thread failed: ${m.failed}`));
      else if (this.waiting !== undefined) {
        this.waiting.resolve(m);
        this.waiting = undefined;
      } else this.answers.push(m);
    });
    worker.on('error', (error) => this.fail(error));
    this.exited = new Promise((resolve) => worker.once('exit', resolve));
    this.exited.then((code) => this.fail(new Error(`stream thread exited with code ${code}`)));
  }

  send(message: ToStreamThread): void {
    this.worker.postMessage(message);
  }

  next(): Promise<FromStreamThread> {
    const answer = this.answers.shift();
    if (answer !== undefined) return Promise.resolve(answer);
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.waiting?.reject(this.failure);
    this.waiting = undefined;
  }
}

/**
 * Runs each application to the end of its input on `threads` stream
 * threads; returns each application's stats, summed over the threads.
 * `stop` (SIGTERM, Ctrl-C) makes the running application finish its batch
 * and commit, and nothing more run.
 */
export async function runOnceOnThreads(
  platform: Platform,
  run: ThreadedRun,
  onStop: (stop: () => void) => void,
): Promise<RunStats[]> {
  const threads: StreamThread[] = [];
  const served = [];
  try {
    for (let t = 0; t < run.threads; t++) {
      const { port1, port2 } = new MessageChannel();
      served.push(serveLog(platform.log, port1));
      const partitions = Object.fromEntries(
        run.topologies.map((topology, k) => [
          topology.applicationId,
          threadShare(run.shares[k]!, t, run.threads),
        ]),
      );
      const data: StreamThreadData = {
        config: platform.config,
        port: port2,
        logKind: platform.log.kind,
        app: run.app,
        partitions,
        thread: t,
      };
      threads.push(
        new StreamThread(
          new Worker(new URL('./stream-thread.js', import.meta.url), {
            workerData: data,
            transferList: [port2],
          }),
        ),
      );
    }
    let stopped = false;
    onStop(() => {
      stopped = true;
      for (const thread of threads) thread.send({ stop: true });
    });
    const stats: RunStats[] = [];
    for (let k = 0; k < run.topologies.length && !stopped; k++) {
      let total = NOTHING;
      for (;;) {
        for (const thread of threads) thread.send({ run: k });
        const round = roundStats(await Promise.all(threads.map((thread) => thread.next())));
        total = add(total, round);
        // Nothing processed anywhere: nothing was written either, so every thread's inputs are drained.
        if (round.processed === 0 || stopped) break;
      }
      stats.push(total);
    }
    for (const thread of threads) thread.send({ close: true });
    await Promise.all(threads.map((thread) => thread.next()));
    await Promise.all(threads.map((thread) => thread.exited));
    return stats;
  } finally {
    await Promise.all(threads.map((thread) => thread.worker.terminate()));
    await Promise.all(served.map((s) => s.close()));
  }
}
