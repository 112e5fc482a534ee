/**
 * The consumers behind `KafkaLog.read`: one per partition, opened on the
 * first read of it (a group join), kept while reads keep coming and closed
 * after `idleMs` without one. Reads of one partition run one after another on
 * its reader, which seeks only when the next read does not start where the
 * last one stopped, so sequential reads are served from its buffer.
 *
 * @example
 * ```ts
 * const readers = new ReaderPool(host, 30_000, 30_000);
 * const records = await readers.read('rec.items', 0, 0, 500, end);
 * readers.forget('rec.items'); // the topic was deleted
 * await readers.close();
 * ```
 */
import { ConnectionError } from '../../errors.js';
import type { LogRecord } from '../log.js';
import { KafkaLogConsumer } from './consumer.js';
import type { ConsumerHost } from './group-member.js';

interface Reader {
  readonly consumer: KafkaLogConsumer;
  /** Reads of one partition run one after another on its reader. */
  turn: Promise<unknown>;
  idle: NodeJS.Timeout | undefined;
}

const keyOf = (topic: string, partition: number) => `${topic}\u0000${partition}`;

export class ReaderPool {
  private readonly readers = new Map<string, Reader>();

  constructor(
    private readonly host: ConsumerHost,
    private readonly idleMs: number,
    private readonly readTimeoutMs: number,
  ) {}

  /** Up to `max` records of one partition from `offset`, which the caller checked is below `end`. */
  async read(
    topic: string,
    partition: number,
    offset: number,
    max: number,
    end: number,
  ): Promise<LogRecord[]> {
    const reader = await this.reader(topic, partition);
    const work = reader.turn.then(() => this.readWith(reader, topic, partition, offset, max, end));
    reader.turn = work.catch(() => undefined);
    try {
      const records = await work;
      this.touch(topic, partition, reader);
      return records;
    } catch (err) {
      // A reader that failed once (lost membership, broker error) is not trusted again; the next read opens a new one.
      this.evict(topic, partition, reader);
      throw err;
    }
  }

  /** Closes the readers of a topic, so a topic re-created under its name gets new ones. */
  forget(topic: string): void {
    for (const [key, reader] of this.readers)
      if (key.startsWith(`${topic}\u0000`)) this.evict(topic, Number(key.slice(topic.length + 1)), reader);
  }

  async close(): Promise<void> {
    const readers = [...this.readers.values()];
    this.readers.clear();
    for (const r of readers) clearTimeout(r.idle);
    await Promise.allSettled(readers.map((r) => r.consumer.close()));
  }

  private async readWith(
    reader: Reader,
    topic: string,
    partition: number,
    offset: number,
    max: number,
    end: number,
  ): Promise<LogRecord[]> {
    const c = reader.consumer;
    if (c.position(topic, partition) !== offset) c.seek(topic, partition, offset);
    const out: LogRecord[] = [];
    const deadline = Date.now() + this.readTimeoutMs;
    while (out.length === 0 && c.position(topic, partition) < end) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new ConnectionError(
          `read ${topic}-${partition} from ${offset}: no records within ${this.readTimeoutMs} ms though the broker reports end ${end}`,
        );
      out.push(...(await c.poll({ maxRecords: max, timeoutMs: Math.min(left, 1_000) })));
    }
    // Top up from what the reader already buffered; the caller reads again for more.
    while (out.length < max) {
      const more = await c.poll({ maxRecords: max - out.length, timeoutMs: 0 });
      if (more.length === 0) break;
      out.push(...more);
    }
    return out;
  }

  private async reader(topic: string, partition: number): Promise<Reader> {
    const key = keyOf(topic, partition);
    const cached = this.readers.get(key);
    if (cached) return cached;
    const consumer = await KafkaLogConsumer.open(this.host, {
      topics: [topic],
      partitions: [partition],
      from: 'earliest',
    });
    const raced = this.readers.get(key);
    if (raced) {
      await consumer.close();
      return raced;
    }
    const reader: Reader = { consumer, turn: Promise.resolve(), idle: undefined };
    this.readers.set(key, reader);
    return reader;
  }

  private touch(topic: string, partition: number, reader: Reader): void {
    clearTimeout(reader.idle);
    reader.idle = setTimeout(() => this.evict(topic, partition, reader), this.idleMs);
    reader.idle.unref();
  }

  private evict(topic: string, partition: number, reader: Reader): void {
    clearTimeout(reader.idle);
    const key = keyOf(topic, partition);
    if (this.readers.get(key) !== reader) return;
    this.readers.delete(key);
    reader.turn.then(() => reader.consumer.close()).catch(() => undefined);
  }
}
