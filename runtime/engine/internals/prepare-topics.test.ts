import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PLATFORM_TOPICS } from '../../../schemas/topics.js';
import { withScratchLog } from '../../../test/platform.js';
import { TopologyError } from '../../errors.js';
import { TopologyBuilder } from '../../processor/topology.js';
import { prepareTopics } from './prepare-topics.js';

const bytes = { deserialize: (b: Buffer) => b };

function reading(topics: readonly string[]) {
  return new TopologyBuilder('reader')
    .addSource('in', topics, bytes)
    .addProcessor('noop', () => ({ process() {} }), ['in'])
    .build();
}

test('a platform topic a topology reads that nobody has written yet is created co-partitioned; any other missing source is an error', async () => {
  await withScratchLog('recstream-prepare-topics-', async ({ log }) => {
    await log.ensureTopic({ name: 'rec.interactions', partitions: 3 });
    assert.equal(
      await prepareTopics(reading(['rec.interactions', 'rec.recommendations']), log, PLATFORM_TOPICS),
      3,
    );
    const created = await log.describeTopic('rec.recommendations');
    assert.equal(created?.partitions, 3);
    assert.equal(created?.compacted, false);
    await assert.rejects(
      prepareTopics(reading(['rec.interactions', 'rec.elsewhere']), log, PLATFORM_TOPICS),
      (err: unknown) =>
        err instanceof TopologyError && /source topic rec\.elsewhere does not exist/.test(err.message),
    );
    assert.equal(await log.describeTopic('rec.elsewhere'), undefined);
  });
});
