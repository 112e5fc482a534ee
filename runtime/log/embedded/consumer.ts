/**
 * The embedded pull consumer: a fixed assignment (every partition of its
 * topics, or the ones asked for) read by one member. Splitting partitions
 * among several members of a group is the Kafka back-end's job; here a group
 * only names where committed offsets are kept.
 *
 * `poll` follows the tail in-process: when caught up it sleeps until an
 * append to this log (any partition) or the timeout. Only the process that
 * holds the directory's lock appends; a read-only log cannot hear that
 * process, so its consumers look at the files again every `recheckMs`.
 */
import { LogUsageError, OffsetOutOfRangeError } from '../../errors.js';
import type { LogConsumer, LogRecord, PollOptions, TopicPartition, TopicPartitionOffset } from '../log.js';
import type { PartitionReader } from './partition-reader.js';
import type { AppendSignal } from './signal.js';

/** What a consumer needs from its log. */
export interface ConsumerHost {
  readonly signal: AppendSignal;
  /** Throws LogUsageError once the log is closed. */
  assertOpen(): void;
  isOpen(): boolean;
  /** Longest sleep of a caught-up `poll` before it reads again; infinite when every append wakes it. */
  readonly recheckMs: number;
  commitOffsets(group: string, offsets: readonly TopicPartitionOffset[]): Promise<void>;
  warn(fields: Record<string, unknown>, message: string): void;
}

export class EmbeddedConsumer implements LogConsumer {
  private readonly host: ConsumerHost;
  private readonly group: string | undefined;
  private readonly parts: readonly PartitionReader[];
  private readonly tps: readonly TopicPartition[];
  private readonly positions: number[];
  private readonly slot = new Map<string, number>();
  private nextStart = 0;
  private closed = false;
  private abortWait: (() => void) | undefined;

  constructor(
    host: ConsumerHost,
    group: string | undefined,
    parts: readonly PartitionReader[],
    positions: number[],
  ) {
    this.host = host;
    this.group = group;
    this.parts = parts;
    this.positions = positions;
    this.tps = parts.map((p) => ({ topic: p.topic, partition: p.index }));
    for (const [i, p] of parts.entries()) this.slot.set(`${p.topic}\u0000${p.index}`, i);
  }

  private assertOpen(): void {
    if (this.closed) throw new LogUsageError('consumer is closed');
    this.host.assertOpen();
  }

  private slotOf(topic: string, partition: number): number {
    const i = this.slot.get(`${topic}\u0000${partition}`);
    if (i === undefined) throw new LogUsageError(`consumer is not assigned ${topic}-${partition}`);
    return i;
  }

  assignment(): readonly TopicPartition[] {
    return this.tps;
  }

  position(topic: string, partition: number): number {
    return this.positions[this.slotOf(topic, partition)]!;
  }

  seek(topic: string, partition: number, offset: number): void {
    this.assertOpen();
    const i = this.slotOf(topic, partition);
    const part = this.parts[i]!;
    if (!Number.isSafeInteger(offset) || offset < part.start || offset > part.end) {
      throw new OffsetOutOfRangeError(
        `seek ${topic}-${partition} to ${offset}: outside [${part.start}, ${part.end}]`,
      );
    }
    this.positions[i] = offset;
  }

  async poll(options?: PollOptions): Promise<LogRecord[]> {
    this.assertOpen();
    const max = options?.maxRecords ?? 1000;
    const timeoutMs = options?.timeoutMs ?? 0;
    const deadline = Date.now() + timeoutMs;
    const signal = this.host.signal;
    for (;;) {
      const seen = signal.version;
      const out = await this.fetch(max);
      if (out.length > 0 || this.closed) return out;
      if (signal.version !== seen) continue;
      const remaining = deadline - Date.now();
      // Closing the consumer or the log ends a waiting poll empty-handed rather than failing it.
      if (remaining <= 0 || !this.host.isOpen()) return out;
      await signal.wait(Math.min(remaining, this.host.recheckMs), (abort) => {
        this.abortWait = abort;
      });
      this.abortWait = undefined;
      if (this.closed || !this.host.isOpen()) return [];
    }
  }

  private async fetch(max: number): Promise<LogRecord[]> {
    const out: LogRecord[] = [];
    const n = this.parts.length;
    for (let k = 0; k < n && out.length < max; k++) {
      const i = (this.nextStart + k) % n;
      const part = this.parts[i]!;
      let position = this.positions[i]!;
      // A follower's end is what it saw last; the writer process may be further on.
      if (position >= part.end) part.refresh();
      if (position < part.start) {
        this.host.warn(
          { topic: part.topic, partition: part.index, position, start: part.start },
          'consumer position was deleted by retention; skipping to the start',
        );
        position = part.start;
      } else if (position > part.end) {
        this.host.warn(
          { topic: part.topic, partition: part.index, position, end: part.end },
          'consumer position is past the end of the log; resetting to the end',
        );
        position = part.end;
      }
      if (position < part.end) position = await part.readInto(position, max, out);
      this.positions[i] = position;
    }
    if (n > 0) this.nextStart = (this.nextStart + 1) % n;
    return out;
  }

  async commit(offsets?: readonly TopicPartitionOffset[]): Promise<void> {
    this.assertOpen();
    if (this.group === undefined) throw new LogUsageError('commit needs a consumer created with a group');
    const toCommit = offsets ?? this.tps.map((tp, i) => ({ ...tp, offset: this.positions[i]! }));
    await this.host.commitOffsets(this.group, toCommit);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.abortWait?.();
  }
}
