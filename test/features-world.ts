/**
 * A simulated world for the features application's end-to-end tests: the
 * sim/ agents' catalog, users and interactions, plus what the simulator
 * does not produce on its own — profile changes and an opt-out part-way,
 * catalog changes, and interactions that reach their partition out of
 * event-time order (within the allowed lateness). `writeWorld` appends it
 * all to a log, each topic partitioned by its key as producers do.
 *
 * @example
 * ```ts
 * const world = simulatedWorld({ seed: 3, users: 300, items: 100, events: 10_000, latenessMs: 600_000 });
 * await writeWorld(log, serde, world, 4);
 * ```
 */

import { seededRandom } from '../bench/interaction-load.js';
import type { EventLog } from '../runtime/log/log.js';
import { partitionForKey } from '../runtime/log/partitioner.js';
import type { Serde } from '../runtime/serde/serde.js';
import type { Interaction, Item, User } from '../schemas/generated/types.js';
import { Simulator } from '../sim/simulator.js';
import type { RawWorld } from './reference-features.js';

export interface WorldOptions {
  readonly seed: number;
  readonly users: number;
  readonly items: number;
  readonly events: number;
  readonly days: number;
  /** Interactions are displaced in their partition by less than half of this. */
  readonly latenessMs: number;
  readonly partitions: number;
}

export interface FeaturesWorld extends RawWorld {
  /** Interactions per partition, in the order they are appended (not quite event-time order). */
  readonly arrivals: readonly (readonly Interaction[])[];
  /** Users who opted out part-way through (their whole history must vanish). */
  readonly optedOutLater: readonly string[];
}

export function simulatedWorld(options: WorldOptions): FeaturesWorld {
  const sim = new Simulator({
    seed: options.seed,
    users: options.users,
    items: options.items,
    events: options.events,
    days: options.days,
  });
  const items: Item[] = [];
  const users: User[] = [];
  const interactions: Interaction[] = [];
  for (const r of sim.records()) {
    if (r.topic === 'rec.items') items.push(r.value);
    else if (r.topic === 'rec.users') users.push(r.value);
    else interactions.push(r.value);
  }
  const start = interactions[0]!.ts;
  const end = interactions.at(-1)!.ts;
  const middle = Math.floor((start + end) / 2);
  const random = seededRandom(options.seed + 1);
  // Some profiles and catalog entries change part-way: features must use the version of each event's time.
  for (const user of users.slice(0, Math.ceil(users.length / 10))) {
    if (user.opt_out) continue;
    users.push({ ...user, country: user.country === 'DE' ? 'FR' : 'DE', updated_ts: middle });
  }
  for (const item of items.slice(0, Math.ceil(items.length / 10)))
    items.push({ ...item, categories: ['changed', ...item.categories.slice(1)], updated_ts: middle });
  const active = interactions.map((e) => e.user_id).filter((u, i, all) => all.indexOf(u) === i);
  const optedOutLater = active.filter((u) => !users.some((v) => v.user_id === u && v.opt_out)).slice(0, 3);
  for (const userId of optedOutLater) {
    const latest = users.filter((v) => v.user_id === userId).at(-1)!;
    users.push({ ...latest, opt_out: true, updated_ts: middle + 1 });
  }
  const arrivals: Interaction[][] = Array.from({ length: options.partitions }, () => []);
  for (const e of interactions) arrivals[partitionForKey(e.user_id, options.partitions)]!.push(e);
  for (const list of arrivals) {
    for (let i = 0; i + 1 < list.length; i++) {
      if (random() < 0.3 && list[i + 1]!.ts - list[i]!.ts < options.latenessMs / 2) {
        const swap = list[i]!;
        list[i] = list[i + 1]!;
        list[i + 1] = swap;
        i++;
      }
    }
  }
  return { items, users, interactions, arrivals, optedOutLater };
}

/** Appends the world: items and users first, then the interactions of each partition in arrival order. */
export async function writeWorld(
  log: EventLog,
  serde: Serde,
  world: FeaturesWorld,
  partitions: number,
  range: { from: number; to: number } = { from: 0, to: 1 },
): Promise<void> {
  for (const name of ['rec.items', 'rec.users', 'rec.interactions'])
    await log.ensureTopic({ name, partitions });
  if (range.from === 0) {
    const items = await serde.encoder('rec.items-value');
    const users = await serde.encoder('rec.users-value');
    await log.append(
      'rec.items',
      world.items.map((i) => ({ key: i.item_id, value: items.encode(i), timestamp: i.updated_ts })),
    );
    await log.append(
      'rec.users',
      world.users.map((u) => ({ key: u.user_id, value: users.encode(u), timestamp: u.updated_ts })),
    );
  }
  const encoder = await serde.encoder('rec.interactions-value');
  for (const [partition, list] of world.arrivals.entries()) {
    const part = list.slice(Math.floor(list.length * range.from), Math.floor(list.length * range.to));
    for (let i = 0; i < part.length; i += 1000) {
      await log.append(
        'rec.interactions',
        part
          .slice(i, i + 1000)
          .map((e) => ({ key: e.user_id, value: encoder.encode(e), timestamp: e.ts, partition })),
      );
    }
  }
}
