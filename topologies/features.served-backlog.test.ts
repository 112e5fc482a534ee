/**
 * Served lists read from a backlog (a replay from earliest, `process --once`
 * after a pause) give the same exposures as read live: the runner reads a
 * task's topics in timestamp order, so interactions fetched far ahead of
 * the lists wait for them instead of counting them late (decisions §16).
 * Small polls make one fetch of interactions span many minutes, more than
 * the lateness.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Interaction, ServedRecommendations } from '../schemas/generated/types.js';
import { event, servedList } from '../test/features.js';
import { withTestPlatform } from '../test/platform.js';
import {
  catchUp,
  examples,
  MIN,
  publish,
  summary,
  T0,
  U1,
  U2,
  withRequest,
} from '../test/served-features.js';

const MINUTES = 12;
const VIEWS_PER_MINUTE = 15;
const POLL = { maxPollRecords: 20 };

/** Minute by minute: a list for each user at the minute's start, views through it, a click on the list. */
function minute(m: number): { lists: ServedRecommendations[]; events: Interaction[] } {
  const at = T0 + m * MIN;
  const lists = [U1, U2].map((user) => servedList(`req-${m}-${user}`, user, [`i${m}`, `x${m}`], at));
  const events: Interaction[] = [];
  for (const user of [U1, U2]) {
    for (let v = 0; v < VIEWS_PER_MINUTE; v++)
      events.push(event(`view-${m}-${user}-${v}`, user, `v${v}`, 'view', at + 1000 + v * 2000));
    events.push(
      event(`click-${m}-${user}`, user, `i${m}`, 'click', at + 45_000, withRequest(`req-${m}-${user}`)),
    );
  }
  return { lists, events };
}

const FLUSH: Interaction[] = [
  event('flush-1', U1, 'i0', 'view', T0 + (MINUTES + 60) * MIN),
  event('flush-2', U2, 'i0', 'view', T0 + (MINUTES + 60) * MIN),
];

function exposures(list: Awaited<ReturnType<typeof examples>>) {
  return summary(list).filter((e) => e.id.startsWith('served/'));
}

test('a backlog of interactions and served lists read in one go gives the exposures of reading them live', async () => {
  const root = await mkdtemp(join(tmpdir(), 'recstream-served-backlog-'));
  try {
    const liveDir = join(root, 'live');
    const live = await withTestPlatform(liveDir, async (platform) => {
      for (let m = 0; m < MINUTES; m++) {
        const { lists, events } = minute(m);
        await publish(platform, lists, events);
        await catchUp(platform, liveDir, POLL);
      }
      await publish(platform, [], FLUSH);
      await catchUp(platform, liveDir, POLL);
      return exposures(await examples(platform));
    });
    assert.equal(live.length, MINUTES * 2 * 2, 'live, every served item is an exposure');
    assert.equal(live.filter((e) => e.clicked).length, MINUTES * 2, 'and each list has its click');

    const backlog = (dir: string, maxTaskIdleMs?: number) =>
      withTestPlatform(dir, async (platform) => {
        const all = Array.from({ length: MINUTES }, (_, m) => minute(m));
        // Every interaction first, then every list: a fetch gets far ahead on the interactions.
        await publish(platform, [], [...all.flatMap((m) => m.events), ...FLUSH]);
        await publish(
          platform,
          all.flatMap((m) => m.lists),
          [],
        );
        await catchUp(platform, dir, { ...POLL, ...(maxTaskIdleMs === undefined ? {} : { maxTaskIdleMs }) });
        return exposures(await examples(platform));
      });
    assert.deepEqual(await backlog(join(root, 'backlog')), live);
    const fetchOrder = await backlog(join(root, 'fetch-order'), -1);
    assert.ok(
      fetchOrder.length < live.length,
      `in fetch order the lists come late: ${fetchOrder.length} of ${live.length} exposures`,
    );
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
