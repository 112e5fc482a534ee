/**
 * The order in which a task reads its source partitions (Kafka Streams'
 * PartitionGroup and RecordQueue, with `max.task.idle.ms` as in KIP-353 and
 * KIP-695). The consumer gives no order across topics: how far one topic is
 * read ahead of another depends on fetch timing and poll sizes. So polled
 * records wait here, one queue per source topic-partition, and a task takes
 * next the buffered head with the lowest timestamp (ties: the topology's
 * source order; within a queue, offset order). A head is taken only while
 * every other queue of its task holds a record or its partition is known to
 * be read to its end; an empty queue whose partition has records waiting
 * (`position < endOffset`) makes the task wait for the next fetch, an empty
 * one at its end makes it wait `maxIdleMs` more (0: not at all).
 *
 * A queue holding `capacity` records pauses its partition on the consumer
 * until processing has taken it down to half, so a topic read far ahead
 * never fills memory while the task waits for another one.
 */
import type { LogConsumer, LogRecord, TopicPartition } from '../../log/log.js';

interface RecordQueue {
  readonly tp: TopicPartition;
  records: LogRecord[];
  head: number;
  paused: boolean;
}

interface TaskQueues {
  /** One per source topic, in the topology's source order (the tie-break). */
  readonly queues: readonly RecordQueue[];
  /** When the task started waiting for a partition at its end; -1: not waiting. */
  idleSince: number;
}

/**
 * The source queues of every task of one runner.
 *
 * @example
 * ```ts
 * const groups = new PartitionGroups(consumer, ['rec.interactions', 'rec.users'], [0, 1], 0, 2000);
 * groups.add(await consumer.poll({ maxRecords: 2000 }));
 * for (const record of groups.drain(Date.now())) await process(record);
 * ```
 */
export class PartitionGroups {
  private readonly tasks: TaskQueues[] = [];
  private readonly byTopic = new Map<string, Map<number, RecordQueue>>();
  private size = 0;

  constructor(
    private readonly consumer: LogConsumer,
    sourceTopics: readonly string[],
    partitions: Iterable<number>,
    private readonly maxIdleMs: number,
    private readonly capacity: number,
  ) {
    for (const topic of sourceTopics) this.byTopic.set(topic, new Map());
    for (const partition of partitions) {
      const queues = sourceTopics.map((topic) => {
        const queue: RecordQueue = { tp: { topic, partition }, records: [], head: 0, paused: false };
        this.byTopic.get(topic)!.set(partition, queue);
        return queue;
      });
      this.tasks.push({ queues, idleSince: -1 });
    }
  }

  /** Records polled but not yet handed out. */
  get buffered(): number {
    return this.size;
  }

  /** The next offset to process of a source partition: its first buffered record, else the consumer's position. */
  position(topic: string, partition: number): number {
    const queue = this.byTopic.get(topic)?.get(partition);
    if (queue !== undefined && queue.head < queue.records.length) return queue.records[queue.head]!.offset;
    return this.consumer.position(topic, partition);
  }

  /** Buffers polled records, pausing partitions whose queue is full. */
  add(records: readonly LogRecord[]): void {
    for (const record of records) {
      const queue = this.byTopic.get(record.topic)?.get(record.partition);
      if (queue === undefined) continue;
      queue.records.push(record);
      this.size++;
      if (!queue.paused && queue.records.length - queue.head >= this.capacity) {
        queue.paused = true;
        this.consumer.pause([queue.tp]);
      }
    }
  }

  /** Takes every record that may be processed now, in processing order. */
  drain(now: number): LogRecord[] {
    const out: LogRecord[] = [];
    for (const task of this.tasks) this.drainTask(task, now, out);
    this.size -= out.length;
    return out;
  }

  private drainTask(task: TaskQueues, now: number, out: LogRecord[]): void {
    for (;;) {
      let next: RecordQueue | undefined;
      let atEnd = false;
      for (const queue of task.queues) {
        if (queue.head < queue.records.length) {
          // Strictly lower: on equal timestamps the earlier source wins.
          if (next === undefined || queue.records[queue.head]!.timestamp < next.records[next.head]!.timestamp)
            next = queue;
        } else if (this.hasLag(queue.tp)) {
          // Records known to exist come with a later fetch: wait for them, never race ahead.
          task.idleSince = -1;
          this.settle(task);
          return;
        } else atEnd = true;
      }
      if (next === undefined) {
        task.idleSince = -1;
        break;
      }
      if (atEnd && this.maxIdleMs > 0) {
        if (task.idleSince < 0) task.idleSince = now;
        if (now - task.idleSince < this.maxIdleMs) break;
      } else if (!atEnd) task.idleSince = -1;
      out.push(next.records[next.head]!);
      next.head++;
    }
    this.settle(task);
  }

  private hasLag(tp: TopicPartition): boolean {
    return this.consumer.position(tp.topic, tp.partition) < this.consumer.endOffset(tp.topic, tp.partition);
  }

  /** Frees taken records and resumes partitions whose queue is down to half. */
  private settle(task: TaskQueues): void {
    for (const queue of task.queues) {
      if (queue.head === queue.records.length) {
        queue.records = [];
        queue.head = 0;
      } else if (queue.head > 1024 && queue.head * 2 > queue.records.length) {
        queue.records = queue.records.slice(queue.head);
        queue.head = 0;
      }
      if (queue.paused && queue.records.length - queue.head <= this.capacity / 2) {
        queue.paused = false;
        this.consumer.resume([queue.tp]);
      }
    }
  }
}
