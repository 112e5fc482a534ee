/**
 * Test helpers for the `features` application: record builders, and a
 * harness running the real topology (Avro serde over an embedded registry
 * in a temporary directory) in the TopologyTestDriver, which feeds the
 * enriched records user-features writes back into item-features the way
 * the internal topic does.
 *
 * @example
 * ```ts
 * const h = await FeaturesHarness.create();
 * await h.item(catalogItem('i1', { categories: ['drama'] }));
 * await h.interaction(event('e1', 'u1', 'i1', 'click', 1_000));
 * h.examples(); // TrainingExample[] emitted so far
 * await h.close();
 * ```
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DriverOutput, TopologyTestDriver } from '../runtime/processor/test-driver.js';
import { openEmbeddedRegistry } from '../runtime/registry/embedded/embedded-registry.js';
import type { SchemaRegistry } from '../runtime/registry/registry.js';
import type { Decoder, Encoder } from '../runtime/serde/serde.js';
import type {
  EnrichedInteraction,
  Interaction,
  InteractionType,
  Item,
  ServedRecommendations,
  TrainingExample,
  User,
} from '../schemas/generated/types.js';
import { platformSerde } from '../schemas/platform.js';
import { ENRICHED_TOPIC, PLATFORM_TOPICS, TRAINING_EXAMPLES_TOPIC } from '../schemas/topics.js';
import { type FeaturesOptions, featuresTopology } from '../topologies/features.js';

export const DEFAULT_OPTIONS: FeaturesOptions = {
  latenessMs: 60_000,
  labelWindowMs: 600_000,
  watermarkIntervalMs: 60_000,
};

export function catalogItem(itemId: string, overrides: Partial<Item> = {}): Item {
  return {
    item_id: itemId,
    title: `Title ${itemId}`,
    categories: [],
    tags: [],
    language: 'en',
    duration_s: 100,
    release_ts: null,
    maturity: 'all',
    available: true,
    updated_ts: 0,
    ...overrides,
  };
}

export function profile(userId: string, overrides: Partial<User> = {}): User {
  return {
    user_id: userId,
    country: 'PT',
    language: 'pt',
    age_bucket: '25-34',
    signup_ts: 0,
    opt_out: false,
    updated_ts: 0,
    ...overrides,
  };
}

export function event(
  eventId: string,
  userId: string,
  itemId: string,
  type: InteractionType,
  ts: number,
  overrides: Partial<Interaction> = {},
): Interaction {
  return {
    event_id: eventId,
    user_id: userId,
    item_id: itemId,
    type,
    value: type === 'rate' ? 4 : null,
    watch_ms: null,
    ts,
    context: { device: 'tv', country: 'PT', session_id: null, surface: 'home', request_id: null },
    ...overrides,
  };
}

/** A served list of `itemIds` in that order, scored 1, 0.9, …, by model two-tower@3 and index items@5. */
export function servedList(
  requestId: string,
  userId: string,
  itemIds: readonly string[],
  servedTs: number,
  overrides: Partial<ServedRecommendations> = {},
): ServedRecommendations {
  return {
    request_id: requestId,
    user_id: userId,
    caller: null,
    items: itemIds.map((item_id, position) => ({
      item_id,
      position,
      score: 1 - position / 10,
      propensity: 1,
      reason: 'retrieved' as const,
    })),
    model_version: 'two-tower@3',
    index_version: 'items@5',
    fallback: null,
    surface: 'home',
    experiment_id: null,
    variant: null,
    shadow: false,
    exploration: null,
    exploration_pool: null,
    item_frontiers: null,
    took_ms: null,
    served_ts: servedTs,
    ...overrides,
  };
}

export class FeaturesHarness {
  private readonly enrichedOut: { record: EnrichedInteraction; partition: number | undefined }[] = [];
  private readonly exampleOut: TrainingExample[] = [];

  private constructor(
    readonly driver: TopologyTestDriver,
    private readonly dir: string,
    private readonly registry: SchemaRegistry,
    private readonly encoders: {
      items: Encoder<Item>;
      users: Encoder<User>;
      interactions: Encoder<Interaction>;
      enriched: Encoder<EnrichedInteraction>;
      served: Encoder<ServedRecommendations>;
    },
    private readonly decoders: { enriched: Decoder<EnrichedInteraction>; examples: Decoder<TrainingExample> },
    /** When false, enriched records are collected but not fed to item-features (the test feeds them itself). */
    private readonly loopBack: boolean,
  ) {}

  static async create(
    options: Partial<FeaturesOptions> & { partitionCount?: number; loopBack?: boolean } = {},
  ): Promise<FeaturesHarness> {
    const dir = await mkdtemp(join(tmpdir(), 'recstream-features-'));
    const registry = await openEmbeddedRegistry({ dataDir: dir });
    const serde = platformSerde(registry);
    const topology = await featuresTopology(serde, { ...DEFAULT_OPTIONS, ...options });
    const driver = await TopologyTestDriver.create(topology, {
      partitionCount: options.partitionCount ?? 1,
      topics: PLATFORM_TOPICS,
    });
    return new FeaturesHarness(
      driver,
      dir,
      registry,
      {
        items: await serde.encoder('rec.items-value'),
        users: await serde.encoder('rec.users-value'),
        interactions: await serde.encoder('rec.interactions-value'),
        enriched: await serde.encoder('rec.interactions.enriched-value'),
        served: await serde.encoder('rec.recommendations-value'),
      },
      {
        enriched: await serde.decoder('rec.interactions.enriched-value'),
        examples: await serde.decoder('rec.training-examples-value'),
      },
      options.loopBack ?? true,
    );
  }

  async item(item: Item): Promise<void> {
    await this.pipe('rec.items', item.item_id, this.encoders.items.encode(item), item.updated_ts);
  }

  async deleteItem(itemId: string, ts: number): Promise<void> {
    await this.pipe('rec.items', itemId, null, ts);
  }

  async user(user: User, key: string | null = user.user_id): Promise<void> {
    await this.pipe('rec.users', key, this.encoders.users.encode(user), user.updated_ts);
  }

  async deleteUser(userId: string, ts: number): Promise<void> {
    await this.pipe('rec.users', userId, null, ts);
  }

  async interaction(interaction: Interaction, key: string | null = interaction.user_id): Promise<void> {
    await this.pipe('rec.interactions', key, this.encoders.interactions.encode(interaction), interaction.ts);
  }

  /** A served list, as the responder publishes it to rec.recommendations. */
  async served(list: ServedRecommendations, key: string | null = list.user_id): Promise<void> {
    await this.pipe('rec.recommendations', key, this.encoders.served.encode(list), list.served_ts);
  }

  async enriched(record: EnrichedInteraction): Promise<void> {
    await this.pipe(
      ENRICHED_TOPIC,
      record.interaction?.item_id ?? null,
      this.encoders.enriched.encode(record),
      record.frontier,
    );
  }

  /** Training examples emitted since the last call. */
  examples(): TrainingExample[] {
    return this.exampleOut.splice(0);
  }

  /** Enriched records emitted since the last call. */
  takeEnriched(): EnrichedInteraction[] {
    return this.enrichedOut.splice(0).map((e) => e.record);
  }

  /** Enriched records emitted since the last call, with the partition each was sent to (undefined: by key). */
  takeEnrichedWithPartitions(): { record: EnrichedInteraction; partition: number | undefined }[] {
    return this.enrichedOut.splice(0);
  }

  async close(): Promise<void> {
    await this.driver.close();
    await this.registry.close();
    await rm(this.dir, { recursive: true, force: true });
  }

  private async pipe(topic: string, key: string | null, value: Buffer | null, ts: number): Promise<void> {
    await this.driver.pipe(topic, key, value, ts);
    await this.drain();
  }

  /** Moves outputs along: enriched records back into item-features (as the internal topic would), examples out. */
  private async drain(): Promise<void> {
    for (;;) {
      const enriched: DriverOutput[] = this.driver.readOutput(ENRICHED_TOPIC);
      for (const out of this.driver.readOutput(TRAINING_EXAMPLES_TOPIC))
        this.exampleOut.push(await this.decoders.examples.decode(out.value!));
      if (enriched.length === 0) return;
      for (const out of enriched) {
        const record = await this.decoders.enriched.decode(out.value!);
        this.enrichedOut.push({ record, partition: out.partition });
        if (this.loopBack) await this.driver.pipe(ENRICHED_TOPIC, out.key, out.value, out.timestamp);
      }
    }
  }
}
