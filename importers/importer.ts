/**
 * Runs an import: reads an ImportSource and writes its items to `rec.items`,
 * users to `rec.users` and interactions to `rec.interactions` through the
 * producer client (batched, retried, acknowledged before this returns).
 *
 * - An id that appears in an interaction but in no metadata record gets a
 *   minimal Item / User (records.ts) the first time it is seen, with
 *   `updated_ts` = `catalogTs`.
 * - A bad line is counted, listed in the report with its file and line, and
 *   sent to `rec.dlq` (`source_topic` = `import:<file>`, `source_offset` =
 *   line number, `value` = the line's bytes); the import goes on. With
 *   `strict`, every line before the first bad one is written and the import
 *   stops with BadInputLineError instead.
 *
 * @example
 * ```ts
 * const source = await movieLensSource('ml-100k');
 * const report = await runImport(platform, source, { onProgress: (p) => bar.update(p.bytes) });
 * report.interactions; // 100000
 * ```
 */

import { SchemaValidationError } from '../runtime/errors.js';
import type { EventLog } from '../runtime/log/log.js';
import type { Platform } from '../runtime/platform.js';
import { createProducer, type Producer, type ProducerRecord } from '../runtime/producer/producer.js';
import type { Interaction, Item, User } from '../schemas/generated/types.js';
import {
  catalogueSpec,
  DLQ_TOPIC,
  INPUT_TOPICS,
  INTERACTIONS_TOPIC,
  ITEMS_TOPIC,
  USERS_TOPIC,
} from '../schemas/topics.js';
import { ImportChunk, INTERACTIONS, ITEMS, TOPIC_COUNT, USERS } from './chunk.js';
import { BadInputLineError } from './errors.js';
import { minimalItem, minimalUser } from './records.js';
import { type BadLine, type ImportReport, MAX_LISTED_BAD_LINES } from './report.js';
import type { ImportSource, Location, SourceRecord } from './source.js';

/** Dead-lettered line bytes are cut to this, so one huge line cannot exceed a broker's message size. */
export const MAX_DEAD_LETTER_BYTES = 64 * 1024;

export interface ImportOptions {
  /** Stop at the first bad line (after writing every line before it) instead of dead-lettering it. */
  readonly strict?: boolean;
  /** `updated_ts` / `signup_ts` of the minimal items and users; default 0 (known before any event). */
  readonly catalogTs?: number;
  /** Lines parsed between two sends to the producer; default 500. */
  readonly chunkLines?: number;
  readonly onProgress?: (progress: ImportProgress) => void;
}

export interface ImportProgress {
  readonly bytes: number;
  readonly totalBytes: number;
  readonly interactions: number;
  readonly badLines: number;
}

/** The topic of each list of an ImportChunk. */
const TOPIC_NAMES = [ITEMS_TOPIC, USERS_TOPIC, INTERACTIONS_TOPIC];

export async function runImport(
  platform: Pick<Platform, 'log' | 'serde' | 'logger' | 'config'>,
  source: ImportSource,
  options: ImportOptions = {},
): Promise<ImportReport> {
  await ensureImportTopics(platform.log, platform.config.partitions);
  const producer = createProducer({ log: platform.log, serde: platform.serde, logger: platform.logger });
  const run = new ImportRun(producer, source, options);
  try {
    const report = await run.execute();
    await producer.close();
    return report;
  } catch (error) {
    // The import's own error is the one to report; whatever close says after it is secondary.
    await producer.close().catch(() => {});
    throw error;
  }
}

/** Creates the topics an import writes, when missing, as the rest of the platform expects them. */
export async function ensureImportTopics(log: EventLog, partitions: number): Promise<void> {
  const specs = [...INPUT_TOPICS, DLQ_TOPIC].map((name) => catalogueSpec(name, partitions));
  for (const spec of specs) if (!(await log.describeTopic(spec.name))) await log.ensureTopic(spec);
}

class ImportRun {
  private readonly seenItems = new Set<string>();
  private readonly seenUsers = new Set<string>();
  private readonly bad: BadLine[] = [];
  private badLines = 0;
  private deadLetters = 0;
  private interactions = 0;
  private readonly items = { metadata: 0, minimal: 0 };
  private readonly users = { metadata: 0, minimal: 0 };
  private chunk = new ImportChunk();
  private readonly totalBytes: number;
  private readonly modified: Map<string, number>;
  private readonly catalogTs: number;

  constructor(
    private readonly producer: Producer,
    private readonly source: ImportSource,
    private readonly options: ImportOptions,
  ) {
    this.totalBytes = source.files.reduce((n, f) => n + f.bytes, 0);
    this.modified = new Map(source.files.map((f) => [f.path, f.modifiedTs]));
    this.catalogTs = options.catalogTs ?? 0;
  }

  async execute(): Promise<ImportReport> {
    const started = performance.now();
    const chunkLines = this.options.chunkLines ?? 500;
    for await (const batch of this.source.records()) {
      for (const record of batch) {
        if (record.kind === 'bad') {
          await this.refuse(record.at, record.raw, record.field, record.reason);
          continue;
        }
        this.add(record);
        if (this.chunk.lines.length >= chunkLines) await this.sendChunk();
      }
    }
    await this.sendChunk();
    await this.producer.flush();
    return {
      format: this.source.format,
      files: this.source.files,
      interactions: this.interactions,
      items: { ...this.items },
      users: { ...this.users },
      bad_lines: this.badLines,
      bad: this.bad,
      dead_letters: this.deadLetters,
      seconds: (performance.now() - started) / 1000,
    };
  }

  /** Adds a line's records to the chunk, preceded by minimal records for ids seen for the first time. */
  private add(record: Exclude<SourceRecord, { kind: 'bad' }>): void {
    const chunk = this.chunk;
    const [items, users, interactions] = chunk.records as [
      ProducerRecord<Item>[],
      ProducerRecord<User>[],
      ProducerRecord<Interaction>[],
    ];
    chunk.addLine(record.at, record.raw, record.kind === 'item' || record.kind === 'user');
    switch (record.kind) {
      case 'item':
        this.seenItems.add(record.item.item_id);
        items.push({ value: record.item });
        break;
      case 'user':
        this.seenUsers.add(record.user.user_id);
        users.push({ value: record.user });
        break;
      case 'user-seen':
        this.seeUser(record.userId, users);
        break;
      case 'interactions':
        for (const event of record.interactions) {
          this.seeUser(event.user_id, users);
          if (!this.seenItems.has(event.item_id)) {
            this.seenItems.add(event.item_id);
            items.push({ value: minimalItem(event.item_id, this.catalogTs) });
          }
          interactions.push({ value: event });
        }
        break;
    }
  }

  private seeUser(userId: string, users: ProducerRecord<User>[]): void {
    if (this.seenUsers.has(userId)) return;
    this.seenUsers.add(userId);
    users.push({ value: minimalUser(userId, this.catalogTs) });
  }

  /**
   * Sends the chunk, one producer call per topic (items and users before the
   * interactions that mention them). The producer validates a whole call
   * before buffering any of it, so when a value does not match its schema
   * the rest of the chunk is sent line by line, to refuse just the lines at
   * fault.
   */
  private async sendChunk(): Promise<void> {
    const chunk = this.chunk;
    this.chunk = new ImportChunk();
    if (chunk.lines.length === 0) return;
    let sent = 0;
    try {
      for (; sent < TOPIC_COUNT; sent++) {
        const records = chunk.records[sent]!;
        if (records.length > 0) await this.producer.send(TOPIC_NAMES[sent]!, records);
      }
    } catch (error) {
      if (!(error instanceof SchemaValidationError)) throw error;
      for (const [i, line] of chunk.lines.entries()) {
        try {
          for (let topic = sent; topic < TOPIC_COUNT; topic++) {
            const records = chunk.recordsOf(i, topic);
            if (records.length > 0) await this.producer.send(TOPIC_NAMES[topic]!, records);
          }
        } catch (lineError) {
          if (!(lineError instanceof SchemaValidationError)) throw lineError;
          line.refused = true;
          await this.refuse(line.at, line.raw, undefined, lineError.message);
        }
      }
    }
    for (const [i, line] of chunk.lines.entries()) {
      if (line.refused) continue;
      const kind = line.metadata ? 'metadata' : 'minimal';
      this.items[kind] += chunk.countOf(i, ITEMS);
      this.users[kind] += chunk.countOf(i, USERS);
      this.interactions += chunk.countOf(i, INTERACTIONS);
    }
    this.options.onProgress?.({
      bytes: this.source.bytesRead(),
      totalBytes: this.totalBytes,
      interactions: this.interactions,
      badLines: this.badLines,
    });
  }

  private async refuse(at: Location, raw: Buffer, field: string | undefined, reason: string): Promise<void> {
    this.badLines++;
    if (this.bad.length < MAX_LISTED_BAD_LINES)
      this.bad.push({ file: at.file, line: at.line, field: field ?? null, reason });
    const message = `${at.file} line ${at.line}: ${reason}`;
    if (this.options.strict) {
      // Everything before the bad line is written, nothing after it: a re-run after the fix is idempotent.
      await this.sendChunk();
      await this.producer.flush();
      throw new BadInputLineError(
        `${message} (--strict stops at the first bad line)`,
        at.file,
        at.line,
        field,
      );
    }
    const value = raw.length > MAX_DEAD_LETTER_BYTES ? raw.subarray(0, MAX_DEAD_LETTER_BYTES) : raw;
    const cut = value.length < raw.length ? `; value holds the first ${value.length} bytes of the line` : '';
    await this.producer.send(DLQ_TOPIC, [
      {
        value: {
          source_topic: `import:${at.file}`,
          source_partition: 0,
          source_offset: at.line,
          source_timestamp: this.modified.get(at.file) ?? 0,
          key: null,
          value,
          headers: {},
          error_code: 'IMPORT_LINE_INVALID',
          error_message: `${message}${cut}`,
          processor: `import ${this.source.format}`,
          failed_ts: Date.now(),
          attempt: 1,
        },
      },
    ]);
    this.deadLetters++;
  }
}
