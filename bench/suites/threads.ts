/**
 * `threads` suite: what stream threads buy on this machine. One seeded
 * world (`recstream simulate`) is processed by `recstream process --once
 * --app APP --threads N` for each thread count of `--threads` (default
 * `1,2`), each from a fresh copy of the same data dir, for `features` (the
 * feature topology: catalog, profiles, user-features, item-features) and
 * for `interaction-counts` (one get + put per event). Every figure is the
 * whole command as a user runs it, start-up included, so it is what the
 * choice of `--threads` changes for them.
 *
 * Rows: `<app>_events_per_s_threads_<N>` (source events over the
 * command's time), and for each N above 1 `<app>_thread_scaling_<N>`:
 * the N-thread figure against the 1-thread one measured in the same run
 * (the ratio is the scaling); `<app>_idle_run_seconds_threads_<N>`: the
 * same command once more over the processed data dir, which has nothing
 * left to do — what start-up and shutdown cost of the figures above. Runs alternate the thread counts' order so a
 * slow spell of the machine does not fall on one count. A thread count
 * whose stores' digests differ from one thread's fails the suite: a
 * faster wrong answer is not a result.
 */
import { cp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { recstream } from '../recstream-cli.js';
import { type BenchResult, median, metric, type Suite } from '../result.js';

const SIZES = {
  small: { events: 200_000, users: 5_000, items: 3_000, runs: 3 },
  full: { events: 1_000_000, users: 30_000, items: 40_000, runs: 3 },
};
const SEED = 3;
const APPS = ['features', 'interaction-counts'] as const;
/** Source topics of each application: its events are the records of these. */
const SOURCES: Record<(typeof APPS)[number], readonly string[]> = {
  features: ['rec.items', 'rec.users', 'rec.interactions'],
  'interaction-counts': ['rec.interactions'],
};
const ENV = { RECSTREAM_LOG_FSYNC: 'never' };

/** Records of each topic, from `recstream topics --json`. */
async function topicRecords(dataDir: string): Promise<Map<string, number>> {
  const out = JSON.parse(await recstream(['topics', '--json', '--data-dir', dataDir], ENV)) as {
    topic: string;
    records: number;
  }[];
  return new Map(out.map((t) => [t.topic, t.records]));
}

async function digest(dataDir: string, app: string): Promise<Record<string, string>> {
  const out = await recstream(['state', 'digest', '--app', app, '--json', '--data-dir', dataDir], ENV);
  return (JSON.parse(out) as { stores: Record<string, string> }).stores;
}

/** Seconds `recstream process --app APP --once --threads N` takes over `dataDir`. */
async function processOnce(app: string, threads: number, dataDir: string): Promise<number> {
  const started = process.hrtime.bigint();
  await recstream(
    ['process', '--app', app, '--once', '--threads', String(threads), '--data-dir', dataDir],
    ENV,
  );
  return Number(process.hrtime.bigint() - started) / 1e9;
}

export const threadsSuite: Suite = async ({ scale, workDir, progress, threads = [1, 2] }) => {
  const size = SIZES[scale];
  const counts = [...new Set([1, ...threads])].sort((a, b) => a - b);
  const template = join(workDir, 'template');
  progress(`simulating ${size.events.toLocaleString()} events (seed ${SEED})`);
  await recstream(
    [
      'simulate',
      '--users',
      String(size.users),
      '--items',
      String(size.items),
      '--events',
      String(size.events),
      '--seed',
      String(SEED),
      '--data-dir',
      template,
    ],
    ENV,
  );
  const records = await topicRecords(template);
  const events = Object.fromEntries(
    APPS.map((app) => [app, SOURCES[app].reduce((n, topic) => n + (records.get(topic) ?? 0), 0)]),
  ) as Record<(typeof APPS)[number], number>;
  for (const app of APPS)
    if (!(events[app] > 0)) throw new Error(`the simulated world holds no source events of ${app}`);
  const perSecond = new Map<string, number[]>();
  const idleSeconds = new Map<string, number[]>();
  for (let run = 0; run < size.runs; run++) {
    const order = run % 2 === 0 ? counts : [...counts].reverse();
    for (const app of APPS) {
      const digests = new Map<number, Record<string, string>>();
      for (const n of order) {
        const dataDir = join(workDir, `run-${run}-${app}-${n}`);
        await cp(template, dataDir, { recursive: true });
        progress(`run ${run + 1}/${size.runs}: ${app} on ${n} thread(s)`);
        const key = `${app}/${n}`;
        const seconds = await processOnce(app, n, dataDir);
        perSecond.set(key, [...(perSecond.get(key) ?? []), events[app] / seconds]);
        idleSeconds.set(key, [...(idleSeconds.get(key) ?? []), await processOnce(app, n, dataDir)]);
        digests.set(n, await digest(dataDir, app));
        await rm(dataDir, { recursive: true, force: true });
      }
      const oneThread = digests.get(1)!;
      for (const [n, stores] of digests) {
        const differ = Object.keys({ ...stores, ...oneThread }).filter((s) => stores[s] !== oneThread[s]);
        if (differ.length > 0)
          throw new Error(`${app} on ${n} threads: stores differ from one thread's: ${differ.join(', ')}`);
      }
    }
  }
  const results: BenchResult[] = [];
  for (const app of APPS) {
    const name = app.replace('-', '_');
    const config = {
      events: events[app],
      users: size.users,
      items: size.items,
      seed: SEED,
      runs: size.runs,
      thread_counts: counts,
      log: 'embedded',
      engine: 'rocksdb',
      digests_equal: true,
      measured: `recstream process --app ${app} --once --threads N, start-up included`,
    };
    const one = median(perSecond.get(`${app}/1`)!);
    for (const n of counts)
      results.push(
        metric(
          'threads',
          `${name}_events_per_s_threads_${n}`,
          median(perSecond.get(`${app}/${n}`)!),
          'events/s',
          true,
          {
            ...config,
            threads: n,
          },
        ),
      );
    for (const n of counts)
      results.push(
        metric(
          'threads',
          `${name}_idle_run_seconds_threads_${n}`,
          median(idleSeconds.get(`${app}/${n}`)!),
          's',
          false,
          { ...config, threads: n, measured: 'the same command again over the processed data dir' },
        ),
      );
    for (const n of counts.filter((c) => c > 1))
      results.push(
        metric(
          'threads',
          `${name}_thread_scaling_${n}`,
          median(perSecond.get(`${app}/${n}`)!),
          'events/s',
          true,
          { ...config, threads: n },
          { name: `${name}_events_per_s_threads_1`, value: one },
        ),
      );
  }
  return results;
};
