import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../runtime/config.js';
import { openEmbeddedRegistry } from '../runtime/registry/embedded/embedded-registry.js';
import { platformSerde } from '../schemas/platform.js';
import { featuresOptions, featuresTopology } from './features.js';
import { APPLICATIONS } from './index.js';

test('the features topology is wired as docs/architecture.md draws it (describe() pinned)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-features-describe-'));
  const registry = await openEmbeddedRegistry({ dataDir: dir });
  try {
    const serde = platformSerde(registry);
    const topology = await featuresTopology(serde, featuresOptions(loadConfig({})));
    assert.equal(
      String(topology.describe()),
      [
        'Topology: features',
        '    Source: items (topics: [rec.items])',
        '      --> catalog',
        '    Processor: catalog (stores: [items])',
        '      <-- items',
        '    Source: users (topics: [rec.users])',
        '      --> profiles',
        '    Processor: profiles (stores: [users])',
        '      --> user-features',
        '      <-- users',
        '    Processor: user-features (stores: [users, user-view, user-clock, served-waiting, event-ids])',
        '      --> enriched',
        '      <-- interactions, served-lists, profiles',
        '    Sink: enriched (topic: rec.interactions.enriched)',
        '      <-- user-features',
        '    Source: interactions (topics: [rec.interactions])',
        '      --> user-features',
        '    Source: served-lists (topics: [rec.recommendations])',
        '      --> user-features',
        '    Source: enriched-interactions (topics: [rec.interactions.enriched])',
        '      --> item-features',
        '    Processor: item-features (stores: [item-view, item-clock, item-frontier, label-join, attribution])',
        '      --> training-examples',
        '      <-- enriched-interactions',
        '    Sink: training-examples (topic: rec.training-examples)',
        '      <-- item-features',
        '  Stores:',
        '    items (owner: catalog, changelog: rec.catalog.items.changelog)',
        '    users (owner: profiles, changelog: rec.profiles.users.changelog)',
        '    user-view (owner: user-features, changelog: rec.user-features.user-view.changelog)',
        '    user-clock (owner: user-features, changelog: rec.user-features.user-clock.changelog)',
        '    served-waiting (owner: user-features, changelog: rec.user-features.served-waiting.changelog)',
        '    event-ids (owner: user-features, changelog: rec.user-features.event-ids.changelog)',
        '    item-view (owner: item-features, changelog: rec.item-features.item-view.changelog)',
        '    item-clock (owner: item-features, changelog: rec.item-features.item-clock.changelog)',
        '    item-frontier (owner: item-features, changelog: rec.item-features.item-frontier.changelog)',
        '    label-join (owner: item-features, changelog: rec.item-features.label-join.changelog)',
        '    attribution (owner: item-features, changelog: rec.item-features.attribution.changelog)',
        '  Global tables:',
        '    catalog-versions (topic: rec.items, all partitions)',
      ].join('\n'),
    );
    assert.equal(String((await APPLICATIONS.features!(serde)).describe()), String(topology.describe()));
    assert.equal(
      topology.stores.find((store) => store.name === 'served-waiting')?.cacheEntries,
      0,
      'a waiting served list is written once and read once: no decoded copy is kept after its commit',
    );
  } finally {
    await registry.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('feature settings come from the configuration', () => {
  assert.deepEqual(
    featuresOptions(
      loadConfig({
        RECSTREAM_FEATURE_LATENESS_MS: '1000',
        RECSTREAM_LABEL_WINDOW_MS: '2000',
        RECSTREAM_WATERMARK_INTERVAL_MS: '3000',
        RECSTREAM_DEDUP_HORIZON_MS: '86400000',
      }),
    ),
    {
      latenessMs: 1000,
      labelWindowMs: 2000,
      watermarkIntervalMs: 3000,
      dedupHorizonMs: 86_400_000,
      attributeAnonymous: true,
    },
  );
});

test('anonymous served lists become exposures by default only while no credentials are configured', () => {
  const secret = 'a-secret-of-at-least-32-bytes-0123456789';
  const anonymous = (env: Record<string, string>) => featuresOptions(loadConfig(env)).attributeAnonymous;
  assert.equal(anonymous({}), true, 'open loopback mode');
  assert.equal(anonymous({ RECSTREAM_JWT_SECRET: secret }), false, 'a JWT secret');
  assert.equal(anonymous({ RECSTREAM_JWT_PUBLIC_KEY: 'any PEM: not parsed by the configuration' }), false);
  assert.equal(anonymous({ RECSTREAM_JWT_SECRET: secret, RECSTREAM_ATTRIBUTE_ANONYMOUS: 'true' }), true);
  assert.equal(anonymous({ RECSTREAM_ATTRIBUTE_ANONYMOUS: 'false' }), false);
  assert.throws(
    () => loadConfig({ RECSTREAM_ATTRIBUTE_ANONYMOUS: 'yes' }),
    /RECSTREAM_ATTRIBUTE_ANONYMOUS="yes" must be one of true, false/,
  );
});
