/**
 * Simulated interactions as columns of numbers, for sending a batch from
 * the simulation worker to the appending thread without encoding it first:
 * the appending thread rebuilds the very same `Interaction` values and
 * encodes them itself, which splits the Avro work between two threads.
 * Every field of a simulated interaction is an index into a known list, a
 * counter or a number, so the columns carry it exactly (ids are rebuilt
 * from the run's id prefix; a null number travels as NaN).
 *
 * @example
 * ```ts
 * const packer = new InteractionColumns(idPrefix, 5000);
 * packer.add(interaction);
 * const columns = packer.take();      // post, transferring columnBuffer(columns)
 * const values = expand(columns, idPrefix); // the same Interaction values
 * ```
 */
import { INTERACTION_TYPE_SYMBOLS, type Interaction } from '../schemas/generated/types.js';
import type { Surface } from './behaviour.js';
import { COUNTRIES, DEVICES } from './vocabulary.js';

export interface InteractionBatch {
  readonly count: number;
  readonly user: Int32Array;
  readonly item: Int32Array;
  readonly type: Uint8Array;
  readonly value: Float64Array;
  readonly watchMs: Float64Array;
  readonly ts: Float64Array;
  /** The n of event id `<prefix>e<n>`. */
  readonly eventNo: Float64Array;
  /** The n of session id `<prefix>s<n>`. */
  readonly sessionNo: Float64Array;
  readonly device: Uint8Array;
  readonly country: Uint8Array;
  readonly surface: Uint8Array;
}

const SURFACES: readonly Surface[] = ['home', 'search', 'detail', 'autoplay'];
const TYPE_INDEX = new Map(INTERACTION_TYPE_SYMBOLS.map((t, i) => [t, i]));
const DEVICE_INDEX = new Map(DEVICES.map((d, i) => [d, i]));
const COUNTRY_INDEX = new Map(COUNTRIES.map((c, i) => [c.code, i]));
const SURFACE_INDEX = new Map(SURFACES.map((s, i) => [s, i]));

export class InteractionColumns {
  private columns: InteractionBatch;
  private n = 0;

  constructor(
    private readonly idPrefix: string,
    private readonly capacity: number,
  ) {
    this.columns = allocate(capacity);
  }

  get count(): number {
    return this.n;
  }

  add(e: Interaction): void {
    const c = this.columns;
    const i = this.n++;
    const ctx = e.context;
    c.user[i] = Number(e.user_id.slice(1));
    c.item[i] = Number(e.item_id.slice(1));
    c.type[i] = TYPE_INDEX.get(e.type)!;
    c.value[i] = e.value ?? Number.NaN;
    c.watchMs[i] = e.watch_ms ?? Number.NaN;
    c.ts[i] = e.ts;
    c.eventNo[i] = Number(e.event_id.slice(this.idPrefix.length + 1));
    c.sessionNo[i] = Number(ctx.session_id!.slice(this.idPrefix.length + 1));
    c.device[i] = DEVICE_INDEX.get(ctx.device!)!;
    c.country[i] = COUNTRY_INDEX.get(ctx.country!)!;
    c.surface[i] = SURFACE_INDEX.get(ctx.surface as Surface)!;
  }

  /** The batch so far; the packer starts over with fresh columns. */
  take(): InteractionBatch {
    const batch = { ...this.columns, count: this.n };
    this.columns = allocate(this.capacity);
    this.n = 0;
    return batch;
  }
}

/** The one buffer behind every column, which a postMessage of the batch can transfer instead of copying. */
export function columnBuffer(b: InteractionBatch): ArrayBuffer {
  return b.ts.buffer as ArrayBuffer;
}

/** The interactions of a batch, equal field for field to the ones that were added. */
export function expand(b: InteractionBatch, idPrefix: string): Interaction[] {
  const out = new Array<Interaction>(b.count);
  for (let i = 0; i < b.count; i++) {
    const value = b.value[i]!;
    const watchMs = b.watchMs[i]!;
    out[i] = {
      event_id: `${idPrefix}e${b.eventNo[i]}`,
      user_id: `u${b.user[i]}`,
      item_id: `i${b.item[i]}`,
      type: INTERACTION_TYPE_SYMBOLS[b.type[i]!]!,
      value: Number.isNaN(value) ? null : value,
      watch_ms: Number.isNaN(watchMs) ? null : watchMs,
      ts: b.ts[i]!,
      context: {
        device: DEVICES[b.device[i]!]!,
        country: COUNTRIES[b.country[i]!]!.code,
        session_id: `${idPrefix}s${b.sessionNo[i]}`,
        surface: SURFACES[b.surface[i]!]!,
        request_id: null,
      },
    };
  }
  return out;
}

/** All columns as views of one buffer (transferring one buffer is much cheaper than eleven). */
function allocate(n: number): InteractionBatch {
  const buffer = new ArrayBuffer(n * (5 * 8 + 2 * 4 + 4));
  // Widest first, so every view starts aligned: five 8-byte columns, two 4-byte, four 1-byte.
  const f64 = (k: number) => new Float64Array(buffer, k * 8 * n, n);
  const i32 = (k: number) => new Int32Array(buffer, 40 * n + k * 4 * n, n);
  const u8 = (k: number) => new Uint8Array(buffer, 48 * n + k * n, n);
  return {
    count: 0,
    ts: f64(0),
    value: f64(1),
    watchMs: f64(2),
    eventNo: f64(3),
    sessionNo: f64(4),
    user: i32(0),
    item: i32(1),
    type: u8(0),
    device: u8(1),
    country: u8(2),
    surface: u8(3),
  };
}
