/**
 * `recstream topics --plan`: the pinned plan of every application, and the
 * plan agreeing with the topics the platform really creates when it
 * simulates and processes on the embedded log.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCliOk } from '../../test/cli.js';

interface Planned {
  topic: string;
  partitions: number;
  compacted: boolean;
  uses: string[];
  writtenBy?: string;
}

const ENV = { RECSTREAM_PARTITIONS: '3' };

async function withDataDir(fn: (data: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-topics-plan-'));
  try {
    await fn(join(dir, 'data'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function plan(data: string): Promise<Planned[]> {
  return JSON.parse((await runCliOk(['topics', '--plan', '--json', '--data-dir', data], ENV)).stdout);
}

test('topics --plan lists every topic the applications need, with partitions and compaction, without opening the log', async () => {
  await withDataDir(async (data) => {
    const rows = (await plan(data)).map(({ topic, partitions, compacted, uses }) => [
      topic,
      partitions,
      compacted,
      uses.join(' '),
    ]);
    assert.deepEqual(rows, [
      ['rec.catalog.items.changelog', 3, true, 'features:changelog'],
      ['rec.co-visitation-sessions.co-visit-clock.changelog', 3, true, 'co-visitation:changelog'],
      ['rec.co-visitation-sessions.event-ids.changelog', 3, true, 'co-visitation:changelog'],
      ['rec.co-visitation-sessions.session-items.changelog', 3, true, 'co-visitation:changelog'],
      ['rec.co-visitation.co-visit-ids.changelog', 3, true, 'co-visitation:changelog'],
      ['rec.co-visitation.co-visit-merge.changelog', 3, true, 'co-visitation:changelog'],
      ['rec.co-visitation.co-visitation.changelog', 3, true, 'co-visitation:changelog'],
      ['rec.co-visits', 3, false, 'co-visitation:internal'],
      [
        'rec.dlq',
        1,
        false,
        'interaction-counts:dead-letters features:dead-letters snapshots:dead-letters experiment-metrics:dead-letters co-visitation:dead-letters',
      ],
      ['rec.experiment-attribution.experiment-clock.changelog', 3, true, 'experiment-metrics:changelog'],
      ['rec.experiment-attribution.experiment-pending.changelog', 3, true, 'experiment-metrics:changelog'],
      ['rec.experiment-attribution.experiment-requests.changelog', 3, true, 'experiment-metrics:changelog'],
      ['rec.experiment-figures.experiment-figures.changelog', 3, true, 'experiment-metrics:changelog'],
      ['rec.experiment-figures.experiment-user-figures.changelog', 3, true, 'experiment-metrics:changelog'],
      ['rec.experiment-figures.outcome-ids.changelog', 3, true, 'experiment-metrics:changelog'],
      ['rec.experiment-outcomes', 3, false, 'experiment-metrics:internal'],
      ['rec.experiments', 1, true, 'experiment-metrics:sink experiment-metrics:global-table'],
      ['rec.index-versions', 3, false, ''],
      ['rec.interaction-counts.counts.changelog', 3, true, 'interaction-counts:changelog'],
      ['rec.interaction-counts.event-ids.changelog', 3, true, 'interaction-counts:changelog'],
      [
        'rec.interactions',
        3,
        false,
        'interaction-counts:source features:source experiment-metrics:source co-visitation:source',
      ],
      ['rec.interactions.enriched', 3, false, 'features:internal'],
      ['rec.item-features.attribution.changelog', 3, true, 'features:changelog'],
      ['rec.item-features.item-clock.changelog', 3, true, 'features:changelog'],
      ['rec.item-features.item-frontier.changelog', 3, true, 'features:changelog'],
      ['rec.item-features.item-view.changelog', 3, true, 'features:changelog'],
      ['rec.item-features.label-join.changelog', 3, true, 'features:changelog'],
      ['rec.items', 3, true, 'features:source features:global-table co-visitation:global-table'],
      ['rec.model-versions', 3, false, 'experiment-metrics:sink experiment-metrics:global-table'],
      ['rec.profiles.users.changelog', 3, true, 'features:changelog'],
      ['rec.promotions', 3, true, ''],
      ['rec.recommendations', 3, false, 'features:source experiment-metrics:source'],
      ['rec.snapshotter.snapshot-example-ids.changelog', 3, true, 'snapshots:changelog'],
      ['rec.snapshotter.snapshot-members.changelog', 3, true, 'snapshots:changelog'],
      ['rec.snapshotter.snapshot-open.changelog', 3, true, 'snapshots:changelog'],
      ['rec.snapshotter.snapshot-opt-outs.changelog', 3, true, 'snapshots:changelog'],
      ['rec.training-examples', 3, false, 'features:sink snapshots:source'],
      ['rec.training-snapshots', 3, false, 'snapshots:sink'],
      ['rec.user-features.event-ids.changelog', 3, true, 'features:changelog'],
      ['rec.user-features.served-waiting.changelog', 3, true, 'features:changelog'],
      ['rec.user-features.user-clock.changelog', 3, true, 'features:changelog'],
      ['rec.user-features.user-view.changelog', 3, true, 'features:changelog'],
      [
        'rec.users',
        3,
        true,
        'features:source snapshots:source co-visitation:source co-visitation:global-table',
      ],
    ]);
    // Only the registry was written: no log was opened or created.
    assert.deepEqual(await readdir(data), ['registry']);

    const text = (
      await runCliOk(['topics', '--plan', '--app', 'interaction-counts', '--data-dir', data], ENV)
    ).stdout;
    assert.match(text, /^topic +partitions +compacted +used by$/m);
    assert.match(
      text,
      /^rec\.interaction-counts\.counts\.changelog +3 +true +interaction-counts:changelog$/m,
    );
    assert.match(text, /^rec\.dlq +1 +false +interaction-counts:dead-letters, written by every application/m);
    assert.doesNotMatch(text, /features:/);
  });
});

test('the topics simulate and process create are the planned ones, with the planned partitions and compaction', async () => {
  await withDataDir(async (data) => {
    const planned = new Map((await plan(data)).map((t) => [t.topic, t]));
    await runCliOk(
      ['simulate', '--users', '60', '--items', '30', '--days', '1', '--events', '600', '--data-dir', data],
      ENV,
    );
    await runCliOk(['process', '--once', '--data-dir', data], ENV);
    const created: { topic: string; partitions: number; compacted: boolean }[] = JSON.parse(
      (await runCliOk(['topics', '--json', '--data-dir', data], ENV)).stdout,
    );
    assert.ok(created.length >= 15, `simulate and process created ${created.length} topics`);
    for (const { topic, partitions, compacted } of created) {
      const expected = planned.get(topic);
      assert.ok(expected, `${topic} was created but is not in the plan`);
      assert.deepEqual(
        { topic, partitions, compacted },
        { topic, partitions: expected.partitions, compacted: expected.compacted },
      );
    }
  });
});
