/**
 * The demo's last stage: every role running in this process over the
 * demo's data dir (`startRoles`: the processor applications, the trainer
 * retraining on new snapshots, the indexer, the responder on
 * RECSTREAM_HTTP_HOST:PORT, 127.0.0.1:8080), u0's recommendations printed
 * with titles and scores, and the `curl` to ask for more. Events posted to
 * `/v1/events` flow through the processors at once. It runs until `signal`
 * aborts (Ctrl-C).
 *
 * @example
 * ```ts
 * await demoServe(platform, process.stdout, abortController.signal);
 * ```
 */
import type { Platform } from '../runtime/platform.js';
import { DEMO_ENGINE } from './demo-model.js';
import { startRoles } from './roles.js';

interface Listed {
  items: { item_id: string; score: number }[];
  model_version: string | null;
  index_version: string | null;
  fallback: string | null;
}

export async function demoServe(
  platform: Platform,
  out: NodeJS.WritableStream,
  signal: AbortSignal,
): Promise<void> {
  const roles = await startRoles(platform, { signal, engineDefaults: DEMO_ENGINE });
  const { responder } = roles;
  await responder.started;
  const listed = (await (await fetch(`${responder.url}/v1/recommendations/u0?k=10`)).json()) as Listed;
  const catalog = responder.recommendations()!.catalog;
  const source =
    listed.fallback === null
      ? `${listed.model_version} with ${listed.index_version}`
      : `no personalised model (${listed.fallback}): popular items`;
  out.write(`\nu0's recommendations from the responder (${source}):\n`);
  listed.items.forEach((entry, i) => {
    const item = catalog.get(entry.item_id);
    out.write(
      `  ${String(i + 1).padStart(2)}. ${entry.item_id.padEnd(6)} ${entry.score.toFixed(3).padStart(7)}  ${item?.title ?? ''} [${item?.categories.join(', ') ?? ''}]\n`,
    );
  });
  out.write(
    `\nserving on ${responder.url} — ask for more:\n  curl '${responder.url}/v1/recommendations/u1?k=5'\n  console: ${responder.url}/   metrics: ${responder.url}/metrics   readiness: ${responder.url}/readyz\nCtrl-C stops.\n`,
  );
  await roles.finished;
}
