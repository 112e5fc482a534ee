/**
 * The two-variant experiment the `serve` suite's stateless phase measures
 * a responder under: every user in it, split 50/50 by the variant hash
 * between `control` (the promoted model, v1 in the world) and `candidate`
 * (the world's second model version with its own full index), started
 * with `recstream experiments start` as an operator starts one. The
 * responder then serves two model/index pairs, each user from theirs.
 *
 * `waitForModel` returns once the responder answers from the candidate's
 * pair: until that pair is loaded (in the background, after the responder
 * is ready) its users are served the promoted one, which would measure
 * nothing of the experiment. `waitForOneSessionThread` returns once the
 * responder has then gathered both pairs onto one session thread
 * (`recstream_serve_session_threads` 1), so that their second load falls
 * in no measured run.
 *
 * @example
 * ```ts
 * const experiment = await startTwoVariant(world, dataDir, workDir);
 * await waitForModel(responder.url, users, experiment.candidate);
 * await waitForOneSessionThread(responder.url);
 * ```
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { recstream } from '../recstream-cli.js';
import type { World } from './world.js';

export interface TwoVariant {
  readonly id: string;
  /** The candidate variant's model, `<model>@<version>`. */
  readonly candidate: string;
  /** `name` → `model` of each variant, for the result's config. */
  readonly variants: Readonly<Record<string, string>>;
}

const ID = 'bench-serve-two-variant';

/** Starts the experiment on the data dir's log; the responder started on it after this serves it from its start. */
export async function startTwoVariant(world: World, dataDir: string, workDir: string): Promise<TwoVariant> {
  const second = world.modelVersions.find((v) => v !== 1);
  if (second === undefined) throw new Error('serve bench: the world has no second model version to test');
  const candidate = `${world.model}@${second}`;
  const variants = { control: 'promoted', candidate };
  const file = join(workDir, `${ID}.json`);
  await writeFile(
    file,
    JSON.stringify({
      id: ID,
      description: 'serve bench: the promoted model against a second trained version, half the users each',
      salt: 'bench-serve-1',
      variants: Object.entries(variants).map(([name, model]) => ({ name, model, share: 0.5 })),
    }),
  );
  await recstream(['experiments', 'start', file, '--data-dir', dataDir]);
  return { id: ID, candidate, variants };
}

/** Polls the users' recommendations until one is served by `model`; throws after `timeoutMs`. */
export async function waitForModel(
  base: string,
  users: readonly string[],
  model: string,
  timeoutMs = 120_000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (let i = 0; performance.now() < deadline; i++) {
    const response = await fetch(new URL(`/v1/recommendations/${users[i % users.length]}?k=10`, base));
    const body = (await response.json()) as { model_version?: string | null };
    if (body.model_version === model) return;
    // Half the users are the candidate's: a few requests find one once its pair is loaded.
    if (i % 20 === 19) await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`serve bench: no response from ${model} within ${timeoutMs} ms: its pair did not load`);
}

/** Polls the responder's /metrics until its served pairs run on one session thread; throws after `timeoutMs`. */
export async function waitForOneSessionThread(base: string, timeoutMs = 120_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const text = await (await fetch(new URL('/metrics', base))).text();
    if (/^recstream_serve_session_threads 1$/m.test(text)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`serve bench: the responder's pairs were not on one session thread within ${timeoutMs} ms`);
}
