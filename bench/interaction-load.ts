/**
 * A seeded stream of `Interaction` values for benchmarks and runtime tests:
 * users and items drawn from skewed (Zipf-like) distributions, every event
 * type, deterministic ids and timestamps. It is load, not behaviour: the
 * synthetic agents with tastes and ground truth live in sim/.
 *
 * @example
 * ```ts
 * for (const event of interactionStream({ seed: 7, users: 1000, items: 500, count: 10_000 })) encode(event);
 * ```
 */
import { INTERACTION_TYPE_SYMBOLS, type Interaction } from '../schemas/generated/types.js';

const TYPES = INTERACTION_TYPE_SYMBOLS;
const DEVICES = ['tv', 'mobile', 'web', 'tablet'];
const COUNTRIES = ['PT', 'US', 'DE', 'BR', 'IN', 'JP'];

/** mulberry32: small, fast, and the same sequence on every platform. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface StreamOptions {
  readonly seed: number;
  readonly users: number;
  readonly items: number;
  readonly count: number;
  /** Event time of the first event; events are 1–2000 ms apart. */
  readonly startTs?: number;
}

export function* interactionStream(options: StreamOptions): Generator<Interaction> {
  const random = seededRandom(options.seed);
  // x^3 skews draws toward low ids: a few heavy users and popular items, a long tail.
  const skewed = (n: number) => Math.floor(random() ** 3 * n);
  let ts = options.startTs ?? 1_735_689_600_000;
  for (let i = 0; i < options.count; i++) {
    ts += 1 + Math.floor(random() * 2000);
    const type = TYPES[Math.floor(random() * TYPES.length)]!;
    const user = skewed(options.users);
    yield {
      event_id: `e${options.seed}-${i}`,
      user_id: `u${user}`,
      item_id: `i${skewed(options.items)}`,
      type,
      value:
        type === 'rate'
          ? 1 + Math.floor(random() * 5)
          : type === 'view' || type === 'complete'
            ? random()
            : null,
      watch_ms:
        type === 'view' || type === 'complete' || type === 'skip' ? Math.floor(random() * 3_600_000) : null,
      ts,
      context: {
        device: DEVICES[user % DEVICES.length]!,
        country: COUNTRIES[user % COUNTRIES.length]!,
        session_id: `s${user}-${Math.floor(ts / 1_800_000)}`,
        surface: 'home',
        request_id: null,
      },
    };
  }
}
