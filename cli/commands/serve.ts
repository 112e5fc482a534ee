import { withPlatform } from '../../app/platform.js';
import { startServing } from '../../app/serving-store.js';
import { servingOffPolicyStep } from '../../evaluation/off-policy/gate-step.js';
import { Authenticator } from '../../responders/auth/authenticator.js';
import { dataEndpointAccess } from '../../responders/auth/exposure.js';
import type { Command } from '../command.js';

export const serveCommand: Command = {
  name: 'serve',
  summary:
    'run the responder: GET /v1/recommendations/:userId, POST /v1/events, /healthz, /readyz, /metrics on RECSTREAM_HTTP_HOST:RECSTREAM_HTTP_PORT (without Redis it also runs the features application, whose stores it reads)',
  usage: 'recstream serve [--data-dir DIR]',
  options: {},
  run: async ({ config }) => {
    // Before the serving store (and, without Redis, the features application) starts: a responder
    // that would refuse to listen says so now.
    dataEndpointAccess(config, await Authenticator.fromConfig(config));
    return withPlatform(config, async (platform) => {
      const serving = await startServing(platform, servingOffPolicyStep(platform));
      const { responder } = serving;
      let stop!: () => void;
      const stopped = new Promise<void>((resolve) => (stop = resolve));
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      try {
        process.stdout.write(`recstream serve: listening on ${responder.url}\n${responder.access.summary}\n`);
        // A failed start (index unreadable, disk full) ends the command instead of serving 503s forever.
        await Promise.race([responder.started.then(() => stopped), stopped]);
        return 0;
      } finally {
        process.off('SIGTERM', stop);
        process.off('SIGINT', stop);
        await serving.close();
      }
    });
  },
};
