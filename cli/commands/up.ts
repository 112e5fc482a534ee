import { describeIndexOutcome, describeTrainOutcome } from '../../app/outcomes.js';
import { withPlatform } from '../../app/platform.js';
import { startRoles } from '../../app/roles.js';
import { servingOffPolicyStep } from '../../evaluation/off-policy/gate-step.js';
import { Authenticator } from '../../responders/auth/authenticator.js';
import { dataEndpointAccess } from '../../responders/auth/exposure.js';
import type { Command } from '../command.js';
import { pollMs } from './train.js';

export const upCommand: Command = {
  name: 'up',
  summary:
    'run every role in one process: the processor applications, the trainer, the indexer and the responder (embedded or Kafka, in-process or Redis, per configuration)',
  usage: 'recstream up [--poll-ms MS]',
  options: { 'poll-ms': { type: 'string' } },
  run: async ({ config, values }) => {
    // Before any processor application starts: a responder that would refuse to listen says so now.
    dataEndpointAccess(config, await Authenticator.fromConfig(config));
    return withPlatform(config, async (platform) => {
      const controller = new AbortController();
      const stop = () => controller.abort();
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      try {
        const roles = await startRoles(platform, {
          signal: controller.signal,
          trainPollMs: pollMs(values),
          indexPollMs: pollMs(values),
          offPolicyStep: servingOffPolicyStep(platform),
          onTrain: (o) => process.stdout.write(`train: ${describeTrainOutcome(o)}\n`),
          onIndex: (o) => process.stdout.write(`index: ${describeIndexOutcome(o)}\n`),
        });
        try {
          await roles.responder.started;
        } catch (error) {
          controller.abort();
          await roles.finished.catch(() => undefined);
          throw error;
        }
        process.stdout.write(
          `recstream up: ${roles.runners.length} processor applications, trainer, indexer; serving on ${roles.responder.url}\n${roles.responder.access.summary}\n`,
        );
        await roles.finished;
        return 0;
      } finally {
        process.off('SIGTERM', stop);
        process.off('SIGINT', stop);
      }
    });
  },
};
