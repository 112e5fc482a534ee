/**
 * The responder of the `serve` bench's hot-reload phase: what `recstream
 * serve` runs (the platform, the in-process online store with the features
 * application, `startResponder`), plus a control channel over IPC on which
 * the bench asks it to publish model-version events while its load runs.
 *
 * Why not `recstream serve` and the `models` commands beside it: the
 * embedded log has one writer process, and `recstream serve` is it. So the
 * events are published from inside the responder's process, through the
 * same log, as a trainer or `models rollback` would publish them from
 * elsewhere:
 *
 * - `{ op: 'promote', version }`: a `promoted` event for that version (what
 *   a trainer publishes for a new version, or `models promote`);
 * - `{ op: 'rollback' }`: the two events `models rollback` publishes (the
 *   promoted version `rolled_back`, the one promoted before it `promoted`).
 *
 * Neither re-hashes the artifacts here, as `models promote` and `rollback`
 * do in their own process first: on this core that would be the
 * publisher's work, not the responder's, and the responder verifies every
 * artifact when it loads the pair anyway. Each is answered
 * `{ op, ok, published_ts, version | error }`.
 *
 * Usage: `node responder-host.js <data-dir>` with an IPC channel; prints
 * `listening on <url>`, then sends `{ op: 'ready' }` once recommendations
 * are served. SIGTERM or `{ op: 'stop' }` closes it as `recstream serve` closes.
 */

import { withPlatform } from '../../app/platform.js';
import { startServing } from '../../app/serving-store.js';
import { ModelRegistry, publishModelVersions } from '../../registry/model-registry.js';
import { loadConfig } from '../../runtime/config.js';
import type { Platform } from '../../runtime/platform.js';

export type HostRequest = { op: 'promote'; version: number } | { op: 'rollback' } | { op: 'stop' };
export type HostReply =
  | { op: 'ready' }
  | { op: 'promote' | 'rollback'; ok: true; published_ts: number; version: number }
  | { op: 'promote' | 'rollback'; ok: false; error: string };

async function publish(platform: Platform, request: HostRequest): Promise<number> {
  const model = platform.config.modelName;
  const registry = await ModelRegistry.load(platform.log, platform.serde);
  const now = Date.now();
  const events = [];
  let version: number;
  if (request.op === 'promote') {
    const target = registry.get(model, request.version);
    if (target === undefined) throw new Error(`${model} has no version ${request.version}`);
    events.push({
      ...target,
      status: 'promoted' as const,
      status_ts: now,
      reason: 'bench serve: promoted under load',
    });
    version = target.version;
  } else {
    const current = registry.promoted(model);
    const target = registry.rollbackTarget(model);
    if (current === undefined || target === undefined)
      throw new Error(`${model} has nothing to roll back to`);
    const reason = 'bench serve: rolled back under load';
    events.push({ ...current, status: 'rolled_back' as const, status_ts: now, reason });
    events.push({
      ...target,
      status: 'promoted' as const,
      status_ts: now,
      reason: `rollback of v${current.version}: ${reason}`,
    });
    version = target.version;
  }
  // Published as registry/promote.ts and registry/rollback.ts do, less their artifact check: hashing
  // the models here would load the responder's CPU during the measurement.
  await publishModelVersions(platform, events);
  return version;
}

const config = loadConfig(process.env, { dataDir: process.argv[2] });
await withPlatform(config, async (platform) => {
  const serving = await startServing(platform);
  const { responder } = serving;
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  process.once('SIGTERM', stop);
  process.once('disconnect', stop);
  const send = (reply: HostReply) => process.send?.(reply);
  process.on('message', (request: HostRequest) => {
    if (request.op === 'stop') return stop();
    publish(platform, request).then(
      (version) => send({ op: request.op, ok: true, published_ts: Date.now(), version }),
      (error: Error) => send({ op: request.op, ok: false, error: error.message }),
    );
  });
  try {
    process.stdout.write(`listening on ${responder.url}\n`);
    await Promise.race([responder.started.then(() => send({ op: 'ready' })), stopped]);
    await stopped;
  } finally {
    await serving.close();
  }
});
process.disconnect?.();
