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
 * const source = await movieLensSource('../shared/data/ml-100k');
 * const report = await runImport(platform, source, { onProgress: (p) => bar.update(p.bytes) });
 * report.interactions; // 100000
 * ```
 */
import type { Interaction, Item, User } from '../../schemas/generated/types.js';
import { BadInputLineError, SchemaValidationError } from '../errors.js';
import type { EventLog, TopicSpec } from '../log/log.js';
import type { Platform } from '../platform.js';
import { DLQ_TOPIC } from '../processor/dead-letter.js';
import { createProducer, type Producer } from '../producer/producer.js';
import { minimalItem, minimalUser } from './records.js';
import { type BadLine, type ImportReport, MAX_LISTED_BAD_LINES } from './report.js';
import type { ImportSource, Location, SourceRecord } from './source.js';

export const INTERACTIONS_TOPIC = 'rec.interactions';
export const ITEMS_TOPIC = 'rec.items';
export const USERS_TOPIC = 'rec.users';

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

/** The topics a chunk is sent to, in order, and the values each takes from a line. */
const TOPICS: readonly (readonly [string, (p: Pending) => readonly unknown[]])[] = [
  [ITEMS_TOPIC, (p) => p.items],
  [USERS_TOPIC, (p) => p.users],
  [INTERACTIONS_TOPIC, (p) => p.interactions],
];

/** One parsed line waiting to be sent, with the records it produced. */
interface Pending {
  readonly at: Location;
  readonly raw: Buffer;
  readonly items: Item[];
  readonly users: User[];
  readonly interactions: Interaction[];
  /** Whether `items` / `users` came from a metadata file rather than being minimal records. */
  readonly metadata: boolean;
  refused: boolean;
}

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
  const specs: TopicSpec[] = [
    { name: INTERACTIONS_TOPIC, partitions },
    { name: ITEMS_TOPIC, partitions, compacted: true },
    { name: USERS_TOPIC, partitions, compacted: true },
    { name: DLQ_TOPIC, partitions: 1 },
  ];
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
  private chunk: Pending[] = [];
  private readonly totalBytes: number;
  private readonly modified: Map<string, number>;

  constructor(
    private readonly producer: Producer,
    private readonly source: ImportSource,
    private readonly options: ImportOptions,
  ) {
    this.totalBytes = source.files.reduce((n, f) => n + f.bytes, 0);
    this.modified = new Map(source.files.map((f) => [f.path, f.modifiedTs]));
  }

  async execute(): Promise<ImportReport> {
    const started = performance.now();
    const chunkLines = this.options.chunkLines ?? 500;
    for await (const record of this.source.records()) {
      if (record.kind === 'bad') {
        await this.refuse(record.at, record.raw, record.field, record.reason);
        continue;
      }
      this.chunk.push(this.pending(record));
      if (this.chunk.length >= chunkLines) await this.sendChunk();
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

  private pending(record: Exclude<SourceRecord, { kind: 'bad' }>): Pending {
    const p: Pending = {
      at: record.at,
      raw: record.raw,
      items: [],
      users: [],
      interactions: [],
      metadata: record.kind === 'item' || record.kind === 'user',
      refused: false,
    };
    const ts = this.options.catalogTs ?? 0;
    switch (record.kind) {
      case 'item':
        this.seenItems.add(record.item.item_id);
        p.items.push(record.item);
        break;
      case 'user':
        this.seenUsers.add(record.user.user_id);
        p.users.push(record.user);
        break;
      case 'user-seen':
        if (!this.seenUsers.has(record.userId)) {
          this.seenUsers.add(record.userId);
          p.users.push(minimalUser(record.userId, ts));
        }
        break;
      case 'interactions':
        for (const event of record.interactions) {
          if (!this.seenUsers.has(event.user_id)) {
            this.seenUsers.add(event.user_id);
            p.users.push(minimalUser(event.user_id, ts));
          }
          if (!this.seenItems.has(event.item_id)) {
            this.seenItems.add(event.item_id);
            p.items.push(minimalItem(event.item_id, ts));
          }
          p.interactions.push(event);
        }
        break;
    }
    return p;
  }

  /**
   * Sends the chunk's records, one producer call per topic (items and users
   * before the interactions that mention them). The producer validates a
   * whole call before buffering any of it, so when a value does not match its
   * schema the rest of the chunk is sent line by line, to refuse just the
   * lines at fault.
   */
  private async sendChunk(): Promise<void> {
    const chunk = this.chunk;
    this.chunk = [];
    if (chunk.length === 0) return;
    let sent = 0;
    try {
      for (; sent < TOPICS.length; sent++) {
        const [topic, values] = TOPICS[sent]!;
        const records = chunk.flatMap((p) => values(p).map((value) => ({ value })));
        if (records.length > 0) await this.producer.send(topic, records);
      }
    } catch (error) {
      if (!(error instanceof SchemaValidationError)) throw error;
      for (const p of chunk) {
        try {
          for (const [topic, values] of TOPICS.slice(sent)) {
            const records = values(p).map((value) => ({ value }));
            if (records.length > 0) await this.producer.send(topic, records);
          }
        } catch (lineError) {
          if (!(lineError instanceof SchemaValidationError)) throw lineError;
          p.refused = true;
          await this.refuse(p.at, p.raw, undefined, lineError.message);
        }
      }
    }
    for (const p of chunk) {
      if (p.refused) continue;
      const kind = p.metadata ? 'metadata' : 'minimal';
      this.items[kind] += p.items.length;
      this.users[kind] += p.users.length;
      this.interactions += p.interactions.length;
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
