/**
 * A task's sink outputs on their way to the log: held serialized (or still
 * serializing) until the next commit, then grouped by topic in the order
 * they were emitted so each topic is appended in one batch. The runner's
 * commit and the test driver both hand outputs on this way.
 */
import type { RecordHeaders } from '../../log/log.js';

/** A sink's output, serialized, waiting for the next commit. */
export interface PendingOutput {
  readonly topic: string;
  readonly key: string | null;
  readonly value: Buffer | null | Promise<Buffer>;
  readonly timestamp: number;
  readonly headers: RecordHeaders | undefined;
  /** Explicit target partition; undefined: the key's partition. */
  readonly partition: number | undefined;
}

/** A sink output with its value serialized, ready to append. */
export interface ResolvedOutput {
  readonly key: string | null;
  readonly value: Buffer | null;
  readonly timestamp: number;
  readonly headers: RecordHeaders | undefined;
  /** Explicit target partition; undefined: the key's partition. */
  readonly partition: number | undefined;
}

/** Awaits each output's value and adds it to its topic's list in `byTopic`, in order. */
export async function groupByTopic(
  outputs: readonly PendingOutput[],
  byTopic: Map<string, ResolvedOutput[]>,
): Promise<void> {
  for (const out of outputs) {
    const value = out.value instanceof Promise ? await out.value : out.value;
    let list = byTopic.get(out.topic);
    if (!list) {
      list = [];
      byTopic.set(out.topic, list);
    }
    list.push({
      key: out.key,
      value,
      timestamp: out.timestamp,
      headers: out.headers,
      partition: out.partition,
    });
  }
}
