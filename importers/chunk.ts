/**
 * The records of a run of parsed lines, waiting to be sent: one flat list
 * per topic (so a chunk goes to the producer in one call per topic) and, per
 * line, where its records end in each list (so a chunk the schema refuses
 * can be re-sent line by line to find the line at fault).
 *
 * @example
 * ```ts
 * const chunk = new ImportChunk();
 * chunk.addLine(at, raw, false);
 * chunk.records[INTERACTIONS].push({ value: event });
 * for (const line of chunk.lines) chunk.recordsOf(line, INTERACTIONS);
 * ```
 */
import type { ProducerRecord } from '../runtime/producer/producer.js';
import type { Location } from './source.js';

/** Topic positions in `ImportChunk.records`, in the order they are sent. */
export const ITEMS = 0;
export const USERS = 1;
export const INTERACTIONS = 2;
export const TOPIC_COUNT = 3;

export interface ChunkLine {
  readonly at: Location;
  readonly raw: Buffer;
  /** Whether its items / users came from a metadata file rather than being minimal records. */
  readonly metadata: boolean;
  /** Where its records start in each topic's list; they end where the next line's start. */
  readonly starts: readonly number[];
  refused: boolean;
}

export class ImportChunk {
  readonly records: ProducerRecord<unknown>[][] = [[], [], []];
  readonly lines: ChunkLine[] = [];

  /** Opens a line; the records pushed until the next `addLine` are its own. */
  addLine(at: Location, raw: Buffer, metadata: boolean): void {
    this.lines.push({ at, raw, metadata, starts: this.records.map((r) => r.length), refused: false });
  }

  recordsOf(index: number, topic: number): ProducerRecord<unknown>[] {
    const start = this.lines[index]!.starts[topic]!;
    const end = this.lines[index + 1]?.starts[topic] ?? this.records[topic]!.length;
    return this.records[topic]!.slice(start, end);
  }

  /** How many records of `topic` the line holds. */
  countOf(index: number, topic: number): number {
    const end = this.lines[index + 1]?.starts[topic] ?? this.records[topic]!.length;
    return end - this.lines[index]!.starts[topic]!;
  }
}
