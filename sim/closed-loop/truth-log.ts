/**
 * The ground truth of a closed-loop run, written beside its events: one
 * JSON line per list a responder served to a simulated user, with the true
 * probability that the user clicks each position — what the simulator's
 * behaviour model draws the click from, under the run's click model — so the true online value of
 * whatever was served (a model version, an experiment's variant, a policy
 * that explores) can be computed afterwards and set beside what the logs
 * measured (`recstream eval --online`).
 *
 * Format `recstream-closed-loop-truth/1`: a header line
 * `{"format", "seed", "users", "items", "k", "speed", "click_model"}`, then per served list
 * `{"request_id", "user_id", "ts", "model_version", "experiment_id",
 * "variant", "fallback", "items", "p_click", "expected_clicks"}`.
 *
 * @example
 * ```ts
 * const truth = await TruthLog.open('data/closed-loop/truth.jsonl', header);
 * truth.write({ request_id: 'r1', … });
 * await truth.close();
 * for await (const line of readTruthLog('data/closed-loop/truth.jsonl')) use(line);
 * ```
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import type { ClickModel } from '../click-models.js';

export const CLOSED_LOOP_TRUTH_FORMAT = 'recstream-closed-loop-truth/1';

export interface TruthHeader {
  readonly seed: number;
  readonly users: number;
  readonly items: number;
  readonly k: number;
  readonly speed: number;
  /** The click model the users followed (sim/click-models.ts); files without it were written under `choice`. */
  readonly click_model: ClickModel;
}

/** The truth of one served list. */
export interface ServedTruth {
  readonly request_id: string;
  readonly user_id: string;
  readonly ts: number;
  readonly model_version: string | null;
  readonly experiment_id: string | null;
  readonly variant: string | null;
  readonly fallback: string | null;
  readonly items: readonly string[];
  /** True click probability of each position, in served order. */
  readonly p_click: readonly number[];
  /** Their sum: the list's expected clicks (at most one click per list). */
  readonly expected_clicks: number;
}

export class TruthLog {
  private constructor(private readonly out: WriteStream) {}

  static async open(path: string, header: TruthHeader): Promise<TruthLog> {
    mkdirSync(dirname(path), { recursive: true });
    const out = createWriteStream(path, { flags: 'w' });
    await once(out, 'open');
    const log = new TruthLog(out);
    await log.line({ format: CLOSED_LOOP_TRUTH_FORMAT, ...header });
    return log;
  }

  async write(truth: ServedTruth): Promise<void> {
    await this.line(truth);
  }

  async close(): Promise<void> {
    this.out.end();
    await once(this.out, 'finish');
  }

  private async line(value: object): Promise<void> {
    if (!this.out.write(`${JSON.stringify(value)}\n`)) await once(this.out, 'drain');
  }
}

/**
 * The served lists' truths of a truth file, by request id.
 *
 * @throws Error when the file is not a closed-loop truth file
 */
export async function readTruthLog(path: string): Promise<Map<string, ServedTruth>> {
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY });
  const byRequest = new Map<string, ServedTruth>();
  let first = true;
  for await (const line of lines) {
    if (line.trim() === '') continue;
    const value = JSON.parse(line) as ServedTruth & { format?: string };
    if (first) {
      if (value.format !== CLOSED_LOOP_TRUTH_FORMAT)
        throw new Error(`${path} is not a closed-loop truth file (format ${CLOSED_LOOP_TRUTH_FORMAT})`);
      first = false;
      continue;
    }
    byRequest.set(value.request_id, value);
  }
  return byRequest;
}
