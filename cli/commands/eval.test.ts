/**
 * `recstream eval` end to end on a small generated `lines` data set: import,
 * process, train (small engine settings), index, every holdout user scored
 * through the serving path beside the popularity baseline, `--json` in
 * its documented shape (docs/evaluation.md); a second run on the same data dir finds the import
 * and the promoted model there instead of importing and training again. No
 * holdout interaction leaks into what the model learned from: the log, the
 * training examples and the model's vocabularies hold none of them.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ModelRegistry } from '../../registry/model-registry.js';
import { artifactStore, readModelArtifact } from '../../registry/model-store.js';
import { readTopic } from '../../registry/topic-reader.js';
import { loadConfig } from '../../runtime/config.js';
import { silentLogger } from '../../runtime/observability/logger.js';
import type { Interaction, TrainingExample } from '../../schemas/generated/types.js';
import { openPlatform } from '../../schemas/platform.js';
import { runCliOk } from '../../test/cli.js';

const ENV = {
  RECSTREAM_COMMIT_INTERVAL_MS: '50',
  RECSTREAM_LOG_FSYNC: 'never',
  RECSTREAM_TRAIN_CONFIG: JSON.stringify({
    epochs: 10,
    ranker_epochs: 1,
    dim: 16,
    threads: 2,
    refit: false,
    uniform_negatives: 64,
    batch_size: 256,
  }),
  // The test is about the path, not the model: whatever it learns is promoted and served.
  RECSTREAM_GATE_POPULARITY_MARGIN: '1',
};

const USERS = 300;
const HOLDOUT_ONLY = 'i_only_in_holdout';
const GROUPS = 10;
const PER_GROUP = 20;

/** Users who like one group of items: 10 training items and 3 held out each, seeded. */
function world(): { train: string; test: string } {
  let seed = 42;
  // mulberry32
  const random = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const train: string[] = [];
  const test: string[] = [];
  for (let u = 0; u < USERS; u++) {
    const group = u % GROUPS;
    const items = new Set<string>();
    while (items.size < 13) {
      const own = random() < 0.85;
      const g = own ? group : Math.floor(random() * GROUPS);
      items.add(`i${g * PER_GROUP + Math.floor(random() * PER_GROUP)}`);
    }
    const list = [...items];
    train.push(`u${u} ${list.slice(0, 10).join(' ')}`);
    // A few users have nothing held out; one holdout user never trained (cold start); one holds
    // out an item nobody trained on.
    const held = u === 3 ? [...list.slice(10), HOLDOUT_ONLY] : list.slice(10);
    if (u % 50 !== 7) test.push(`u${u} ${held.join(' ')}`);
  }
  test.push('u_new i0 i1');
  return { train: `${train.join('\n')}\n`, test: `${test.join('\n')}\n` };
}

interface Metrics {
  recall: number;
  ndcg: number;
  hr: number;
  coverage: number;
}

function checkMetrics(name: string, m: Metrics): void {
  assert.deepEqual(Object.keys(m).sort(), ['coverage', 'hr', 'ndcg', 'recall'], name);
  for (const [key, value] of Object.entries(m))
    assert.ok(typeof value === 'number' && value >= 0 && value <= 1, `${name}.${key} = ${value}`);
}

test('recstream eval imports, trains, indexes and scores every holdout user through the serving path', {
  timeout: 180_000,
}, async () => {
  const root = await mkdtemp(join(tmpdir(), 'recstream-eval-'));
  try {
    const { train, test: holdout } = world();
    const trainPath = join(root, 'train.txt');
    const testPath = join(root, 'test.txt');
    await writeFile(trainPath, train);
    await writeFile(testPath, holdout);
    const dataDir = join(root, 'data');
    const args = [
      'eval',
      '--train',
      trainPath,
      '--holdout',
      testPath,
      '--format',
      'lines',
      '--k',
      '20',
      '--json',
      '--data-dir',
      dataDir,
    ];

    const first = await runCliOk(args, ENV);
    const report = JSON.parse(first.stdout);
    assert.equal(report.k, 20);
    assert.equal(report.users, USERS - USERS / 50 + 1);
    checkMetrics('recstream', report.recstream);
    checkMetrics('popularity', report.popularity);
    assert.equal(report.model_version, 'recstream@1');
    assert.match(report.index_version, /^items@\d+$/);
    // Every user the model knows is personalised; the one who never trained gets popularity.
    assert.deepEqual(report.fallbacks, { cold_start: 1 });
    assert.equal(report.personalised, report.users - 1);
    assert.equal(report.imported, true);
    assert.equal(report.training_interactions, USERS * 10);
    // Without impressions no ranker is scored, so none serves and there is nothing to compare retrieval with.
    assert.equal(report.ranker, false);
    assert.equal(report.retrieval_only, null);
    assert.match(first.stderr, /ranker not applied \(no ranker_auc: the holdout had no impressions/);
    // Lists were served and found something (how much is `bench quality`'s business).
    assert.ok(report.recstream.hr > 0 && report.popularity.hr > 0);
    assert.match(first.stderr, /imported .*train\.txt: 3,000 interactions, 300 users/);

    await assertNoHoldoutLeak(dataDir, holdout);

    const again = await runCliOk(args, ENV);
    const second = JSON.parse(again.stdout);
    assert.match(again.stderr, /already holds this training part/);
    assert.match(again.stderr, /using the promoted model recstream v1/);
    assert.equal(second.imported, false);
    assert.equal(second.model_version, 'recstream@1');
    assert.equal(second.users, report.users);
    assert.deepEqual(second.popularity, report.popularity);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

/** The holdout's (user, item) pairs are nowhere in the log, the training examples or the served model's vocabularies. */
async function assertNoHoldoutLeak(dataDir: string, holdout: string): Promise<void> {
  const pairs = new Set<string>();
  const users = new Set<string>();
  const items = new Set<string>();
  for (const line of holdout.trim().split('\n')) {
    const [user, ...held] = line.split(' ');
    for (const item of held) pairs.add(`${user}/${item}`);
    users.add(user!);
    for (const item of held) items.add(item);
  }
  const platform = await openPlatform(loadConfig({}, { dataDir }), {
    logger: silentLogger(),
    readOnly: true,
  });
  try {
    for (const [topic, subject] of [
      ['rec.interactions', 'rec.interactions-value'],
      ['rec.training-examples', 'rec.training-examples-value'],
    ] as const) {
      const decoder = await platform.serde.decoder(subject);
      let read = 0;
      for await (const record of readTopic(platform.log, topic)) {
        const value: Interaction | TrainingExample = await decoder.decode(record.value!);
        assert.ok(
          !pairs.has(`${value.user_id}/${value.item_id}`),
          `${topic}: ${value.user_id} ${value.item_id}`,
        );
        read++;
      }
      // Every training interaction, and an example of each: the end of the input leaves none waiting.
      assert.equal(read, USERS * 10, topic);
    }
    const model = (await ModelRegistry.load(platform.log, platform.serde)).promoted('recstream')!;
    const dataset = JSON.parse(
      (await readModelArtifact(artifactStore(dataDir), model, 'dataset.json')).toString('utf8'),
    ) as { vocabularies: { user: string[]; item: string[] } };
    assert.ok(
      !dataset.vocabularies.item.includes(HOLDOUT_ONLY),
      'an item only the holdout has is not in the vocabulary',
    );
    assert.ok(
      !dataset.vocabularies.user.includes('u_new'),
      'a user only the holdout has is not in the vocabulary',
    );
    assert.ok(dataset.vocabularies.user.includes('u3') && users.has('u3'));
    assert.ok(items.has(HOLDOUT_ONLY));
  } finally {
    await platform.close();
  }
}
