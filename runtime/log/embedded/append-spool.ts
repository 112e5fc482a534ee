/**
 * Appends and offset commits from a second process to an embedded log that
 * another process holds: one writer per log dir (lock.ts), yet a command
 * such as `recstream experiments start` must be able to add an event
 * beside a running `recstream demo`. The holder serves a spool under the
 * log dir; a read-only log opened with `appendThroughOwner` hands its
 * appends and commits to it.
 *
 * Under `<logDir>/appends/`, per call:
 *
 * - `<id>.request.json`: the topic and records (keys and values base64), or
 *   a group's offsets to commit, written by the caller (write, then rename:
 *   never read half-written);
 * - `<id>.taken`: the request, renamed so by the holder before it acts on
 *   it, so that a caller that gives up can tell "not taken" (its request
 *   still there: it deletes it, and nothing was written) from "taken" (it
 *   waits for the answer);
 * - `<id>.ack.json`: the holder's answer, the acks or the error, which the
 *   caller reads and deletes.
 *
 * Requests are taken in the order of their ids (time first), one at a
 * time, every {@link SPOOL_POLL_MS}. A holder killed between taking and
 * answering leaves the caller to say that its append may or may not be in
 * the log; the next holder removes such leftovers, with a warning.
 *
 * @example
 * ```ts
 * // the process holding the log (EmbeddedLog.open does this)
 * const spool = AppendSpool.serve(logDir, writer, logger);
 * // a second process
 * const acks = await appendThroughSpool(logDir, 'rec.experiments', [{ key: 'ab', value: bytes }]);
 * await spool.close();
 * ```
 */
import { randomUUID } from 'node:crypto';
import { access, mkdir, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { isRetriable, StorageError } from '../../errors.js';
import { sleep } from '../../retry.js';
import type { AppendAck, OutgoingRecord, RecordHeaders, TopicPartitionOffset } from '../log.js';
import { writeFileAtomic } from './atomic-file.js';
import type { LogWarnSink } from './options.js';

/** How often the holder looks for requests, and a caller for its answer. */
export const SPOOL_POLL_MS = 25;
/** How long a caller waits for the holder to take its request before it withdraws it. */
export const SPOOL_TAKE_TIMEOUT_MS = 10_000;
/** How long a caller waits for the answer once its request is taken. */
export const SPOOL_ANSWER_TIMEOUT_MS = 60_000;

const REQUEST = '.request.json';
const TAKEN = '.taken';
const ACK = '.ack.json';

interface WireRecord {
  readonly key: string | null;
  readonly value: string | null;
  readonly timestamp?: number;
  readonly partition?: number;
  readonly headers?: RecordHeaders;
}

type WireRequest =
  | { readonly kind: 'append'; readonly topic: string; readonly records: readonly WireRecord[] }
  | { readonly kind: 'commit'; readonly group: string; readonly offsets: readonly TopicPartitionOffset[] };

type WireAnswer =
  | { readonly acks: readonly AppendAck[] }
  | { readonly error: { readonly message: string; readonly retriable: boolean } };

/** What the holder does for others: its own append and offset commit. */
export interface SpoolWriter {
  append(topic: string, records: readonly OutgoingRecord[]): Promise<AppendAck[]>;
  commitOffsets(group: string, offsets: readonly TopicPartitionOffset[]): Promise<void>;
}

/** How long a caller waits (defaults {@link SPOOL_TAKE_TIMEOUT_MS}, {@link SPOOL_ANSWER_TIMEOUT_MS}). */
export interface SpoolTimeouts {
  readonly takeMs?: number;
  readonly answerMs?: number;
}

function spoolDir(logDir: string): string {
  return join(logDir, 'appends');
}

function toWire(record: OutgoingRecord): WireRecord {
  return {
    key: record.key,
    value: record.value === null ? null : record.value.toString('base64'),
    ...(record.timestamp === undefined ? {} : { timestamp: record.timestamp }),
    ...(record.partition === undefined ? {} : { partition: record.partition }),
    ...(record.headers === undefined ? {} : { headers: record.headers }),
  };
}

function fromWire(record: WireRecord): OutgoingRecord {
  return {
    key: record.key,
    value: record.value === null ? null : Buffer.from(record.value, 'base64'),
    ...(record.timestamp === undefined ? {} : { timestamp: record.timestamp }),
    ...(record.partition === undefined ? {} : { partition: record.partition }),
    ...(record.headers === undefined ? {} : { headers: record.headers }),
  };
}

/** `op`'s result, or `missing` when the file or folder it names is not there (ENOENT): the spool's files come and go. */
async function orIfMissing<T, M>(op: Promise<T>, missing: M): Promise<T | M> {
  try {
    return await op;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return missing;
    throw error;
  }
}

function exists(path: string): Promise<boolean> {
  return orIfMissing(
    access(path).then(() => true),
    false,
  );
}

/** Deletes a request not taken yet; false when the holder took it first. */
function withdraw(path: string): Promise<boolean> {
  return orIfMissing(
    unlink(path).then(() => true),
    false,
  );
}

/**
 * Appends `records` to `topic` through the process that holds the log in
 * `logDir`, and returns its acks. Fails with a StorageError when no process
 * takes the request within {@link SPOOL_TAKE_TIMEOUT_MS} (nothing was
 * appended), when the holder refuses it (its error's message and retriable
 * flag), or when it took the request and gave no answer (the append may or
 * may not be in the log; the message says so).
 */
export async function appendThroughSpool(
  logDir: string,
  topic: string,
  records: readonly OutgoingRecord[],
  timeouts: SpoolTimeouts = {},
): Promise<AppendAck[]> {
  const request: WireRequest = { kind: 'append', topic, records: records.map(toWire) };
  return sendThroughSpool(logDir, request, `the append to ${topic}`, timeouts);
}

/** Commits a group's offsets through the process that holds the log in `logDir`; fails as {@link appendThroughSpool} does. */
export async function commitThroughSpool(
  logDir: string,
  group: string,
  offsets: readonly TopicPartitionOffset[],
  timeouts: SpoolTimeouts = {},
): Promise<void> {
  await sendThroughSpool(
    logDir,
    { kind: 'commit', group, offsets },
    `the commit of group ${group}`,
    timeouts,
  );
}

async function sendThroughSpool(
  logDir: string,
  request: WireRequest,
  what: string,
  timeouts: SpoolTimeouts,
): Promise<AppendAck[]> {
  const dir = spoolDir(logDir);
  await mkdir(dir, { recursive: true });
  // Time first, so the holder takes requests in the order they were made.
  const id = `${Date.now().toString(36).padStart(10, '0')}-${randomUUID()}`;
  await writeFileAtomic(join(dir, id + REQUEST), JSON.stringify(request), false);
  const takeMs = timeouts.takeMs ?? SPOOL_TAKE_TIMEOUT_MS;
  const answerMs = timeouts.answerMs ?? SPOOL_ANSWER_TIMEOUT_MS;
  const takeBy = Date.now() + takeMs;
  let answerBy: number | undefined;
  for (;;) {
    const text = await orIfMissing(readFile(join(dir, id + ACK), 'utf8'), undefined);
    if (text !== undefined) {
      const answer = JSON.parse(text) as WireAnswer;
      await unlink(join(dir, id + ACK)).catch(() => undefined);
      if ('error' in answer)
        throw new StorageError(
          `the process holding log dir ${logDir} refused ${what}: ${answer.error.message}`,
          undefined,
          answer.error.retriable,
        );
      return [...answer.acks];
    }
    const now = Date.now();
    if (answerBy === undefined && now > takeBy) {
      if (await withdraw(join(dir, id + REQUEST)))
        throw new StorageError(
          `no process took ${what} in log dir ${logDir} within ${takeMs} ms; nothing was written. Is the process holding the log still running?`,
          undefined,
          true,
        );
      // Taken just now: wait for the answer.
      answerBy = now + answerMs;
    } else if (answerBy === undefined && !(await exists(join(dir, id + REQUEST)))) {
      answerBy = now + answerMs;
    } else if (answerBy !== undefined && now > answerBy) {
      throw new StorageError(
        `the process holding log dir ${logDir} took ${what} but did not answer within ${answerMs} ms; it may or may not be in the log`,
      );
    }
    await sleep(SPOOL_POLL_MS);
  }
}

/** The holder's side: takes requests from the spool and appends them. */
export class AppendSpool {
  private closed = false;
  private wake: (() => void) | undefined;
  private readonly done: Promise<void>;

  private constructor(
    private readonly dir: string,
    private readonly writer: SpoolWriter,
    private readonly logger: LogWarnSink,
  ) {
    this.done = this.serveLoop();
  }

  /** Starts serving `<logDir>/appends/` with the holder's own writer. */
  static serve(logDir: string, writer: SpoolWriter, logger: LogWarnSink): AppendSpool {
    return new AppendSpool(spoolDir(logDir), writer, logger);
  }

  /** Stops taking requests, after the one being appended. */
  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    await this.done;
  }

  /** Waits one poll, or until close: the timer does not keep the process alive, and close does not wait for it. */
  private idle(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.woken(resolve), SPOOL_POLL_MS);
      timer.unref();
      this.wake = () => {
        clearTimeout(timer);
        this.woken(resolve);
      };
    });
  }

  private woken(resolve: () => void): void {
    this.wake = undefined;
    resolve();
  }

  private async serveLoop(): Promise<void> {
    await this.removeLeftovers().catch((error: unknown) => this.warn(error));
    while (!this.closed) {
      let requests: string[] = [];
      try {
        requests = await this.pending();
        for (const name of requests) {
          if (this.closed) break;
          await this.take(name.slice(0, -REQUEST.length));
        }
      } catch (error) {
        // The spool's own files failed (a full disk, say): the holder goes on; callers time out.
        this.warn(error);
        requests = [];
      }
      if (requests.length === 0 && !this.closed) await this.idle();
    }
  }

  private warn(error: unknown): void {
    this.logger.warn(
      { dir: this.dir, err: String(error) },
      'the append spool failed; appends from other processes wait',
    );
  }

  private async pending(): Promise<string[]> {
    return (await orIfMissing(readdir(this.dir), [])).filter((n) => n.endsWith(REQUEST)).sort();
  }

  private async take(id: string): Promise<void> {
    const taken = join(this.dir, id + TAKEN);
    // Missing: withdrawn by its caller between the listing and now.
    if (
      !(await orIfMissing(
        rename(join(this.dir, id + REQUEST), taken).then(() => true),
        false,
      ))
    )
      return;
    let answer: WireAnswer;
    try {
      const request = JSON.parse(await readFile(taken, 'utf8')) as WireRequest;
      if (request.kind === 'commit') {
        await this.writer.commitOffsets(request.group, request.offsets);
        answer = { acks: [] };
      } else answer = { acks: await this.writer.append(request.topic, request.records.map(fromWire)) };
    } catch (error) {
      answer = {
        error: { message: String((error as Error).message ?? error), retriable: isRetriable(error) },
      };
    }
    await writeFileAtomic(join(this.dir, id + ACK), JSON.stringify(answer), false);
    await unlink(taken).catch(() => undefined);
  }

  /**
   * A holder killed between taking a request and answering it left its `.taken` file, which
   * nobody waits for now; an answer its caller never collected is removed once no caller waits.
   */
  private async removeLeftovers(): Promise<void> {
    for (const name of await orIfMissing(readdir(this.dir), [])) {
      const path = join(this.dir, name);
      if (name.endsWith(TAKEN)) {
        this.logger.warn(
          { file: path },
          'an append from another process was taken by a holder that stopped before answering: removed; its records may or may not be in the log',
        );
        await unlink(path).catch(() => undefined);
      } else if (name.endsWith(ACK)) {
        const age = Date.now() - (await stat(path)).mtimeMs;
        if (age > SPOOL_ANSWER_TIMEOUT_MS) await unlink(path).catch(() => undefined);
      }
    }
  }
}
