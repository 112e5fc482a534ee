import { withPlatform } from '../../app/platform.js';
import { ConfigError } from '../../runtime/errors.js';
import { CLICK_MODELS } from '../../sim/click-models.js';
import { writeSimulation } from '../../sim/log-writer.js';
import { resolveSimulation, SIMULATION_DEFAULTS, type SimulationOptions } from '../../sim/options.js';
import { GroundTruth } from '../../sim/truth.js';
import { World } from '../../sim/world.js';
import type { Command } from '../command.js';
import { choiceOption, wholeNumberOption } from '../option-values.js';
import { Progress } from '../progress.js';
import { runClosedLoopCommand } from './simulate-closed-loop.js';

/** Counts here may be 0, as they always could. */
const ANY = { min: 0 };

export const simulateCommand: Command = {
  name: 'simulate',
  summary:
    'synthetic users and items with tastes, sessions and daily rhythm → rec.items, rec.users, rec.interactions (seeded; batch, or --rate on the real clock)',
  usage:
    'recstream simulate [--users N] [--items N] [--events N] [--seed N] [--days D] [--rate EVENTS_PER_S] [--start ISO_TIME] [--truth PATH [--truth-at ISO_TIME] [--truth-top K]] [--json]\n' +
    '       recstream simulate --closed-loop --responder URL [--duration S] [--rate REQUESTS_PER_S] [--users N] [--items N] [--seed N] [--click-model choice|cascade] [--truth PATH] [--json]',
  options: {
    users: { type: 'string' },
    items: { type: 'string' },
    events: { type: 'string' },
    seed: { type: 'string' },
    days: { type: 'string' },
    rate: { type: 'string' },
    start: { type: 'string' },
    truth: { type: 'string' },
    'truth-at': { type: 'string' },
    'truth-top': { type: 'string' },
    'closed-loop': { type: 'boolean' },
    responder: { type: 'string' },
    duration: { type: 'string' },
    'click-model': { type: 'string' },
    json: { type: 'boolean' },
  },
  async run({ config, values }) {
    const rate = optionalNumber(values.rate, '--rate');
    if (values['closed-loop']) {
      if (typeof values.responder !== 'string') throw new ConfigError('--closed-loop needs --responder URL');
      const world = resolveSimulation({
        users: wholeNumberOption(values.users, '--users', SIMULATION_DEFAULTS.users, ANY),
        items: wholeNumberOption(values.items, '--items', SIMULATION_DEFAULTS.items, ANY),
        seed: wholeNumberOption(values.seed, '--seed', SIMULATION_DEFAULTS.seed, ANY),
        days: optionalNumber(values.days, '--days') ?? SIMULATION_DEFAULTS.days,
        start: time(values.start, '--start') ?? SIMULATION_DEFAULTS.start,
      });
      const duration = optionalNumber(values.duration, '--duration') ?? 60;
      if (duration <= 0) throw new ConfigError(`--duration must be more than 0 seconds, got ${duration}`);
      if (rate !== undefined && rate <= 0)
        throw new ConfigError(`--rate must be more than 0 requests/s, got ${rate}`);
      const clickModel = choiceOption(values['click-model'], '--click-model', CLICK_MODELS, 'choice');
      return runClosedLoopCommand(config, world, {
        responder: values.responder,
        clickModel,
        durationS: duration,
        rate: rate ?? 50,
        truthPath: typeof values.truth === 'string' ? values.truth : undefined,
        json: values.json === true,
      });
    }
    if (
      values.responder !== undefined ||
      values.duration !== undefined ||
      values['click-model'] !== undefined
    )
      throw new ConfigError('--responder, --duration and --click-model are options of --closed-loop');
    const options: SimulationOptions = {
      users: wholeNumberOption(values.users, '--users', SIMULATION_DEFAULTS.users, ANY),
      items: wholeNumberOption(values.items, '--items', SIMULATION_DEFAULTS.items, ANY),
      events: wholeNumberOption(values.events, '--events', SIMULATION_DEFAULTS.events, ANY),
      seed: wholeNumberOption(values.seed, '--seed', SIMULATION_DEFAULTS.seed, ANY),
      days: optionalNumber(values.days, '--days') ?? SIMULATION_DEFAULTS.days,
      // Streaming runs on the real clock: the world starts now unless told otherwise.
      start: time(values.start, '--start') ?? (rate === undefined ? SIMULATION_DEFAULTS.start : Date.now()),
      rate,
    };
    const truthPath = typeof values.truth === 'string' ? values.truth : undefined;
    const truthAt = time(values['truth-at'], '--truth-at');
    const truthTop = wholeNumberOption(values['truth-top'], '--truth-top', 0, ANY);
    if (truthPath === undefined && (truthAt !== undefined || values['truth-top'] !== undefined))
      throw new ConfigError('--truth-at and --truth-top need --truth PATH');
    // Resolved before the log is opened, so bad options fail before anything is written.
    const resolved = resolveSimulation(options);

    return withPlatform(config, async (platform) => {
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      const progress = new Progress('simulate', resolved.events);
      let summary: Awaited<ReturnType<typeof writeSimulation>>;
      try {
        summary = await writeSimulation(
          resolved,
          {
            log: platform.log,
            serde: platform.serde,
            registry: { dataDir: config.dataDir, url: config.schemaRegistryUrl },
          },
          {
            partitions: config.partitions,
            realTime: rate !== undefined,
            signal: stop.signal,
            onProgress: (p) =>
              progress.update(p.interactions, {
                items: p.items,
                users: p.users,
                event_time: new Date(p.lastTs).toISOString().slice(0, 16),
              }),
          },
        );
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      progress.done({ items: summary.items, users: summary.users });
      const at = truthAt ?? (Number.isNaN(summary.lastTs) ? resolved.start : summary.lastTs);
      if (truthPath !== undefined)
        await new GroundTruth(new World(resolved)).writeFile(truthPath, { at, top: truthTop });
      const report = {
        events: summary.interactions,
        items: summary.items,
        users: summary.users,
        seconds: Number(summary.seconds.toFixed(3)),
        events_per_s: Math.round(summary.interactions / summary.seconds),
        stopped: summary.stopped,
        last_event_time: Number.isNaN(summary.lastTs) ? null : new Date(summary.lastTs).toISOString(),
        max_rss_bytes: process.resourceUsage().maxRSS * 1024,
        truth:
          truthPath === undefined ? null : { path: truthPath, at: new Date(at).toISOString(), top: truthTop },
        options: resolved,
      };
      if (values.json) {
        process.stdout.write(`${JSON.stringify(report)}\n`);
        return 0;
      }
      process.stdout.write(
        [
          `simulated ${report.events.toLocaleString('en-US')} interactions, ${report.items.toLocaleString('en-US')} item records and ${report.users.toLocaleString('en-US')} user records in ${report.seconds.toFixed(1)} s (${report.events_per_s.toLocaleString('en-US')} events/s)${summary.stopped ? ', stopped early' : ''}`,
          `seed ${resolved.seed}: users u0…u${resolved.users - 1}, items i0…i${resolved.items - 1}, last event at ${report.last_event_time ?? '-'}`,
          truthPath === undefined ? '' : `ground truth at ${report.truth!.at} written to ${truthPath}`,
        ]
          .filter(Boolean)
          .join('\n') + '\n',
      );
      return 0;
    });
  },
};

function optionalNumber(raw: string | boolean | undefined, name: string): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(n))
    throw new ConfigError(`${name} must be a number, got ${JSON.stringify(raw)}`);
  return n;
}

function time(raw: string | boolean | undefined, name: string): number | undefined {
  if (raw === undefined) return undefined;
  const ms = typeof raw === 'string' ? Date.parse(raw) : Number.NaN;
  if (Number.isNaN(ms))
    throw new ConfigError(
      `${name} must be an ISO time such as 2025-01-06T00:00:00Z, got ${JSON.stringify(raw)}`,
    );
  return ms;
}
