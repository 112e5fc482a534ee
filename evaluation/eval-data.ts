/**
 * The steps offline evaluation shares between `recstream eval` and the
 * `quality` bench suite: reading a data set's files into per-user item
 * sets (through the importers' own parsers, so what is scored is what was
 * imported), a MovieLens ratings file copied in time order before it is
 * imported, and the `features` then `snapshots` applications run to the
 * end of their inputs as a bounded input (`Processor.endOfInput`), so the
 * last open snapshot of each partition closes and a finite import is
 * trained on whole.
 *
 * @example
 * ```ts
 * const train = new ItemSets();
 * await readItemSets(await openImportSource('lines', 'train.txt', {}), train);
 * const sorted = await movieLensInTimeOrder('ml-100k/u1.base', workDir);
 * await processForTraining(platform);
 * ```
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { activeRunnerOptions } from '../app/platform.js';
import { ImportError } from '../importers/errors.js';
import type { ImportSource } from '../importers/index.js';
import { StreamRunner } from '../runtime/engine/runner.js';
import type { Platform } from '../runtime/platform.js';
import type { Interaction, InteractionType } from '../schemas/generated/types.js';
import { APPLICATIONS } from '../topologies/index.js';

export const DAY_MS = 86_400_000;

/**
 * Snapshot size while evaluating. The end of the input closes each partition's last snapshot, so
 * the size no longer decides what is trained on; it is kept so that a model's lineage lists the
 * same snapshots as evaluations before the input was closed at its end did.
 */
export const EVAL_SNAPSHOT_EXAMPLES = 500;

/**
 * About 32 snapshots per partition of a small training part (3,000 interactions over 4
 * partitions: 23 per snapshot), and `EVAL_SNAPSHOT_EXAMPLES` from 64,000 interactions on 4
 * partitions up.
 */
export function evalSnapshotExamples(interactions: number, partitions: number): number {
  return Math.max(10, Math.min(EVAL_SNAPSHOT_EXAMPLES, Math.round(interactions / (partitions * 32))));
}

/** Types that say nothing about wanting the item: not counted as relevant, seen or popular. */
const NOT_POSITIVE: ReadonlySet<InteractionType> = new Set(['impression', 'skip', 'dislike']);

/** Whether an interaction counts as the user having the item (relevant, seen, popular). */
export function isPositive(type: InteractionType): boolean {
  return !NOT_POSITIVE.has(type);
}

/**
 * Per-user item sets, with one copy of each item id however many users
 * have it (a million interactions hold far fewer distinct ids).
 */
export class ItemSets extends Map<string, Set<string>> {
  private readonly ids = new Map<string, string>();
  /** Latest event time added (epoch ms); -Infinity when empty. */
  maxTs = Number.NEGATIVE_INFINITY;
  /** Each user's latest event time (epoch ms). */
  readonly lastTs = new Map<string, number>();
  /** Interactions added, positive or not. */
  interactions = 0;

  addItem(user: string, item: string): void {
    let items = this.get(user);
    if (!items) {
      items = new Set();
      this.set(user, items);
    }
    let id = this.ids.get(item);
    if (id === undefined) {
      id = item;
      this.ids.set(item, item);
    }
    items.add(id);
  }

  /** One interaction: counted, its time noted, and its item added to its user's set when positive. */
  addInteraction(event: Pick<Interaction, 'user_id' | 'item_id' | 'type' | 'ts'>): void {
    this.interactions++;
    if (event.ts > this.maxTs) this.maxTs = event.ts;
    if (!(event.ts <= (this.lastTs.get(event.user_id) ?? Number.NEGATIVE_INFINITY)))
      this.lastTs.set(event.user_id, event.ts);
    if (isPositive(event.type)) this.addItem(event.user_id, event.item_id);
  }
}

const SECOND_MS = 1000;

/**
 * The time each user of `seen` is served at by default: a second after
 * their own last training event, as if they came back right after it
 * (every layout of a data set's files and every importer's clock puts that
 * in the range the model trained on, decisions.md §30); a user without
 * events a second after the training part's last.
 *
 * @example
 * ```ts
 * const now = servedAfterLastEvent(seen);
 * now('u0'); // seen.lastTs.get('u0') + 1000
 * ```
 */
export function servedAfterLastEvent(seen: ItemSets): (userId: string) => number {
  return (userId) => (seen.lastTs.get(userId) ?? seen.maxTs) + SECOND_MS;
}

/** Where the next file of a training part starts: a day after the previous one ends (time follows file order). */
export function nextFileStart(maxTs: number): number {
  return Math.ceil(maxTs / DAY_MS) * DAY_MS + DAY_MS;
}

/** The same records as `source`, each interaction also added to `into` as the importer reads it. */
export function collectingInto(source: ImportSource, into: ItemSets): ImportSource {
  return {
    format: source.format,
    files: source.files,
    bytesRead: () => source.bytesRead(),
    async *records() {
      for await (const batch of source.records()) {
        for (const record of batch)
          if (record.kind === 'interactions')
            for (const event of record.interactions) into.addInteraction(event);
        yield batch;
      }
    },
  };
}

/** Reads every interaction of `source` into `into` (bad lines are skipped, as the importer dead-letters them). */
export async function readItemSets(source: ImportSource, into: ItemSets = new ItemSets()): Promise<ItemSets> {
  for await (const batch of collectingInto(source, into).records()) void batch;
  return into;
}

/** MovieLens ratings files a folder may hold, in the order the importer looks for them. */
const RATINGS_FILES = ['u.data', 'ratings.dat', 'ratings.csv'];
const METADATA_FILES = ['u.item', 'u.genre', 'u.user', 'movies.dat', 'users.dat', 'movies.csv'];

/** The ratings file a MovieLens path names: the file itself, or the one its folder holds. */
export async function movieLensRatingsFile(path: string): Promise<string> {
  const full = resolve(path);
  if (!(await stat(full).catch(() => undefined))?.isDirectory()) return full;
  const name = RATINGS_FILES.find((f) => existsSync(join(full, f)));
  if (!name) throw new ImportError(`${path} holds no MovieLens ratings file (${RATINGS_FILES.join(', ')})`);
  return join(full, name);
}

/**
 * MovieLens files are sorted by user, not time, and the feature processors place events by
 * event time within a lateness window: a copy of the ratings file sorted by timestamp (the
 * fourth field in every layout; ratings.csv keeps its header first), under the same name in
 * `workDir`, beside links to the folder's metadata files. Import it with `source` set to
 * `sourceName(original)` so event ids do not name the copy. Returns the copy's path.
 */
export async function movieLensInTimeOrder(path: string, workDir: string): Promise<string> {
  const ratings = await movieLensRatingsFile(path);
  const name = basename(ratings);
  const split = name.endsWith('.dat') ? '::' : name.endsWith('.csv') ? ',' : '\t';
  const lines = (await readFile(ratings, 'utf8')).split('\n').filter((line) => line.trim().length > 0);
  const header = name.endsWith('.csv') ? lines.shift() : undefined;
  const ts = (line: string) => Number(line.split(split)[3]);
  const keyed = lines.map((line) => ({ line, ts: ts(line) }));
  keyed.sort((a, b) => a.ts - b.ts);
  await mkdir(workDir, { recursive: true });
  const copy = join(workDir, name);
  const body = keyed.map((k) => k.line);
  if (header !== undefined) body.unshift(header);
  await writeFile(copy, `${body.join('\n')}\n`);
  for (const meta of METADATA_FILES) {
    const from = join(dirname(ratings), meta);
    const to = join(workDir, meta);
    if (existsSync(from) && !existsSync(to)) await symlink(from, to);
  }
  return copy;
}

export interface ProcessProgress {
  readonly application: string;
  /** Records read of the application's input topics (those it does not write itself). */
  readonly read: number;
  /** Records on those topics when it started. */
  readonly total: number;
  /** Records processed, those of its own internal topics included. */
  readonly processed: number;
}

/**
 * `recstream process --app features --once --end-of-input` then `--app snapshots --once
 * --end-of-input`, in this process, with snapshots of `snapshotEveryExamples` examples: every
 * example of the imported part ends in a closed snapshot, the tail included (a snapshot otherwise
 * closes on a count or a day of event time, and no event comes after a finite import's last one).
 * With RECSTREAM_SERVE_CO_VISITATION on, `--app co-visitation` too, so the neighbour lists the
 * serving path reads are those of the same training part (and of nothing else: the holdout is
 * never imported). Each application's state is committed and closed before this returns.
 */
export async function processForTraining(
  platform: Platform,
  onProgress?: (progress: ProcessProgress) => void,
  snapshotEveryExamples = EVAL_SNAPSHOT_EXAMPLES,
): Promise<void> {
  const config = { ...platform.config, snapshotEveryExamples };
  const applications = ['features', 'snapshots'];
  if (config.serveCoVisitation > 0) applications.push('co-visitation');
  for (const application of applications) {
    const topology = await APPLICATIONS[application]!(platform.serde, config);
    const own = new Set(topology.sinkTopics());
    const starts = new Map<string, number>();
    let total = 0;
    for (const topic of topology.sourceTopics().filter((t) => !own.has(t))) {
      if (!(await platform.log.describeTopic(topic))) continue;
      for (const p of await platform.log.offsets(topic)) {
        starts.set(`${topic}/${p.partition}`, p.start);
        total += p.end - p.start;
      }
    }
    const runner = await StreamRunner.start(await activeRunnerOptions(platform, topology));
    const read = () => {
      let n = 0;
      for (const tp of runner.positions()) {
        const start = starts.get(`${tp.topic}/${tp.partition}`);
        if (start !== undefined) n += Math.max(0, tp.offset - start);
      }
      return Math.min(n, total);
    };
    const timer = setInterval(() => {
      try {
        onProgress?.({ application, read: read(), total, processed: runner.progress().processed });
      } catch {
        // The runner is closing; the final report follows.
      }
    }, 1000);
    try {
      const stats = await runner.runUntilCaughtUp({ endOfInput: true });
      onProgress?.({ application, read: total, total, processed: stats.processed });
    } finally {
      clearInterval(timer);
    }
  }
}
