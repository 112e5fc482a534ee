/**
 * `freshness` suite: how long after an event is accepted
 * (`POST /v1/events` answered 202) the user's recommendations change, on
 * the embedded default: one `recstream serve` (pinned to one CPU, the
 * client on the other) over the `serve` suite's cached world of 100,000
 * items and a trained model, the features application running in the
 * responder's process and the recommendations reading its stores.
 *
 * For each of `events` (100 at `--scale small`) users with history, one
 * after another:
 * 1. GET the user's list twice; a user whose list is not personalised, or
 *    changes with no event, is skipped (counted in `config.skipped_users`);
 * 2. POST one `click` on the list's first item, with the current time;
 * 3. from its 202, GET the list every `POLL_MS` (back to back plus that
 *    pause) until it differs from the list before (the clicked item is now
 *    seen: filtered out, and the user tower sees the click), at most
 *    `LIMIT_MS` (then counted as `LIMIT_MS` and in
 *    `config.unchanged_within_limit`).
 *
 * The figure is the 202 to the end of the first GET that shows the change;
 * it includes up to one poll (a GET of ~`config.get_p50_ms`) of overshoot.
 *
 * What bounds it: the event is appended to `rec.interactions` before the
 * 202, read by the features application's consumer, folded into the
 * user's view, and becomes visible to recommendations only when that
 * application commits (the in-process online store reads committed state
 * only): once its input has been idle for `RECSTREAM_COMMIT_IDLE_MS`
 * (`config.commit_idle_ms`), at the latest every
 * `RECSTREAM_COMMIT_INTERVAL_MS` (`config.commit_interval_ms`).
 */
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../runtime/config.js';
import { pinLoadGenerator, SERVER_CPU } from '../ingest/servers.js';
import { seededRandom } from '../interaction-load.js';
import { CLI } from '../recstream-cli.js';
import { metric, type Suite } from '../result.js';
import { cpuPressure, startChild } from '../serve/child.js';
import { percentile } from '../serve/load.js';
import { copyWorld, serveWorld } from '../serve/world.js';

// 100 events: the nearest-rank p99 is the second-slowest, not the slowest alone.
const SIZES = { small: { events: 100 }, full: { events: 400 } };
const POLL_MS = 2;
const LIMIT_MS = 5_000;

interface Page {
  readonly items: { readonly item_id: string }[];
  readonly fallback: string | null;
  readonly request_id: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ids = (page: Page) => page.items.map((i) => i.item_id).join(',');

export const freshnessSuite: Suite = async ({ scale, workDir, progress }) => {
  const size = SIZES[scale];
  const world = await serveWorld(scale, progress);
  const { commitIntervalMs, commitIdleMs } = loadConfig();
  const loadAtStart = loadavg()[0]!;
  const unpin = pinLoadGenerator();
  const pressureAtStart = cpuPressure();
  const freshness: number[] = [];
  const accept: number[] = [];
  const gets: number[] = [];
  let polls = 0;
  let unchanged = 0;
  let skipped = 0;
  let clickedGone = 0;
  try {
    const dataDir = await copyWorld(world, join(workDir, 'data'));
    progress(
      `starting recstream serve on ${dataDir} (commit interval ${commitIntervalMs} ms, idle commit ${commitIdleMs} ms)`,
    );
    const server = await startChild({
      args: [CLI, 'serve', '--data-dir', dataDir],
      env: { RECSTREAM_HTTP_PORT: '0', RECSTREAM_HTTP_HOST: '127.0.0.1' },
      readyPath: '/readyz',
    });
    try {
      const page = async (user: string): Promise<Page> => {
        const started = performance.now();
        const response = await fetch(new URL(`/v1/recommendations/${user}?k=10`, server.url));
        if (response.status !== 200)
          throw new Error(`GET ${user}: ${response.status} ${await response.text()}`);
        const body = (await response.json()) as Page;
        gets.push(performance.now() - started);
        return body;
      };
      // Warm-up: JIT, sessions and caches, on users the run does not measure.
      for (let i = 0; i < 50; i++) await page(world.usersWithHistory[world.usersWithHistory.length - 1 - i]!);
      gets.length = 0;
      const random = seededRandom(11);
      const stride = Math.max(1, Math.floor(world.usersWithHistory.length / (size.events * 2)));
      const runId = Date.now().toString(36);
      for (let u = 0; freshness.length < size.events && u * stride < world.usersWithHistory.length; u++) {
        const user = world.usersWithHistory[u * stride]!;
        const before = await page(user);
        const again = await page(user);
        if (before.fallback !== null || before.items.length === 0 || ids(before) !== ids(again)) {
          skipped++;
          continue;
        }
        const clicked = before.items[0]!.item_id;
        const event = {
          event_id: `freshness-${runId}-${u}`,
          user_id: user,
          item_id: clicked,
          type: 'click',
          ts: Date.now(),
          context: { surface: 'home', request_id: before.request_id },
        };
        const posted = performance.now();
        const response = await fetch(new URL('/v1/events', server.url), {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify([event]),
        });
        const answer = await response.text();
        if (response.status !== 202) throw new Error(`POST /v1/events: ${response.status} ${answer}`);
        const acceptedAt = performance.now();
        accept.push(acceptedAt - posted);
        let took = LIMIT_MS;
        for (;;) {
          const now = await page(user);
          polls++;
          const elapsed = performance.now() - acceptedAt;
          if (ids(now) !== ids(before)) {
            took = elapsed;
            if (!now.items.some((i) => i.item_id === clicked)) clickedGone++;
            break;
          }
          if (elapsed >= LIMIT_MS) {
            unchanged++;
            break;
          }
          await sleep(POLL_MS);
        }
        freshness.push(took);
        // A pause of 100–200 ms, so events fall at every phase of the commit cycle.
        await sleep(100 + random() * 100);
      }
      if (freshness.length === 0) throw new Error('freshness bench: no user with a stable personalised list');
      progress(
        `${freshness.length} events: p50 ${percentile(freshness, 0.5).toFixed(1)} ms, p99 ${percentile(freshness, 0.99).toFixed(1)} ms, max ${Math.max(...freshness).toFixed(1)} ms, unchanged ${unchanged}`,
      );
    } finally {
      await server.stop();
    }
  } finally {
    unpin();
  }
  const config = {
    events: freshness.length,
    users: freshness.length,
    skipped_users: skipped,
    unchanged_within_limit: unchanged,
    limit_ms: LIMIT_MS,
    clicked_item_left_the_list: clickedGone,
    event: 'one click on the first item of the list, ts = now',
    poll: `GET back to back with ${POLL_MS} ms pauses`,
    polls_per_event: Math.round((polls / Math.max(1, freshness.length)) * 10) / 10,
    get_p50_ms: round(percentile(gets, 0.5)),
    accept_p50_ms: round(percentile(accept, 0.5)),
    accept_p99_ms: round(percentile(accept, 0.99)),
    freshness_min_ms: round(Math.min(...freshness)),
    freshness_p90_ms: round(percentile(freshness, 0.9)),
    freshness_max_ms: round(Math.max(...freshness)),
    commit_interval_ms: commitIntervalMs,
    commit_idle_ms: commitIdleMs,
    bound:
      'the features application commits once its input is idle for commit_idle_ms, at the latest every commit_interval_ms; the in-process store reads committed state only',
    backend: 'embedded log, in-process online store (features application in the responder process)',
    items: world.catalogItems,
    indexed_items: world.indexedItems,
    server_cpu: SERVER_CPU === undefined ? 'unpinned' : `taskset -c ${SERVER_CPU}`,
    client_cpu: SERVER_CPU === undefined ? 'unpinned' : `taskset -c ${SERVER_CPU + 1}`,
    cpu_pressure_some_avg60_pct: [pressureAtStart ?? null, cpuPressure() ?? null],
    machine_load_1m: [Math.round(loadAtStart * 10) / 10, Math.round(loadavg()[0]! * 10) / 10],
    target: 'freshness p99 < 100 ms',
    node: process.version,
  };
  return [
    metric('freshness', 'freshness_p50_ms', percentile(freshness, 0.5), 'ms', false, config),
    metric('freshness', 'freshness_p99_ms', percentile(freshness, 0.99), 'ms', false, config),
  ];
};

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
