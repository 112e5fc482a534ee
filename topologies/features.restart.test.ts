/**
 * user-features (interactions waiting for the watermark) and item-features
 * (records waiting for the merge) keep what waits in memory only and hold
 * their input at the oldest of it: a restart while records wait must
 * deliver them again, with the same result as a run without the restart.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { OutgoingRecord } from '../runtime/log/log.js';
import { partitionForKey } from '../runtime/log/partitioner.js';
import type { Platform } from '../runtime/platform.js';
import type { Interaction, User } from '../schemas/generated/types.js';
import { ENRICHED_TOPIC } from '../schemas/topics.js';
import { event, profile } from '../test/features.js';
import { catchUp, digest, examples, MIN, PARTITIONS, runner, T0 } from '../test/features-runner.js';
import { withTestPlatform } from '../test/platform.js';

interface Placed {
  readonly partition: number;
  readonly event: Interaction;
}

/** ua is busy on partition 0; ub, alone on partition 1, keeps the merge's frontier back until `LATER`. */
const BUSY: Placed[] = [
  ...Array.from({ length: 30 }, (_, k) => ({
    partition: 0,
    event: event(`a${k}`, 'ua', 'i1', k % 3 === 0 ? 'impression' : 'click', T0 + k * MIN),
  })),
  { partition: 1, event: event('b0', 'ub', 'i2', 'click', T0) },
];
const LATER: Placed[] = [
  { partition: 1, event: event('b1', 'ub', 'i2', 'click', T0 + 120 * MIN) },
  { partition: 0, event: event('a99', 'ua', 'i3', 'click', T0 + 120 * MIN) },
];

/** A rec.users record on partition 0: a profile, or a deletion (tombstone). */
interface UserRecord {
  readonly userId: string;
  readonly profile: User | null;
  readonly ts: number;
}

async function write(platform: Platform, interactions: readonly Placed[], users: readonly UserRecord[] = []) {
  for (const name of ['rec.items', 'rec.users', 'rec.interactions'])
    await platform.log.ensureTopic({ name, partitions: PARTITIONS });
  const encode = await platform.serde.encoder('rec.interactions-value');
  const records: OutgoingRecord[] = interactions.map(({ partition, event: e }) => ({
    key: e.user_id,
    value: encode.encode(e),
    timestamp: e.ts,
    partition,
  }));
  if (records.length > 0) await platform.log.append('rec.interactions', records);
  const encodeUser = await platform.serde.encoder('rec.users-value');
  if (users.length > 0)
    await platform.log.append(
      'rec.users',
      users.map((u) => ({
        key: u.userId,
        value: u.profile && encodeUser.encode(u.profile),
        timestamp: u.ts,
        partition: 0,
      })),
    );
}

/** The committed position of `topic[partition]` in its task, and the topic's end there. */
async function held(platform: Platform, dataDir: string, topic: string, partition: number) {
  const inspect = await runner(platform, dataDir);
  try {
    return {
      committed: inspect.taskState(partition)!.committedInputOffsets().get(topic),
      end: (await platform.log.offsets(topic))[partition]!.end,
    };
  } finally {
    await inspect.close();
  }
}

test('records waiting in the merge at a restart are delivered again: the stores equal a run without the restart', async () => {
  const root = await mkdtemp(join(tmpdir(), 'recstream-merge-restart-'));
  try {
    const cleanDir = join(root, 'clean');
    const expected = await withTestPlatform(cleanDir, async (platform) => {
      await write(platform, [...BUSY, ...LATER]);
      await catchUp(platform, cleanDir);
      return digest(platform, cleanDir);
    });

    const restartedDir = join(root, 'restarted');
    const actual = await withTestPlatform(restartedDir, async (platform) => {
      await write(platform, BUSY);
      await catchUp(platform, restartedDir);
      const item = partitionForKey('i1', PARTITIONS);
      const { committed, end } = await held(platform, restartedDir, ENRICHED_TOPIC, item);
      assert.ok(
        committed !== undefined && committed < end,
        `item-features holds ${ENRICHED_TOPIC}[${item}] at ${committed}, below its end ${end}, while ua's records wait`,
      );
      await write(platform, LATER);
      await catchUp(platform, restartedDir);
      return digest(platform, restartedDir);
    });
    assert.deepEqual(actual, expected);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('interactions waiting for the watermark at a restart are delivered again; those of a user deleted while they waited stay without features', async () => {
  const root = await mkdtemp(join(tmpdir(), 'recstream-watermark-restart-'));
  const dataDir = join(root, 'data');
  try {
    await withTestPlatform(dataDir, async (platform) => {
      const uc = [
        { partition: 0, event: event('c0', 'uc', 'i4', 'click', T0 + 29 * MIN + 10_000) },
        { partition: 0, event: event('c1', 'uc', 'i4', 'click', T0 + 29 * MIN + 20_000) },
      ];
      await write(platform, [...BUSY, ...uc]);
      await catchUp(platform, dataDir);
      const { committed, end } = await held(platform, dataDir, 'rec.interactions', 0);
      assert.ok(
        committed !== undefined && committed < end,
        `user-features holds rec.interactions[0] at ${committed}, below its end ${end}, while the last minute waits`,
      );
      // uc is deleted while c0 and c1 still wait for the watermark; then a restart. (A deletion, not an
      // opt-out: an opted-out user's interactions get no features anyway, whether they waited or not.)
      await write(
        platform,
        [],
        [
          { userId: 'uc', profile: profile('uc', { updated_ts: T0 }), ts: T0 },
          { userId: 'uc', profile: null, ts: T0 + 30 * MIN },
        ],
      );
      await catchUp(platform, dataDir);
      await write(platform, LATER);
      await catchUp(platform, dataDir);

      const byUser = new Map<string, string[]>();
      for (const e of await examples(platform))
        byUser.set(e.user_id, [...(byUser.get(e.user_id) ?? []), e.example_id]);
      assert.deepEqual(
        byUser.get('ua')?.sort(),
        BUSY.filter((p) => p.event.user_id === 'ua')
          .map((p) => p.event.event_id)
          .sort(),
        'every interaction of ua that waited across the restarts has its example once',
      );
      assert.equal(byUser.get('uc'), undefined, "uc's waiting interactions were purged with the deletion");
    });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
