/**
 * What a StreamRunner reports to Prometheus, under its application and
 * namespace labels: batches in, outputs and dead letters out, commits,
 * store sizes, restores and lag. Without a metrics registry every call is a
 * no-op, and the lag check reads no offsets.
 */

import type { LogRecord } from '../../log/log.js';
import type { RuntimeMetrics } from '../../observability/metrics.js';
import type { DeadLetter } from '../../processor/dead-letter.js';
import type { Topology } from '../../processor/topology.js';
import type { TaskManager } from './task-manager.js';

/** How often, at most, a commit refreshes the lag gauge (it reads every source partition's end). */
const LAG_CHECK_MS = 5000;

export class RunnerMetrics {
  private lastLagCheck = 0;
  /**
   * By partition, each store's size as last reported, in `topology.stores`
   * order. A gauge is set only when its size moved: each set keeps a new
   * entry and labels object in prom-client until the next one, and setting
   * every store of every partition at each commit (ten a second) made those
   * ~7 % of what a responder's process promoted to the old generation.
   */
  private readonly reportedSizes = new Map<number, number[]>();

  constructor(
    private readonly metrics: RuntimeMetrics | undefined,
    readonly labels: { readonly application: string; readonly namespace: string },
    private readonly topology: Topology,
  ) {}

  batchProcessed(records: readonly LogRecord[], started: bigint): void {
    const metrics = this.metrics;
    if (!metrics) return;
    metrics.processLatency.observe(
      { ...this.labels, processor: 'all' },
      Number(process.hrtime.bigint() - started) / 1e9,
    );
    countByTopic(records, (topic, n) => metrics.recordsIn.inc({ ...this.labels, topic }, n));
  }

  deadLettered(letter: DeadLetter): void {
    this.metrics?.deadLetters.inc({ ...this.labels, topic: letter.source_topic, code: letter.error_code });
  }

  appended(topic: string, n: number): void {
    this.metrics?.recordsOut.inc({ ...this.labels, topic }, n);
  }

  restored(store: string, n: number): void {
    this.metrics?.restoredRecords.inc({ ...this.labels, store }, n);
  }

  /** After a commit: its latency, every store's size, and the lag when last checked a while ago. */
  async committed(started: bigint, tasks: TaskManager, now: number): Promise<void> {
    const metrics = this.metrics;
    if (!metrics) return;
    metrics.commits.inc(this.labels);
    metrics.commitLatency.observe(this.labels, Number(process.hrtime.bigint() - started) / 1e9);
    for (const [partition, slot] of tasks.slots) {
      let reported = this.reportedSizes.get(partition);
      if (reported === undefined) {
        reported = [];
        this.reportedSizes.set(partition, reported);
      }
      this.topology.stores.forEach((store, i) => {
        const count = slot.state.approximateCount(store.name);
        if (reported[i] === count) return;
        reported[i] = count;
        metrics.storeEntries.set({ ...this.labels, store: store.name, partition: String(partition) }, count);
      });
    }
    if (now - this.lastLagCheck > LAG_CHECK_MS) await this.updateLag(tasks);
  }

  async updateLag(tasks: TaskManager): Promise<void> {
    const metrics = this.metrics;
    if (!metrics) return;
    this.lastLagCheck = Date.now();
    for (const { topic, partition, lag } of await tasks.lag()) {
      metrics.lag.set({ ...this.labels, topic, partition: String(partition) }, lag);
    }
  }

  /**
   * A stopped runner's last lag and store sizes would otherwise stay on the
   * dashboards (a retired blue instance).
   */
  removeGauges(partitions: Iterable<number>): void {
    const metrics = this.metrics;
    if (!metrics) return;
    for (const partition of partitions) {
      this.reportedSizes.delete(partition);
      for (const store of this.topology.stores)
        metrics.storeEntries.remove({ ...this.labels, store: store.name, partition: String(partition) });
      for (const topic of this.topology.sourceTopics())
        metrics.lag.remove({ ...this.labels, topic, partition: String(partition) });
    }
  }
}

function countByTopic(records: readonly LogRecord[], report: (topic: string, n: number) => void): void {
  let topic = records[0]!.topic;
  let n = 0;
  for (const r of records) {
    if (r.topic !== topic) {
      report(topic, n);
      topic = r.topic;
      n = 0;
    }
    n++;
  }
  report(topic, n);
}
