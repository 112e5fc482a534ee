/**
 * One stream thread of `recstream process --once --threads N` (a worker
 * thread; `stream-threads.ts` starts it). It owns its share of each
 * application's tasks — their RocksDB stores, changelogs, input positions
 * and commits — exactly as a process with `--instance` owns them. On the
 * embedded log it reads records from the log's files itself and sends
 * the rest to the process's writer ({@link SplitLog}); on Kafka it reaches
 * the process's log through a {@link PortLog}. The process tells it
 * which application to catch up (writers before readers, on every thread
 * at once, in rounds until a round processes nothing anywhere), then to
 * close.
 *
 * Messages in: `{ run: k }` (one round: application k caught up and committed), `{ stop: true }`
 * (SIGTERM or Ctrl-C: the running application finishes its batch, commits
 * and stops; nothing more runs), `{ close: true }`.
 * Messages out: `{ ran: k, stats }`, `{ closed: true }`, `{ failed: message }`.
 */
import { join } from 'node:path';
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { activeRunnerOptions, selectTopologies } from '../app/platform.js';
import type { Config } from '../runtime/config.js';
import { replayOrder } from '../runtime/engine/operations.js';
import { type RunStats, StreamRunner } from '../runtime/engine/runner.js';
import { EmbeddedLog } from '../runtime/log/embedded/embedded-log.js';
import type { EventLog } from '../runtime/log/log.js';
import { PortLog } from '../runtime/log/port/port-log.js';
import { SplitLog } from '../runtime/log/port/split-log.js';
import { runtimeMetrics } from '../runtime/observability/metrics.js';
import { openPlatform } from '../schemas/platform.js';

/** What the process hands a stream thread. */
export interface StreamThreadData {
  readonly config: Config;
  readonly port: MessagePort;
  readonly logKind: EventLog['kind'];
  /** `--app` as given. */
  readonly app: string | undefined;
  /** This thread's partitions of each application, by application id. */
  readonly partitions: Readonly<Record<string, readonly number[]>>;
  readonly thread: number;
}

export type ToStreamThread = { readonly run: number } | { readonly stop: true } | { readonly close: true };
export type FromStreamThread =
  | { readonly ran: number; readonly stats: RunStats }
  | { readonly closed: true }
  | { readonly failed: string };

const NOTHING_RUN: RunStats = { processed: 0, deadLetters: 0, commits: 0 };

/**
 * The log as this thread sees it: on the embedded log, records read from its files here and the
 * rest through the port (`SplitLog`); on Kafka, everything through the port.
 */
async function threadLog(data: StreamThreadData): Promise<EventLog> {
  const writes = new PortLog(data.port, data.logKind);
  if (data.logKind !== 'embedded') return writes;
  const reads = await EmbeddedLog.open(join(data.config.dataDir, 'log'), { readOnly: true });
  return new SplitLog(reads, writes);
}

async function main(data: StreamThreadData, parent: MessagePort): Promise<void> {
  const platform = await openPlatform(data.config, { log: await threadLog(data) });
  const logger = platform.logger.child({ thread: data.thread });
  // One per application, writers first; none where this thread has no partition of it.
  const runners: (StreamRunner | undefined)[] = [];
  try {
    const metrics = runtimeMetrics(platform.metrics);
    for (const topology of replayOrder(await selectTopologies(platform, data.app))) {
      const partitions = data.partitions[topology.applicationId] ?? [];
      if (partitions.length === 0) {
        runners.push(undefined);
        continue;
      }
      const options = await activeRunnerOptions(platform, topology);
      runners.push(
        await StreamRunner.start({
          ...options,
          logger: options.logger.child({ thread: data.thread }),
          metrics,
          partitions,
          onRestore: (store, partition, restored, total) =>
            logger.info(
              { application: topology.applicationId, store, partition, restored, total },
              'restoring',
            ),
        }),
      );
    }
    const inbox = new Inbox(parent, () => {
      for (const runner of runners) runner?.stop();
    });
    for (let message = await inbox.next(); 'run' in message; message = await inbox.next()) {
      const stats = inbox.stopped ? NOTHING_RUN : ((await runners[message.run]?.catchUp()) ?? NOTHING_RUN);
      parent.postMessage({ ran: message.run, stats } satisfies FromStreamThread);
    }
    inbox.close();
  } finally {
    for (const runner of runners) await runner?.close();
    await platform.close();
  }
  parent.postMessage({ closed: true } satisfies FromStreamThread);
}

/** The process's messages in order; a stop is acted on at once, whatever runs. */
class Inbox {
  stopped = false;
  private readonly queue: ToStreamThread[] = [];
  private wake: (() => void) | undefined;
  private readonly listener = (message: ToStreamThread) => {
    if ('stop' in message) {
      this.stopped = true;
      this.onStop();
      return;
    }
    this.queue.push(message);
    this.wake?.();
  };

  constructor(
    private readonly port: MessagePort,
    private readonly onStop: () => void,
  ) {
    port.on('message', this.listener);
  }

  async next(): Promise<Exclude<ToStreamThread, { stop: true }>> {
    while (this.queue.length === 0)
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    return this.queue.shift() as Exclude<ToStreamThread, { stop: true }>;
  }

  /** Stops listening, so the thread can end. */
  close(): void {
    this.port.off('message', this.listener);
  }
}

if (parentPort !== null) {
  const parent = parentPort;
  main(workerData as StreamThreadData, parent).catch((error: unknown) => {
    parent.postMessage({
      failed: error instanceof Error ? (error.stack ?? error.message) : String(error),
    } satisfies FromStreamThread);
  });
}
