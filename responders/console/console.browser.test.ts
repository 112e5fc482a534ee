/**
 * The operator console as a person sees it, in headless Chromium (Debian's
 * `chromium`, driven by playwright-core), against a real responder on
 * 127.0.0.1 over a world built as an operator builds it (simulate → process
 * → snapshots → train → index): the served model and index, the processor
 * applications of this process and the ones that run elsewhere, the DLQ
 * count, model and index versions with metrics and lineage, a "recommend
 * for u0" list with titles, categories and scores next to u0's history (after
 * signing in: the responder has credentials configured, so a history needs a
 * token with `users:read`), the throughput chart moving with events posted
 * to /v1/events, promote / roll back through the admin API with a JWT
 * pasted into the page, and the experiments card: a running A/B test (a
 * seeded world of served lists and clicks, counted by the experiment-metrics
 * application run in this process) with its variants, shares, figures
 * equal to a count of the raw topics, intervals and the verdict. Saves
 * screenshots to a temp dir (or RECSTREAM_SCREENSHOT_DIR) and prints where.
 *
 * Without Chromium the test fails, naming the package to install.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { SignJWT } from 'jose';
import { type Browser, chromium, type Page } from 'playwright-core';
import { activeNamespaceOf } from '../../app/platform.js';
import { type RunningResponder, startResponder } from '../../app/responder.js';
import { openServingStore, type ServingStore } from '../../app/serving-store.js';
import { inTraffic } from '../../registry/experiments/assignment.js';
import { IndexRegistry } from '../../registry/index-registry.js';
import { ModelRegistry, publishModelVersion } from '../../registry/model-registry.js';
import { loadConfig } from '../../runtime/config.js';
import type { StreamRunner } from '../../runtime/engine/runner.js';
import { silentLogger } from '../../runtime/observability/logger.js';
import { runnersLookup } from '../../runtime/online/in-process/task-lookup.js';
import type { OnlineStore } from '../../runtime/online/online-store.js';
import { openOnlineStore } from '../../runtime/online/open.js';
import { createProducer } from '../../runtime/producer/producer.js';
import type { Experiment } from '../../schemas/generated/types.js';
import { openPlatform, type Platform } from '../../schemas/platform.js';
import { experimentTraffic } from '../../sim/experiment-traffic.js';
import {
  countFromTopics,
  metricsRunner,
  publishWorld,
  RANKER_AB,
  runExperimentMetrics,
  T0,
} from '../../test/experiments.js';
import { buildServedWorld, SERVED_WORLD_ENV } from '../../test/served-world.js';
import { onlineViews } from '../../topologies/online-views.js';

const SECRET = 'console-browser-test-secret-of-at-least-32-bytes';
const CHROMIUM_CANDIDATES = [
  process.env.RECSTREAM_CHROMIUM,
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
];
const INSTALL_LINE = 'apt-get install -y chromium   (scripts/setup.sh --tests installs it)';

let root: string;
let shots: string;
let platform: Platform;
let serving: ServingStore;
let metrics: StreamRunner;
let online: OnlineStore;
let counted: Record<string, { requests: number; impressions: number; clicks: number }>;
let responder: RunningResponder;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

async function findChromium(): Promise<string> {
  for (const candidate of CHROMIUM_CANDIDATES) {
    if (!candidate) continue;
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // try the next one
    }
  }
  throw new Error(
    `headless Chromium not found (looked for ${CHROMIUM_CANDIDATES.filter(Boolean).join(', ')}); install it: ${INSTALL_LINE}`,
  );
}

async function token(scope: string): Promise<string> {
  return new SignJWT({ scope })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('console-test')
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(new TextEncoder().encode(SECRET));
}

/** An A/B test over the half of the users without u0, so the page's recommendations for u0 stay the promoted model's. */
const AB: Experiment = {
  ...RANKER_AB,
  description: 'popularity against the promoted model',
  salt: 'console-ab',
  traffic_end: 0.5,
  variants: [
    { name: 'candidate', model: 'popularity', share: 0.5, shadow: false, ordering: null },
    { name: 'control', model: 'promoted', share: 0.5, shadow: false, ordering: null },
  ],
};
if (inTraffic(AB, 'u0')) Object.assign(AB, { traffic_start: 0.5, traffic_end: 1 });

const text = async (selector: string) => ((await page.locator(selector).first().textContent()) ?? '').trim();

/** Polls `check` until it holds; the failure names what was awaited and the last thing seen. */
async function until(what: string, check: () => Promise<boolean>, timeout = 20_000): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeout) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Waits until the element's text matches, with the last text seen in the failure. */
async function waitForText(selector: string, pattern: RegExp, timeout = 20_000): Promise<string> {
  let seen = '';
  await until(
    `${selector} to match ${pattern}`,
    async () => {
      seen = (await page.locator(selector).count()) === 0 ? '(absent)' : await text(selector);
      return pattern.test(seen);
    },
    timeout,
  ).catch((error: Error) => {
    throw new Error(`${error.message}; it reads ${JSON.stringify(seen)}`);
  });
  return seen;
}

/** Clicks a confirm-twice button of the page. */
async function confirmClick(selector: string): Promise<void> {
  await page.click(selector);
  await page.click(selector);
}

async function screenshot(name: string): Promise<string> {
  const path = join(shots, name);
  await page.screenshot({ path, fullPage: true });
  console.log(`console screenshot: ${path}`);
  return path;
}

async function postEvents(count: number): Promise<void> {
  const events = Array.from({ length: count }, (_, i) => ({
    event_id: randomUUID(),
    user_id: `u${1 + (i % 60)}`,
    item_id: `i${(i * 7) % 150}`,
    type: i % 3 === 0 ? 'click' : 'view',
    ts: Date.now(),
  }));
  const res = await fetch(`${responder.url}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${await token('events:write')}` },
    body: JSON.stringify(events),
  });
  assert.equal(res.status, 202, await res.text());
}

before(async () => {
  const executablePath = await findChromium();
  root = await mkdtemp(join(tmpdir(), 'recstream-console-'));
  shots = process.env.RECSTREAM_SCREENSHOT_DIR ?? (await mkdtemp(join(tmpdir(), 'recstream-console-shots-')));
  await mkdir(shots, { recursive: true });
  const dataDir = join(root, 'data');
  await buildServedWorld(dataDir);
  platform = await openPlatform(
    loadConfig({
      ...SERVED_WORLD_ENV,
      RECSTREAM_DATA_DIR: dataDir,
      RECSTREAM_HTTP_HOST: '127.0.0.1',
      RECSTREAM_HTTP_PORT: '0',
      RECSTREAM_JWT_SECRET: SECRET,
    }),
    { logger: silentLogger() },
  );
  // The experiment's served lists and clicks, counted by experiment-metrics run here as `up` runs it.
  await publishWorld(
    platform,
    [AB],
    experimentTraffic({
      seed: 3,
      experimentId: AB.id,
      requests: 1200,
      rates: { candidate: 0.1, control: 0.03 },
      start: T0,
      spacingMs: 500,
    }),
  );
  counted = await countFromTopics(platform, AB.id);
  await runExperimentMetrics(platform, join(root, 'experiment-state'));
  metrics = await metricsRunner(platform, join(root, 'experiment-state'));
  serving = await openServingStore(platform);
  online = await openOnlineStore(
    platform.config,
    await onlineViews(platform.serde, { namespaceOf: activeNamespaceOf(dataDir) }),
    silentLogger(),
    runnersLookup(
      new Map([
        ['features', serving.runner!],
        ['experiment-metrics', metrics],
      ]),
    ),
  );
  responder = await startResponder(platform, {
    online,
    service: { pollMs: 10, popularityRefreshMs: 500 },
  });
  await responder.started;
  browser = await chromium.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
  page = await browser.newPage({ viewport: { width: 1360, height: 900 }, deviceScaleFactor: 1 });
  page.on('pageerror', (error) => pageErrors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    // A refused admin call is logged by the browser as a failed resource; the page shows it itself.
    if (message.type() === 'error' && !/Failed to load resource/.test(message.text()))
      pageErrors.push(`console: ${message.text()}`);
  });
  await page.goto(`${responder.url}/`);
});

after(async () => {
  await browser?.close();
  await responder?.close();
  await online?.close();
  await metrics?.close();
  await serving?.close();
  await platform?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

test('the page names the served model and index, the applications here and elsewhere, and the DLQ count', async () => {
  assert.equal(await page.title(), 'recstream · operator console');
  assert.equal(await waitForText('#model-version', /^recstream@1$/), 'recstream@1');
  assert.equal(await text('#index-version'), 'items@1');
  await waitForText('#apps tr[data-app="features"]', /running here/);
  for (const app of ['snapshots', 'interaction-counts'])
    assert.match(await text(`#apps tr[data-app="${app}"]`), /not in this process/, app);
  assert.match(await text('#apps-note'), /not run in this process.*recstream process/);
  const status = (await (await fetch(`${responder.url}/v1/status`)).json()) as { dlq: { records: number } };
  assert.equal(await text('#kpi-dlq'), status.dlq.records.toLocaleString('en-US'));
  assert.match(await text('#kpi-events'), /^[\d,]+$/);
  assert.ok(Number((await text('#kpi-events')).replaceAll(',', '')) >= 30_000, 'the world’s interactions');

  const v1 = page.locator('#models tr[data-version="1"]');
  await v1.waitFor({ timeout: 15_000 });
  const row = (await v1.textContent()) ?? '';
  assert.match(row, /promoted/);
  assert.match(row, /served/);
  assert.match(row, /recall at 20 \d\.\d{4}/);
  assert.ok((await v1.locator('.lineage .mono').count()) >= 1, 'lineage ranges listed');
  const index = (await IndexRegistry.load(platform.log, platform.serde)).versions('items')[0]!;
  const indexRow = await text('#indexes tbody tr');
  for (const part of [
    'v1',
    'full',
    'recstream@1',
    String(index.item_count),
    String(index.dimensions),
    index.metric,
  ])
    assert.ok(indexRow.includes(part), `${part} in ${JSON.stringify(indexRow)}`);
});

test('recommend for u0: a list with titles, categories and scores next to the user’s recent history', async () => {
  const catalog = responder.recommendations()!.catalog;
  await page.fill('#user-id', 'u0');
  await page.click('#rec-form button[type="submit"]');
  // Credentials are configured: the list waits for a token with recommendations:read, the history for users:read.
  assert.match(
    await waitForText('#history li', /users:read/),
    /UNAUTHENTICATED|credentials with the scope users:read/,
  );
  assert.match(await waitForText('#rec-meta', /failed/), /scope recommendations:read/);
  await page.fill('#admin-token', await token('events:write'));
  await page.click('#token-save');
  await page.click('#rec-form button[type="submit"]');
  assert.match(await waitForText('#history li', /lacks the scope users:read/), /users:read/);
  await page.click('#token-forget');
  await page.fill('#admin-token', await token('recommendations:read users:read admin'));
  await page.click('#token-save');
  assert.match(await text('#admin-state'), /token set for this tab/);
  await page.click('#rec-form button[type="submit"]');
  await page.locator('#history li[data-item]').first().waitFor({ timeout: 20_000 });
  await page.locator('#recs li[data-item]').nth(9).waitFor({ timeout: 20_000 });
  const recs = page.locator('#recs li[data-item]');
  assert.equal(await recs.count(), 10);
  const recIds: string[] = [];
  const scores: number[] = [];
  for (let i = 0; i < 10; i++) {
    const li = recs.nth(i);
    const id = (await li.getAttribute('data-item'))!;
    const item = catalog.get(id);
    assert.ok(item, `${id} is in the catalog`);
    recIds.push(id);
    assert.equal(((await li.locator('.item-title').textContent()) ?? '').trim(), item.title);
    assert.deepEqual(await li.locator('.chip').allTextContents(), item.categories);
    scores.push(Number(((await li.locator('.score').textContent()) ?? '').trim()));
  }
  assert.ok(
    scores.every((s) => Number.isFinite(s)),
    `scores shown: ${scores}`,
  );
  assert.deepEqual(
    scores,
    [...scores].sort((a, b) => b - a),
    'best first',
  );
  const meta = await text('#rec-meta');
  assert.match(meta, /10 for u0 from recstream@1 \/ items@1/);
  assert.match(meta, /personalised/);

  const history = page.locator('#history li[data-item]');
  assert.ok((await history.count()) >= 1, 'u0 has a history');
  const historyIds: string[] = [];
  for (let i = 0; i < (await history.count()); i++) {
    const li = history.nth(i);
    const id = (await li.getAttribute('data-item'))!;
    historyIds.push(id);
    const title = catalog.get(id)?.title;
    if (title !== undefined)
      assert.equal(((await li.locator('.item-title').textContent()) ?? '').trim(), title);
    assert.match((await li.locator('.seen').textContent()) ?? '', /^[a-z_]+ · \S/);
  }
  assert.match(await text('#history-meta'), /[\d,]+ events/);
  for (const id of recIds) assert.ok(!historyIds.includes(id), `${id} was recommended but u0 has seen it`);
});

test('the throughput chart draws the features application moving with events posted to /v1/events', async () => {
  for (let round = 0; round < 4; round++) {
    await postEvents(250);
    await new Promise((resolve) => setTimeout(resolve, 700));
  }
  // The chart's zero line is its lowest grid line; a moving series has points above it.
  const grid = page.locator('#throughput-chart line.grid-line');
  let baseline = 0;
  for (let i = 0; i < (await grid.count()); i++)
    baseline = Math.max(baseline, Number(await grid.nth(i).getAttribute('y1')));
  const series = page.locator('#throughput-chart polyline[data-series="features"]');
  await until('a features throughput above zero in the chart', async () => {
    if ((await series.count()) === 0) return false;
    const points = ((await series.getAttribute('points')) ?? '').trim().split(/\s+/).filter(Boolean);
    return points.length >= 2 && points.some((p) => Number(p.split(',')[1]) < baseline - 1);
  });
  assert.ok(await page.locator('#throughput-chart').isVisible());
  assert.match((await page.locator('#chart-legend').textContent()) ?? '', /features/);
  assert.match(await text('#apps tr[data-app="features"]'), /running here/);
  await screenshot('console.png');
});

test('promote and roll back from the page, through the admin API with the pasted JWT', async () => {
  const model = platform.config.modelName;
  const before = await ModelRegistry.load(platform.log, platform.serde);
  const v1 = before.get(model, 1)!;
  const producer = createProducer({ log: platform.log, serde: platform.serde });
  await publishModelVersion(producer, {
    ...v1,
    version: 2,
    status: 'candidate',
    status_ts: Date.now(),
    reason: 'held for review',
    parent_version: 1,
  });
  await producer.close();
  await page.reload();
  await page.locator('#promote-2').waitFor({ timeout: 15_000 });
  assert.match(await text('#models tr[data-version="2"]'), /candidate/);

  await page.click('#token-forget');
  await confirmClick('#promote-2');
  assert.match(await waitForText('#action-result', /admin scope/), /Paste a token with the admin scope/);

  const admin = await token('admin');
  await page.fill('#admin-token', admin);
  await page.click('#token-save');
  assert.match(await text('#admin-state'), /token set for this tab/);
  assert.equal(await page.evaluate('sessionStorage.getItem("recstream.token")'), admin);

  await confirmClick('#promote-2');
  assert.match(await waitForText('#action-result', /v2 promoted/), /recstream v2 promoted \(was v1\)/);
  assert.equal((await ModelRegistry.load(platform.log, platform.serde)).promoted(model)?.version, 2);
  await waitForText('#models tr[data-version="2"]', /promoted/);
  // v2 has no index of its own: the responder keeps serving v1 and the page says why.
  await waitForText('#banner', /no version for it yet/);
  assert.equal(await text('#model-version'), 'recstream@1');

  await confirmClick('#rollback');
  assert.match(
    await waitForText('#action-result', /rolled back/),
    /recstream: v2 rolled back, v1 promoted again/,
  );
  const after = await ModelRegistry.load(platform.log, platform.serde);
  assert.equal(after.promoted(model)?.version, 1);
  assert.equal(after.get(model, 2)?.status, 'rolled_back');
  await waitForText('#models tr[data-version="2"]', /rolled back/);
  await until('the banner to go', () => page.locator('#banner').isHidden());

  // Nothing is left to roll back to: the server's refusal is shown.
  assert.equal(await page.locator('#rollback').isDisabled(), true, 'nothing to roll back to');
  await page.evaluate('document.getElementById("rollback").disabled = false');
  await confirmClick('#rollback');
  assert.match(await waitForText('#action-result', /failed/), /MODEL_REGISTRY/);
  await screenshot('console-admin.png');
});

test('the experiments card: the A/B test with its variants, shares, figures from the raw topics, intervals and verdict', async () => {
  // The admin token of the test before is still the tab's.
  const card = `#experiments [data-experiment="${AB.id}"]`;
  const candidate = await waitForText(`${card} tr[data-variant="candidate"]`, /better than control/);
  assert.match(await text(`${card} .experiment-head`), /ranker-ab\s*running/);
  assert.match(await text(`${card} .experiment-head`), /traffic \[0(\.5)?, (0\.5|1)\)/);
  for (const name of ['candidate', 'control']) {
    const row = page.locator(`${card} tr[data-variant="${name}"] td`);
    const cells = (await row.allTextContents()).map((c) => c.trim());
    const c = counted[name]!;
    assert.equal(cells[1], name === 'candidate' ? 'popularity' : 'promoted');
    assert.equal(cells[2], '50%');
    assert.deepEqual(
      cells.slice(3, 6),
      [c.requests, c.impressions, c.clicks].map((n) => n.toLocaleString('en-US')),
    );
    assert.match(
      cells[6]!,
      new RegExp(`^${((c.clicks / c.impressions) * 100).toFixed(2)}% \\[\\d+\\.\\d\\d%, \\d+\\.\\d\\d%\\]$`),
    );
    assert.match(cells[9]!, /^\d+\.\d$/, 'p99 latency');
  }
  assert.match(candidate, /candidate better than control \(always-valid p=/);
  assert.match(await text(`${card} tr[data-variant="control"] .verdict`), /^\(control\)$/);
  await screenshot('console-experiments.png');
});

test('the page ran without script errors or blocked resources', () => {
  assert.deepEqual(pageErrors, []);
});
