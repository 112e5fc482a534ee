import { MessageChannel } from 'node:worker_threads';
import { captureLogger, scratchDir } from '../embedded/embedded-log.fixture.js';
import { EmbeddedLog } from '../embedded/embedded-log.js';
import { runLogContract } from '../log.contract.js';
import { PortLog } from './port-log.js';
import { serveLog } from './serve-log.js';
import { SplitLog } from './split-log.js';

runLogContract('split (reads from the files read-only, the rest through a MessagePort)', async () => {
  const { dir, cleanup } = await scratchDir();
  const owned = await EmbeddedLog.open(dir, { maintenanceIntervalMs: 0, logger: captureLogger() });
  const { port1, port2 } = new MessageChannel();
  const served = serveLog(owned, port1);
  const reads = await EmbeddedLog.open(dir, { readOnly: true, logger: captureLogger() });
  const log = new SplitLog(reads, new PortLog(port2, owned.kind));
  return {
    log,
    topic: (base) => base,
    compact: async (topic) => {
      await owned.roll(topic);
      await owned.compact(topic);
    },
    cleanup: async () => {
      await log.close();
      await served.close();
      await owned.close();
      await cleanup();
    },
  };
});
