/**
 * 10,000 random and mutated records into every source topic the processor
 * applications read from outside (rec.interactions, rec.items, rec.users,
 * rec.recommendations), on the embedded log beside a simulated world, then
 * each application run with `recstream process --once`. fast-check (fixed
 * seed) makes records of seven kinds:
 *
 * - valid: well-formed and within the documented ranges — never dead-lettered;
 * - random bytes (no Confluent magic byte), an unknown schema id with a valid
 *   body, a record cut short, a record of another topic's type under its own
 *   schema id — bad for every application;
 * - out of range: valid Avro breaking a documented rule (negative or too-late
 *   time, a non-finite value, an empty id, a key that is not the record's id,
 *   a repeated list position) — bad for every application that reads the
 *   field;
 * - bit flips: 1–3 bits of a valid record flipped; bad exactly when the
 *   registry-backed decoder refuses the bytes or the decoded record breaks a
 *   rule of the application.
 *
 * Every application must exit 0 (no crash), and the offsets it dead-letters
 * on each source topic must be exactly the bad records for it: none lost,
 * none extra.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { checkInteraction, MAX_TS } from '../../features/math/interactions.js';
import { checkServedList } from '../../features/math/served-exposures.js';
import type { Platform } from '../../runtime/platform.js';
import type { Interaction, Item, ServedRecommendations, User } from '../../schemas/generated/types.js';
import { catalogueSpec } from '../../schemas/topics.js';
import { runCliOk } from '../cli.js';
import { withTestPlatform } from '../platform.js';
import { reportFigure } from './figures.js';

const RECORDS_PER_TOPIC = 2500;
const SEED = 30;
const PARTITIONS = 4;

type Topic = 'rec.interactions' | 'rec.items' | 'rec.users' | 'rec.recommendations';
type App = 'interaction-counts' | 'features' | 'snapshots';
type Kind = 'valid' | 'random' | 'unknown-id' | 'truncated' | 'wrong-type' | 'out-of-range' | 'bit-flip';

/** The applications reading each source topic (topologies/). */
const READERS: Record<Topic, readonly App[]> = {
  'rec.interactions': ['interaction-counts', 'features'],
  'rec.items': ['features'],
  'rec.users': ['features', 'snapshots'],
  'rec.recommendations': ['features'],
};
const TOPICS = Object.keys(READERS) as Topic[];
const APPS: readonly App[] = ['interaction-counts', 'features', 'snapshots'];
const COMPACTED: readonly Topic[] = ['rec.items', 'rec.users'];

interface Sent {
  readonly topic: Topic;
  readonly kind: Kind;
  readonly key: string | null;
  readonly value: Buffer;
  /** Set once appended. */
  partition?: number;
  offset?: number;
}

const id = (prefix: string) => fc.integer({ min: 0, max: 999 }).map((n) => `${prefix}${n}`);
const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: null });
const time = fc.integer({ min: 0, max: MAX_TS });
const text = fc.string({ maxLength: 20 });

const interaction: fc.Arbitrary<Interaction> = fc
  .record({
    event_id: fc.uuid(),
    user_id: id('u'),
    item_id: id('i'),
    type: fc.constantFrom(
      'impression',
      'view',
      'click',
      'like',
      'dislike',
      'rate',
      'add_to_list',
      'share',
      'complete',
      'skip',
    ),
    value: optional(fc.double({ min: 0, max: 5, noNaN: true })),
    watch_ms: optional(fc.integer({ min: 0, max: 10_000_000 })),
    ts: time,
    context: fc.record({
      device: optional(text),
      country: optional(text),
      session_id: optional(text),
      surface: optional(text),
      request_id: optional(text),
    }),
  })
  .map((e) => (e.type === 'rate' && e.value === null ? { ...e, value: 3 } : e));

const item: fc.Arbitrary<Item> = fc.record({
  item_id: id('i'),
  title: text,
  categories: fc.array(text, { maxLength: 3 }),
  tags: fc.array(text, { maxLength: 3 }),
  language: optional(text),
  duration_s: optional(fc.integer({ min: 0, max: 100_000 })),
  release_ts: optional(time),
  maturity: fc.constantFrom('unrated', 'all', 'kids', 'teen', 'mature'),
  available: fc.boolean(),
  updated_ts: time,
});

const user: fc.Arbitrary<User> = fc.record({
  user_id: id('u'),
  country: optional(text),
  language: optional(text),
  age_bucket: optional(fc.constantFrom('13-17', '18-24', '25-34', '55+')),
  signup_ts: time,
  opt_out: fc.boolean(),
  updated_ts: time,
});

const servedList: fc.Arbitrary<ServedRecommendations> = fc.record({
  request_id: fc.uuid(),
  user_id: id('u'),
  caller: optional(text),
  items: fc.uniqueArray(id('i'), { maxLength: 5 }).chain((ids) =>
    fc
      .array(fc.double({ min: -10, max: 10, noNaN: true }), {
        minLength: ids.length,
        maxLength: ids.length,
      })
      .map((scores) =>
        ids.map((item_id, position) => ({
          item_id,
          score: scores[position]!,
          position,
          propensity: 1 / (1 + position),
          reason: position === 0 ? ('promoted' as const) : ('retrieved' as const),
        })),
      ),
  ),
  model_version: optional(text),
  index_version: optional(text),
  fallback: optional(text),
  surface: optional(text),
  experiment_id: optional(text),
  variant: optional(text),
  shadow: fc.boolean(),
  exploration: fc.option(fc.constantFrom('epsilon_greedy', 'plackett_luce'), { nil: null }),
  exploration_pool: fc.option(
    fc.array(fc.record({ item_id: text, logit: fc.double({ min: -50, max: 50, noNaN: true }) }), {
      maxLength: 4,
    }),
    { nil: null },
  ),
  item_frontiers: fc.option(fc.array(time, { maxLength: 4 }), { nil: null }),
  took_ms: fc.option(fc.double({ min: 0, max: 1000, noNaN: true }), { nil: null }),
  served_ts: time,
});

const VALID: Record<Topic, fc.Arbitrary<Record<string, unknown>>> = {
  'rec.interactions': interaction as fc.Arbitrary<unknown> as fc.Arbitrary<Record<string, unknown>>,
  'rec.items': item as fc.Arbitrary<unknown> as fc.Arbitrary<Record<string, unknown>>,
  'rec.users': user as fc.Arbitrary<unknown> as fc.Arbitrary<Record<string, unknown>>,
  'rec.recommendations': servedList as fc.Arbitrary<unknown> as fc.Arbitrary<Record<string, unknown>>,
};

const keyOf = (topic: Topic, value: Record<string, unknown>): string =>
  String(topic === 'rec.items' ? value.item_id : value.user_id);

/** A documented rule broken, per topic: the value and the key it is sent with. */
function outOfRange(topic: Topic): fc.Arbitrary<{ value: Record<string, unknown>; key: string | null }> {
  // Compacted topics refuse a null key when it is appended; the others take it.
  const keys = (v: Record<string, unknown>) =>
    COMPACTED.includes(topic) ? [`${keyOf(topic, v)}-other`] : [null, `${keyOf(topic, v)}-other`];
  const wrongKey = (v: Record<string, unknown>) =>
    fc.constantFrom(...keys(v)).map((key) => ({ value: v, key }));
  const broken: Record<Topic, (v: Record<string, unknown>) => fc.Arbitrary<Record<string, unknown>>> = {
    'rec.interactions': (v) =>
      fc.oneof(
        fc.integer({ min: -(2 ** 40), max: -1 }).map((ts) => ({ ...v, ts })),
        fc.integer({ min: MAX_TS + 1, max: Number.MAX_SAFE_INTEGER }).map((ts) => ({ ...v, ts })),
        fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY).map((value) => ({
          ...v,
          value,
        })),
        fc.integer({ min: -1_000_000, max: -1 }).map((watch_ms) => ({ ...v, watch_ms })),
        fc.constant({ ...v, event_id: '' }),
        fc.constant({ ...v, item_id: '' }),
        fc.constant({ ...v, type: 'rate', value: null }),
      ),
    'rec.recommendations': (v) =>
      fc.oneof(
        fc.constant({ ...v, request_id: '' }),
        fc.integer({ min: -(2 ** 40), max: -1 }).map((served_ts) => ({ ...v, served_ts })),
        fc.constant({
          ...v,
          items: [
            { item_id: 'i1', score: 1, position: 0 },
            { item_id: 'i2', score: 0, position: 0 },
          ],
        }),
        fc.constant({ ...v, items: [{ item_id: '', score: 1, position: 0 }] }),
        fc.constant({ ...v, items: [{ item_id: 'i1', score: Number.NaN, position: 0 }] }),
        fc.constant({ ...v, items: [{ item_id: 'i1', score: 1, position: -3 }] }),
      ),
    // Profiles and catalog entries carry no range the processors check: only the key must be the id.
    'rec.items': (v) => fc.constant(v),
    'rec.users': (v) => fc.constant(v),
  };
  if (topic === 'rec.items' || topic === 'rec.users') return VALID[topic].chain(wrongKey);
  return VALID[topic].chain((v) =>
    fc.oneof(
      broken[topic](v).map((value) => ({ value, key: keyOf(topic, v) })),
      wrongKey(v),
    ),
  );
}

interface Encoders {
  encode(subject: string, value: unknown): Buffer;
}

function sentRecords(topic: Topic, enc: Encoders): fc.Arbitrary<Sent> {
  const subject = `${topic}-value`;
  const valid = VALID[topic].map((v) => ({ v, bytes: enc.encode(subject, v) }));
  const other = TOPICS.filter((t) => t !== topic);
  return fc.oneof(
    {
      weight: 3,
      arbitrary: valid.map(({ v, bytes }) => ({
        topic,
        kind: 'valid' as const,
        key: keyOf(topic, v),
        value: bytes,
      })),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          fc.integer({ min: 1, max: 255 }),
          fc.uint8Array({ maxLength: 200 }),
          COMPACTED.includes(topic) ? id('u') : optional(id('u')),
        )
        .map(([magic, rest, key]) => ({
          topic,
          kind: 'random' as const,
          key,
          value: Buffer.from([magic, ...rest]),
        })),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(valid, fc.integer({ min: 1_000_000, max: 2 ** 31 - 1 }))
        .map(([{ v, bytes }, schemaId]) => {
          const value = Buffer.from(bytes);
          value.writeInt32BE(schemaId, 1);
          return { topic, kind: 'unknown-id' as const, key: keyOf(topic, v), value };
        }),
    },
    {
      weight: 2,
      arbitrary: valid.chain(({ v, bytes }) =>
        fc.integer({ min: 1, max: bytes.length - 1 }).map((length) => ({
          topic,
          kind: 'truncated' as const,
          key: keyOf(topic, v),
          value: bytes.subarray(0, length),
        })),
      ),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(...other)
        .chain((t) => VALID[t].map((v) => ({ t, v })))
        .map(({ t, v }) => ({
          topic,
          kind: 'wrong-type' as const,
          key: keyOf(t, v),
          value: enc.encode(`${t}-value`, v),
        })),
    },
    {
      weight: 2,
      arbitrary: outOfRange(topic).map(({ value, key }) => ({
        topic,
        kind: 'out-of-range' as const,
        key,
        value: enc.encode(subject, value),
      })),
    },
    {
      weight: 3,
      arbitrary: valid.chain(({ v, bytes }) =>
        fc
          .uniqueArray(fc.integer({ min: 0, max: bytes.length * 8 - 1 }), { minLength: 1, maxLength: 3 })
          .map((bits) => {
            const value = Buffer.from(bytes);
            for (const bit of bits) value[bit >> 3]! ^= 1 << (bit & 7);
            return { topic, kind: 'bit-flip' as const, key: keyOf(topic, v), value };
          }),
      ),
    },
  );
}

/** Whether `app` must dead-letter this record: the decoder refuses it, or it breaks a rule the application checks. */
async function isBadFor(app: App, sent: Sent, platform: Platform): Promise<boolean> {
  let value: Record<string, unknown>;
  try {
    value = (await platform.serde.deserialize(`${sent.topic}-value`, sent.value)) as unknown as Record<
      string,
      unknown
    >;
  } catch {
    return true;
  }
  const key = sent.key;
  try {
    if (app === 'features' && sent.topic === 'rec.interactions')
      checkInteraction(value as unknown as Interaction, key);
    if (app === 'features' && sent.topic === 'rec.recommendations')
      checkServedList(value as unknown as ServedRecommendations, key);
  } catch {
    return true;
  }
  if (sent.topic === 'rec.items' || sent.topic === 'rec.users')
    return key === null || key !== keyOf(sent.topic, value);
  return false;
}

interface Letter {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

async function deadLetters(platform: Platform): Promise<Letter[]> {
  const letters: Letter[] = [];
  const offsets = await platform.log.offsets('rec.dlq').catch(() => []);
  for (const { partition, start, end } of offsets)
    for (let offset = start; offset < end; ) {
      const records = await platform.log.read('rec.dlq', partition, offset, 5000);
      for (const r of records) {
        const letter = (await platform.serde.deserialize('rec.dlq-value', r.value!)) as {
          source_topic: string;
          source_partition: number;
          source_offset: number;
        };
        letters.push({
          topic: letter.source_topic,
          partition: letter.source_partition,
          offset: letter.source_offset,
        });
      }
      offset = records.at(-1)!.offset + 1;
    }
  return letters;
}

const where = (topic: string, partition: number, offset: number) => `${topic}/${partition}@${offset}`;

test('10,000 random and mutated records into every source topic: each bad one dead-lettered, none crashes a processor', {
  timeout: 600_000,
}, async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'recstream-avro-fuzz-'));
  const env = { RECSTREAM_PARTITIONS: String(PARTITIONS), RECSTREAM_LOG_FSYNC: 'never' };
  try {
    await runCliOk(['topics', '--plan', '--data-dir', dataDir], env);
    const world = ['--users', '80', '--items', '40', '--events', '3000', '--days', '2', '--seed', '3'];
    await runCliOk(['simulate', ...world, '--data-dir', dataDir], env);
    const sent: Sent[] = [];
    await withTestPlatform(dataDir, async (platform) => {
      const encoders = new Map<string, (value: unknown) => Buffer>();
      for (const topic of TOPICS) {
        const encoder = await platform.serde.encoder(`${topic}-value`);
        encoders.set(`${topic}-value`, (value) => encoder.encode(value as never));
        // rec.recommendations is made by the first responder; the plan leaves it out.
        if (!(await platform.log.topics()).some((t) => t.name === topic))
          await platform.log.ensureTopic(catalogueSpec(topic, PARTITIONS));
      }
      const enc: Encoders = { encode: (subject, value) => encoders.get(subject)!(value) };
      for (const [i, topic] of TOPICS.entries()) {
        const records = fc.sample(sentRecords(topic, enc), { numRuns: RECORDS_PER_TOPIC, seed: SEED + i });
        for (const record of records) {
          const [ack] = await platform.log.append(topic, [{ key: record.key, value: record.value }]);
          sent.push({ ...record, partition: ack!.partition, offset: ack!.baseOffset });
        }
      }
    });

    const expected = new Map<App, Set<string>>();
    await withTestPlatform(dataDir, async (platform) => {
      for (const app of APPS) {
        const bad = new Set<string>();
        for (const s of sent)
          if (READERS[s.topic].includes(app) && (await isBadFor(app, s, platform)))
            bad.add(where(s.topic, s.partition!, s.offset!));
        expected.set(app, bad);
      }
    });
    for (const s of sent)
      if (s.kind !== 'valid' && s.kind !== 'bit-flip' && s.kind !== 'out-of-range')
        for (const app of READERS[s.topic])
          assert.ok(
            expected.get(app)!.has(where(s.topic, s.partition!, s.offset!)),
            `${s.kind} record decoded`,
          );

    const figures: Record<string, number> = { records: sent.length };
    for (const kind of [
      'valid',
      'random',
      'unknown-id',
      'truncated',
      'wrong-type',
      'out-of-range',
      'bit-flip',
    ])
      figures[kind] = sent.filter((s) => s.kind === kind).length;
    let seen = 0;
    for (const app of APPS) {
      await runCliOk(['process', '--once', '--app', app, '--data-dir', dataDir], env);
      const letters = await withTestPlatform(dataDir, deadLetters);
      const mine = letters.slice(seen);
      seen = letters.length;
      const got = new Set(mine.map((l) => where(l.topic, l.partition, l.offset)));
      const want = expected.get(app)!;
      const missing = [...want].filter((w) => !got.has(w));
      const extra = [...got].filter((g) => !want.has(g));
      assert.deepEqual(missing, [], `${app}: bad records not dead-lettered`);
      assert.deepEqual(extra, [], `${app}: records dead-lettered that are not bad`);
      figures[`${app}_bad`] = want.size;
      figures[`${app}_dead_lettered`] = got.size;
    }
    for (const s of sent.filter((s) => s.kind === 'valid'))
      for (const app of READERS[s.topic])
        assert.ok(
          !expected.get(app)!.has(where(s.topic, s.partition!, s.offset!)),
          'a valid record judged bad',
        );
    reportFigure(t, 'avro-fuzz', { ...figures, crashes: 0, lost: 0 });
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
