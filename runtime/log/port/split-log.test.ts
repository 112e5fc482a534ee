import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageChannel } from 'node:worker_threads';
import { captureLogger, scratchDir } from '../embedded/embedded-log.fixture.js';
import { EmbeddedLog } from '../embedded/embedded-log.js';
import { runLogContract } from '../log.contract.js';
import { partitionForKey } from '../partitioner.js';
import { PortLog } from './port-log.js';
import { serveLog } from './serve-log.js';
import { SplitLog } from './split-log.js';

/** An owned embedded log, and a split log over it as a stream thread has one. */
async function splitOverOwned() {
  const { dir, cleanup } = await scratchDir();
  const owned = await EmbeddedLog.open(dir, { maintenanceIntervalMs: 0, logger: captureLogger() });
  const { port1, port2 } = new MessageChannel();
  const served = serveLog(owned, port1);
  const reads = await EmbeddedLog.open(dir, { readOnly: true, logger: captureLogger() });
  const log = new SplitLog(reads, new PortLog(port2, owned.kind));
  const close = async () => {
    await log.close();
    await served.close();
    await owned.close();
    await cleanup();
  };
  return { owned, log, close };
}

runLogContract('split (reads from the files read-only, the rest through a MessagePort)', async () => {
  const { owned, log, close } = await splitOverOwned();
  return {
    log,
    topic: (base) => base,
    compact: async (topic) => {
      await owned.roll(topic);
      await owned.compact(topic);
    },
    cleanup: close,
  };
});

test('a topic made again with another partition count: records are placed by the new count, none by the old', async () => {
  const { owned, log, close } = await splitOverOwned();
  try {
    const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
    const records = keys.map((key) => ({ key, value: Buffer.from(key) }));
    await owned.ensureTopic({ name: 't', partitions: 2 });
    await log.append('t', records);
    await owned.deleteTopics(['t']);
    await owned.ensureTopic({ name: 't', partitions: 4 });
    const acks = await log.append('t', records);
    assert.equal(
      acks.reduce((n, a) => n + a.count, 0),
      keys.length,
    );
    for (const { partition, end } of await owned.offsets('t'))
      for (const r of await owned.read('t', partition, 0, end))
        assert.equal(partition, partitionForKey(r.key!, 4), `${r.key} in partition ${partition}`);
  } finally {
    await close();
  }
});
