import { describeIndexOutcome } from '../../app/outcomes.js';
import { withPlatform } from '../../app/platform.js';
import { Indexer, type IndexOutcome } from '../../indexer/indexer.js';
import { artifactStore } from '../../registry/model-store.js';
import { CONFIG_SCHEMA, type Config } from '../../runtime/config.js';
import { followRounds } from '../../trainer/follow.js';
import type { Command } from '../command.js';
import { choiceOption } from '../option-values.js';
import { pollMs, untilStopped } from './train.js';

export const indexCommand: Command = {
  name: 'index',
  summary:
    'build ANN indexes of the promoted model (full) and of catalog changes (delta); publish IndexVersion events',
  usage:
    'recstream index [--once] [--quantization f16|i8|none] [--json] [--poll-ms MS] [--metrics-port PORT]',
  options: {
    once: { type: 'boolean' },
    json: { type: 'boolean' },
    quantization: { type: 'string' },
    'poll-ms': { type: 'string' },
    'metrics-port': { type: 'string' },
  },
  run: ({ config, values }) =>
    withPlatform(config, async (platform) => {
      const quantization = choiceOption<Config['indexQuantization']>(
        values.quantization,
        '--quantization',
        CONFIG_SCHEMA.indexQuantization.values,
      );
      const indexer = new Indexer({ platform, store: artifactStore(config.dataDir), quantization });
      const report = (outcome: IndexOutcome) =>
        process.stdout.write(`${values.json ? JSON.stringify(outcome) : describeIndexOutcome(outcome)}\n`);
      if (values.once) {
        // One pass: the full index when the promoted model has none, then another version's full index
        // (an experiment's variant, a candidate awaiting the gate's off-policy step) or the catalog's
        // changes since.
        let outcome = await indexer.indexOnce();
        report(outcome);
        if (outcome.kind === 'full') {
          outcome = await indexer.indexOnce();
          if (outcome.kind === 'delta' || outcome.kind === 'full') report(outcome);
        }
        return outcome.kind === 'refused' ? 1 : 0;
      }
      await untilStopped(platform, values, (signal) =>
        followRounds(() => indexer.indexOnce(), {
          pollMs: pollMs(values),
          signal,
          logger: platform.logger,
          describe: describeIndexOutcome,
          onOutcome: report,
        }),
      );
      return 0;
    }),
};
