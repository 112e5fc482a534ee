/**
 * Reads the committed `interaction-counts` stores of a data dir straight
 * from their task state, for tests that check no event was lost or counted
 * twice.
 */
import { join } from 'node:path';
import {
  INTERACTION_COUNTS_STORE,
  type InteractionCountsValue,
  interactionCountsCodec,
} from '../processors/interaction-counts/interaction-counts.js';
import { TaskState } from '../runtime/state/task-state.js';
import { withTestPlatform } from './platform.js';

const CHANGELOG = 'rec.interaction-counts.counts.changelog';

/** Sum of every user's total over all partitions; `env` chooses the back-ends (none: embedded). */
export async function countedInteractions(
  dataDir: string,
  partitions: number,
  env: Readonly<Record<string, string>> = {},
): Promise<number> {
  return withTestPlatform(
    dataDir,
    async (platform) => {
      // A child killed during start-up may not have created it yet.
      await platform.log.ensureTopic({ name: CHANGELOG, partitions, compacted: true });
      let total = 0;
      for (let partition = 0; partition < partitions; partition++) {
        const state = await TaskState.open({
          dir: join(dataDir, 'state', 'interaction-counts', String(partition)),
          engine: 'rocksdb',
          log: platform.log,
          applicationId: 'interaction-counts',
          partition,
          stores: [
            { name: INTERACTION_COUNTS_STORE, codec: interactionCountsCodec, changelogTopic: CHANGELOG },
          ],
        });
        try {
          for await (const [, value] of state.store<InteractionCountsValue>(INTERACTION_COUNTS_STORE).range())
            total += value.total;
        } finally {
          await state.close();
        }
      }
      return total;
    },
    env,
  );
}
