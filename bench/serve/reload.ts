/**
 * The `serve` bench's hot-reload phase: the responder host (what `recstream
 * serve` runs, plus a control channel: responder-host.ts) under an open
 * loop of GETs at a fixed rate, while two new model versions are promoted
 * and then rolled back, one after the other:
 *
 *   steady → promote v2 → … → promote v3 → … → rollback (v3 out, v2 back) → steady
 *
 * A swap is done when the first request scheduled after its events were
 * published is answered by the new version; its window runs from the
 * publication to `TAIL_MS` after that answer (the old pair is freed and
 * collected then). Requests scheduled inside a window are "during swaps";
 * the others, after the first `WARM_UP_MS`, are "steady". Every response
 * is checked: status 200, a personalised list, and an index version built
 * for the model version it names.
 *
 * @example
 * ```ts
 * const figures = await reloadUnderLoad({ world, dataDir, users, rate: 200, progress });
 * figures.swapP99Ms / figures.steadyP99Ms;
 * ```
 */
import { fileURLToPath } from 'node:url';
import { startChild } from './child.js';
import { type OpenLoopSample, openLoop, percentile, ResponseCheck, userPaths } from './load.js';
import type { HostReply, HostRequest } from './responder-host.js';
import type { World } from './world.js';

const HOST = fileURLToPath(new URL('./responder-host.js', import.meta.url));
const WARM_UP_MS = 2_000;
const STEADY_MS = 4_000;
const BETWEEN_MS = 3_000;
const TAIL_MS = 1_000;
/** The longest a swap may take before the phase gives up on it. */
const SWAP_LIMIT_MS = 60_000;

export interface SwapFigure {
  readonly step: string;
  /** Publication to the first answer from the new version. */
  readonly seconds: number;
  readonly p99Ms: number;
  readonly requests: number;
}

export interface ReloadFigures {
  readonly rate: number;
  readonly seconds: number;
  readonly swaps: SwapFigure[];
  readonly swapP50Ms: number;
  readonly swapP99Ms: number;
  readonly steadyP50Ms: number;
  readonly steadyP99Ms: number;
  readonly swapRequests: number;
  readonly steadyRequests: number;
  readonly failed: number;
  readonly failures: Readonly<Record<string, number>>;
  readonly degraded: number;
  readonly fallbacks: Readonly<Record<string, number>>;
  readonly mixed: number;
  readonly pairs: Readonly<Record<string, number>>;
  readonly maxLagMs: number;
  readonly finalModel: string | null | undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function reloadUnderLoad(options: {
  world: World;
  dataDir: string;
  users: readonly string[];
  rate: number;
  progress: (message: string) => void;
}): Promise<ReloadFigures> {
  const { world, rate, progress } = options;
  const host = await startChild({
    args: [HOST, options.dataDir],
    ipc: true,
    readyPath: '/readyz',
    allCpus: true,
  });
  const replies: HostReply[] = [];
  const waiting: ((reply: HostReply) => void)[] = [];
  host.process.on('message', (reply: HostReply) => {
    const next = waiting.shift();
    if (next) next(reply);
    else replies.push(reply);
  });
  const nextReply = () =>
    new Promise<HostReply>((resolve, reject) => {
      const queued = replies.shift();
      if (queued) return resolve(queued);
      const timer = setTimeout(() => reject(new Error('the responder host did not answer in 30 s')), 30_000);
      waiting.push((reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
    });
  const ask = async (request: HostRequest) => {
    host.process.send!(request);
    let reply = await nextReply();
    while (reply.op === 'ready') reply = await nextReply();
    if (!('ok' in reply) || !reply.ok)
      throw new Error(`the responder host could not ${request.op}: ${JSON.stringify(reply)}`);
    return reply;
  };

  const check = new ResponseCheck(world.indexModels);
  const seen: OpenLoopSample[] = [];
  let done = false;
  const windows: { step: string; from: number; swapped: number; to: number }[] = [];
  try {
    const load = openLoop({
      base: host.url,
      paths: userPaths(options.users, 7919),
      rate,
      seconds: 600,
      check,
      until: () => done,
      onSample: (sample) => seen.push(sample),
    });
    const swapped = async (from: number, model: string): Promise<number> => {
      const deadline = Date.now() + SWAP_LIMIT_MS;
      while (Date.now() < deadline) {
        const first = seen.find((s) => s.dueEpochMs >= from && s.model === model);
        if (first) return first.dueEpochMs + first.latencyMs;
        await sleep(20);
      }
      throw new Error(`no response from ${model} within ${SWAP_LIMIT_MS / 1000} s of its publication`);
    };
    const control = (async () => {
      await sleep(WARM_UP_MS + STEADY_MS);
      const steps: [string, HostRequest][] = [
        ['promote v2', { op: 'promote', version: 2 }],
        ['promote v3', { op: 'promote', version: 3 }],
        ['rollback', { op: 'rollback' }],
      ];
      for (const [step, request] of steps) {
        const from = Date.now();
        const reply = await ask(request);
        const model = `${world.model}@${(reply as { version: number }).version}`;
        const at = await swapped(from, model);
        windows.push({ step, from, swapped: at, to: at + TAIL_MS });
        progress(`reload: ${step} → ${model} served ${((at - from) / 1000).toFixed(2)} s after publication`);
        await sleep(TAIL_MS + BETWEEN_MS);
      }
      await sleep(STEADY_MS - BETWEEN_MS);
    })();
    try {
      await control;
    } finally {
      done = true;
    }
    const result = await load;
    const start = result.samples[0]?.dueEpochMs ?? 0;
    const inWindow = (s: OpenLoopSample) =>
      windows.find((w) => s.dueEpochMs >= w.from && s.dueEpochMs <= w.to);
    const during = result.samples.filter((s) => inWindow(s) !== undefined);
    const steady = result.samples.filter(
      (s) => inWindow(s) === undefined && s.dueEpochMs >= start + WARM_UP_MS,
    );
    const ms = (list: OpenLoopSample[]) => list.map((s) => s.latencyMs);
    return {
      rate,
      seconds: result.seconds,
      swaps: windows.map((w) => {
        const mine = result.samples.filter((s) => inWindow(s) === w);
        return {
          step: w.step,
          seconds: (w.swapped - w.from) / 1000,
          p99Ms: percentile(ms(mine), 0.99),
          requests: mine.length,
        };
      }),
      swapP50Ms: percentile(ms(during), 0.5),
      swapP99Ms: percentile(ms(during), 0.99),
      steadyP50Ms: percentile(ms(steady), 0.5),
      steadyP99Ms: percentile(ms(steady), 0.99),
      swapRequests: during.length,
      steadyRequests: steady.length,
      failed: check.failed(),
      failures: check.failures,
      degraded: check.degraded(),
      fallbacks: check.fallbacks,
      mixed: check.mixed,
      pairs: check.pairs,
      maxLagMs: result.maxLagMs,
      finalModel: result.samples[result.samples.length - 1]?.model,
    };
  } finally {
    done = true;
    await host.stop();
  }
}
