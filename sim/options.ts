/**
 * What a simulation is asked for, with defaults and validation. Errors are
 * ConfigError naming the option (`--users`, `--rate`, …) so the command can
 * print them as they are.
 *
 * @example
 * ```ts
 * const options = resolveSimulation({ seed: 7, users: 1000, items: 200, events: 50_000 });
 * options.days; // 28
 * ```
 */
import { ConfigError } from '../runtime/errors.js';

export interface SimulationOptions {
  /** Same seed (and other options) → byte-identical topics. Default 1. */
  readonly seed?: number;
  /** Users u0 … u{users-1}. Default 100,000. */
  readonly users?: number;
  /** Items i0 … i{items-1}. Default 20,000. */
  readonly items?: number;
  /** Interaction events to produce. Default 1,000,000. */
  readonly events?: number;
  /** Simulated span in days: new users and items arrive, items retire and tastes drift across it. Default 28. */
  readonly days?: number;
  /** Event time of the simulation's start, epoch ms. Default 2025-01-06T00:00Z (a Monday). */
  readonly start?: number;
  /**
   * Mean events per second of event time (streaming mode paces output to it on
   * the real clock). Unset: `events` spread over `days`.
   */
  readonly rate?: number;
  /** Dimensions of the latent taste space. Default 16. */
  readonly dims?: number;
  /**
   * The live phase: once the `events` of the span are out, the same world
   * goes on without end at this mean rate (events per second of event time,
   * following the day's rhythm). Unset: the stream ends after `events`.
   * Not part of the event ids' hash: the world and its history are the same
   * whatever the live rate.
   */
  readonly liveRate?: number;
}

export interface ResolvedSimulation {
  readonly seed: number;
  readonly users: number;
  readonly items: number;
  readonly events: number;
  readonly days: number;
  readonly start: number;
  readonly rate: number | undefined;
  readonly dims: number;
  readonly liveRate: number | undefined;
  /** Span of the simulation in ms. */
  readonly spanMs: number;
  /** Mean interaction events per ms of event time. */
  readonly density: number;
}

export const SIMULATION_DEFAULTS = {
  seed: 1,
  users: 100_000,
  items: 20_000,
  events: 1_000_000,
  days: 28,
  start: Date.UTC(2025, 0, 6),
  dims: 16,
} as const;

const DAY_MS = 86_400_000;

export function resolveSimulation(options: SimulationOptions = {}): ResolvedSimulation {
  const seed = wholeNumber('--seed', options.seed ?? SIMULATION_DEFAULTS.seed, 0, 0xffff_ffff);
  const users = wholeNumber('--users', options.users ?? SIMULATION_DEFAULTS.users, 1, 100_000_000);
  const items = wholeNumber('--items', options.items ?? SIMULATION_DEFAULTS.items, 1, 10_000_000);
  const events = wholeNumber('--events', options.events ?? SIMULATION_DEFAULTS.events, 0, 2 ** 40);
  const dims = wholeNumber('--dims', options.dims ?? SIMULATION_DEFAULTS.dims, 2, 256);
  const days = options.days ?? SIMULATION_DEFAULTS.days;
  if (!Number.isFinite(days) || days <= 0 || days > 3650)
    throw new ConfigError(`--days must be a number of days in (0, 3650], got ${days}`);
  const start = options.start ?? SIMULATION_DEFAULTS.start;
  if (!Number.isSafeInteger(start) || start < 0)
    throw new ConfigError(`--start must be a time at or after 1970-01-01, got ${start}`);
  const rate = options.rate;
  if (rate !== undefined && (!Number.isFinite(rate) || rate <= 0 || rate > 10_000_000))
    throw new ConfigError(`--rate must be events per second in (0, 10000000], got ${rate}`);
  const liveRate = options.liveRate;
  if (liveRate !== undefined && (!Number.isFinite(liveRate) || liveRate <= 0 || liveRate > 1_000_000))
    throw new ConfigError(`--rate must be live events per second in (0, 1000000], got ${liveRate}`);
  if (liveRate !== undefined && rate !== undefined)
    throw new ConfigError('a simulation streams at --rate from its start or has a live phase, not both');
  const spanMs = Math.round(days * DAY_MS);
  const density = rate !== undefined ? rate / 1000 : Math.max(events, 1) / spanMs;
  return { seed, users, items, events, days, start, rate, dims, liveRate, spanMs, density };
}

function wholeNumber(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max)
    throw new ConfigError(`${name} must be a whole number in [${min}, ${max}], got ${value}`);
  return value;
}
