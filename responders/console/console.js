// The operator console's module: polls this responder's JSON (GET /v1/status every 2 s,
// GET /v1/models every 10 s), draws throughput over time as inline SVG from the polled
// counters, asks for recommendations and the user's history, and calls the admin API
// (POST /admin/promote, /admin/rollback). The token the operator pastes (a JWT, sent as
// Bearer, or an API key, sent as ApiKey) is kept in sessionStorage and sent with the
// history request and the admin calls.
// Plain JavaScript served as is: no build step, nothing fetched from outside this responder.

const STATUS_POLL_MS = 2000;
const MODELS_POLL_MS = 10_000;
const WINDOW_MS = 5 * 60_000;
const TOKEN_KEY = 'recstream.token';
/** Three base64url parts: a JWT; anything else pasted is an API key. */
const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]*$/;
const LOG_SERIES = 'rec.interactions (appended)';
const COLORS = ['#2563eb', '#16a34a', '#d97706', '#9333ea', '#dc2626', '#0891b2', '#4b5563'];
const SVG_NS = 'http://www.w3.org/2000/svg';

const $ = (id) => document.getElementById(id);

/**
 * An element with attributes (`class`, `title`, data-*, …; `style` as an object, set through the
 * CSSOM, which the page's Content-Security-Policy allows) and children (nodes or text).
 */
function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'style') Object.assign(node.style, value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });

function count(n) {
  return n === null || n === undefined ? '–' : integer.format(n);
}

function rate(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return '–';
  if (n === 0) return '0';
  if (n < 10) return n.toFixed(1);
  return n < 10_000 ? integer.format(n) : compact.format(n);
}

function ago(ts) {
  const s = Math.round((Date.now() - ts) / 1000);
  if (s < 0) return new Date(ts).toLocaleString();
  if (s < 90) return `${s} s ago`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min ago`;
  if (s < 48 * 3600) return `${Math.round(s / 3600)} h ago`;
  if (s < 60 * 86400) return `${Math.round(s / 86400)} d ago`;
  return new Date(ts).toISOString().slice(0, 10);
}

function when(ts) {
  return h('span', { class: 'when', title: new Date(ts).toISOString() }, ago(ts));
}

async function getJson(url, init) {
  const res = await fetch(url, { cache: 'no-store', ...init });
  let body = null;
  try {
    body = await res.json();
  } catch {
    // not JSON: the status says enough
  }
  if (!res.ok) {
    const error = new Error(body?.error ?? `${res.status} ${res.statusText}`);
    error.status = res.status;
    error.code = body?.code;
    throw error;
  }
  return body;
}

// ---------------------------------------------------------------- status, throughput

/** Polled counters, oldest first: { ts, apps: Map(name → { in, out }), interactions }. */
const samples = [];
let latest = null;

function appName(row) {
  return row.namespace && row.namespace !== 'default'
    ? `${row.application} (${row.namespace})`
    : row.application;
}

/** Per-second change of a counter between two samples; null across a reset or a gap. */
function perSecond(a, b, pick) {
  const x = pick(a);
  const y = pick(b);
  if (x === undefined || y === undefined || y < x) return null;
  return ((y - x) * 1000) / (b.ts - a.ts);
}

/** Seeds the chart with the history this responder sampled before the page opened. */
async function loadHistory() {
  try {
    const history = await getJson('/v1/throughput');
    const older = history.samples
      .filter((s) => samples.length === 0 || s.ts < samples[0].ts)
      .map((s) => ({
        ts: s.ts,
        apps: new Map(Object.entries(s.apps)),
        interactions: s.interactions,
      }));
    samples.unshift(...older);
    drawChart();
  } catch {
    // the chart fills from the page's own polls
  }
}

function addSample(status) {
  const apps = new Map();
  for (const row of status.applications)
    if (row.running) apps.set(appName(row), { in: row.records_in, out: row.records_out });
  samples.push({ ts: status.ts, apps, interactions: status.log.interactions });
  while (samples.length > 2 && samples[0].ts < status.ts - WINDOW_MS - STATUS_POLL_MS) samples.shift();
}

function latestRates(name) {
  if (samples.length < 2) return { in: null, out: null };
  const [a, b] = samples.slice(-2);
  return {
    in: perSecond(a, b, (s) => s.apps.get(name)?.in),
    out: perSecond(a, b, (s) => s.apps.get(name)?.out),
  };
}

function renderStatus(status) {
  latest = status;
  addSample(status);
  const { serving } = status;
  $('model-version').textContent = serving.model ?? (serving.state === 'off' ? 'not served' : 'none');
  $('index-version').textContent = serving.index ?? '–';
  $('serving-dot').className =
    `dot ${serving.state === 'serving' ? 'ok' : serving.state === 'starting' ? 'warn' : 'bad'}`;
  $('serving').title = serving.problem ?? `serving ${serving.model} with ${serving.index}`;
  $('process-meta').textContent =
    `pid ${status.process.pid} · up ${formatUptime(status.process.uptime_s)} · updated ${new Date(status.ts).toLocaleTimeString()}`;

  const running = status.applications.filter((a) => a.running);
  const totalIn = running.reduce((n, a) => n + (latestRates(appName(a)).in ?? 0), 0);
  $('kpi-throughput').textContent = samples.length < 2 ? '–' : rate(totalIn);
  $('kpi-lag').textContent =
    running.length === 0 ? '–' : count(running.reduce((n, a) => n + (a.lag ?? 0), 0));
  $('kpi-dlq').textContent = count(status.dlq.records);
  $('kpi-dlq').classList.toggle('bad', status.dlq.records > 0);
  $('kpi-dlq-unit').textContent = `in rec.dlq · ${count(status.dlq.this_process)} from this process`;
  $('kpi-events').textContent = count(status.log.interactions);
  $('kpi-requests').textContent = count(serving.requests);

  const banner = $('banner');
  const problem =
    serving.state === 'off'
      ? 'This responder serves no recommendations (it was started without an online store).'
      : serving.state === 'starting'
        ? 'The responder is starting: loading the catalog, profiles, the promoted model and its index.'
        : serving.problem;
  banner.hidden = problem === null;
  banner.textContent = problem ?? '';

  const body = $('apps').tBodies[0];
  body.replaceChildren(
    ...status.applications.map((a) => {
      const rates = a.running ? latestRates(appName(a)) : { in: null, out: null };
      return h(
        'tr',
        { 'data-app': a.application },
        h('td', {}, h('strong', {}, appName(a))),
        h(
          'td',
          {},
          a.running
            ? h('span', { class: 'badge running' }, 'running here')
            : h(
                'span',
                { class: 'badge elsewhere', title: 'no numbers in this process' },
                'not in this process',
              ),
        ),
        h('td', { class: 'num' }, rate(rates.in)),
        h('td', { class: 'num' }, rate(rates.out)),
        h('td', { class: 'num' }, count(a.records_in)),
        h('td', { class: 'num' }, count(a.records_out)),
        h('td', { class: 'num' }, count(a.lag)),
        h('td', { class: 'num' }, count(a.dead_letters)),
      );
    }),
  );
  $('apps-note').hidden = status.note === null;
  $('apps-note').textContent = status.note ?? '';
  renderAdminState();
  drawChart();
}

function formatUptime(s) {
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

/** Rate series over the window: name → [{ ts, value }]. */
function series() {
  const out = new Map();
  const names = new Set();
  for (const s of samples) for (const name of s.apps.keys()) names.add(name);
  for (const name of [...names].sort()) out.set(name, []);
  out.set(LOG_SERIES, []);
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1];
    const b = samples[i];
    for (const name of names) {
      const value = perSecond(a, b, (s) => s.apps.get(name)?.in);
      if (value !== null) out.get(name).push({ ts: b.ts, value });
    }
    const appended = perSecond(a, b, (s) => s.interactions);
    if (appended !== null) out.get(LOG_SERIES).push({ ts: b.ts, value: appended });
  }
  return out;
}

function tick(v) {
  return v >= 10_000 ? compact.format(v) : String(Number(v.toPrecision(3)));
}

function niceMax(value) {
  if (value <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (value <= step * magnitude) return step * magnitude;
  return 10 * magnitude;
}

function drawChart() {
  const chart = $('throughput-chart');
  // Drawn at the element's own size, so text and lines are not scaled.
  const width = Math.max(320, Math.round(chart.clientWidth || 800));
  const height = 220;
  chart.setAttribute('viewBox', `0 0 ${width} ${height}`);
  const pad = { left: 52, right: 14, top: 12, bottom: 26 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const now = latest?.ts ?? Date.now();
  // The span shown grows with the history, from 1 minute to WINDOW_MS, so a fresh page is not mostly empty.
  const oldest = samples.length > 1 ? samples[0].ts : now;
  const span = Math.min(WINDOW_MS, Math.max(60_000, Math.ceil((now - oldest) / 60_000) * 60_000));
  const from = now - span;
  const data = series();
  const max = niceMax(Math.max(0, ...[...data.values()].flat().map((p) => p.value)));
  const x = (ts) => pad.left + ((ts - from) / span) * plotW;
  const y = (v) => pad.top + plotH - (v / max) * plotH;

  const nodes = [];
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    nodes.push(svg('line', { class: 'grid-line', x1: pad.left, x2: width - pad.right, y1: y(v), y2: y(v) }));
    nodes.push(
      svg('text', { class: 'axis-label', x: pad.left - 8, y: y(v) + 4, 'text-anchor': 'end' }, tick(v)),
    );
  }
  const step = span <= 60_000 ? 10_000 : span <= 180_000 ? 30_000 : 60_000;
  for (let back = span; back >= 0; back -= step) {
    const label =
      back === 0 ? 'now' : back < 60_000 ? `−${back / 1000} s` : `−${(back / 60_000).toString()} min`;
    nodes.push(
      svg(
        'text',
        {
          class: 'axis-label',
          x: x(now - back),
          y: height - 6,
          'text-anchor': back === 0 ? 'end' : back === span ? 'start' : 'middle',
        },
        label,
      ),
    );
  }
  const legend = [];
  let colour = 0;
  let points = 0;
  for (const [name, values] of data) {
    const color = name === LOG_SERIES ? '#94a3b8' : COLORS[colour++ % COLORS.length];
    legend.push(h('li', {}, h('span', { class: 'swatch', style: { background: color } }), name));
    const visible = values.filter((p) => p.ts >= from);
    points += visible.length;
    if (visible.length === 0) continue;
    const line = visible.map((p) => `${x(p.ts).toFixed(1)},${y(p.value).toFixed(1)}`);
    if (name !== LOG_SERIES) {
      const first = x(visible[0].ts).toFixed(1);
      const last = x(visible[visible.length - 1].ts).toFixed(1);
      nodes.push(
        svg('polygon', {
          class: 'area',
          fill: color,
          points: `${first},${y(0)} ${line.join(' ')} ${last},${y(0)}`,
        }),
      );
    }
    nodes.push(
      svg('polyline', {
        class: 'series',
        stroke: color,
        'stroke-dasharray': name === LOG_SERIES ? '4 3' : 'none',
        points: visible.length === 1 ? `${line[0]} ${line[0]}` : line.join(' '),
        'data-series': name,
      }),
    );
  }
  if (points === 0)
    nodes.push(
      svg(
        'text',
        { class: 'chart-empty', x: pad.left + plotW / 2, y: pad.top + plotH / 2, 'text-anchor': 'middle' },
        'collecting samples…',
      ),
    );
  chart.replaceChildren(...nodes);
  $('chart-legend').replaceChildren(...legend);
}

async function pollStatus() {
  try {
    renderStatus(await getJson('/v1/status'));
  } catch (error) {
    $('process-meta').textContent = `status unavailable: ${error.message}`;
    $('serving-dot').className = 'dot bad';
  } finally {
    setTimeout(pollStatus, STATUS_POLL_MS);
  }
}

// ---------------------------------------------------------------- models and admin

/** The last GET /v1/models answer. */
let models = null;

const METRIC_ORDER = [
  'recall_at_20',
  'ndcg_at_20',
  'popularity_recall_at_20',
  'previous_recall_at_20',
  'loss',
];

function metricsCell(metrics) {
  const names = Object.keys(metrics).sort((a, b) => {
    const ia = METRIC_ORDER.indexOf(a);
    const ib = METRIC_ORDER.indexOf(b);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.localeCompare(b);
  });
  const shown = names.slice(0, 4);
  const all = names.map((n) => `${n} ${formatMetric(metrics[n])}`).join('\n');
  return h(
    'div',
    { class: 'metrics', title: all },
    shown.map((n) => h('span', {}, `${n.replaceAll('_', ' ')} `, h('b', {}, formatMetric(metrics[n])))),
    names.length > shown.length
      ? h('span', { class: 'muted' }, `+${names.length - shown.length} more`)
      : null,
  );
}

function formatMetric(v) {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return integer.format(v);
  return Math.abs(v) >= 100 ? v.toFixed(1) : v.toFixed(4);
}

function lineageCell(v) {
  const lines = v.lineage
    .slice(0, 3)
    .map((r) =>
      h(
        'div',
        { class: 'mono' },
        `${r.topic}[${r.partition}] ${count(r.start_offset)}–${count(r.end_offset)}`,
        r.excluded > 0 ? h('span', { class: 'muted' }, ` (−${count(r.excluded)})`) : null,
      ),
    );
  return h(
    'div',
    { class: 'lineage' },
    h(
      'div',
      { class: 'muted' },
      `snapshot ${v.snapshot_id.length > 14 ? `${v.snapshot_id.slice(0, 14)}…` : v.snapshot_id}`,
      v.parent_version === null ? '' : ` · from v${v.parent_version}`,
    ),
    lines,
    v.lineage.length > 3 ? h('div', { class: 'muted' }, `+${v.lineage.length - 3} ranges`) : null,
  );
}

function renderModels(data) {
  models = data;
  $('model-name').textContent = data.model;
  $('index-name').textContent = data.index;
  const body = $('models').tBodies[0];
  const rows = [...data.versions].reverse().map((v) => {
    const label = `${data.model}@${v.version}`;
    const served = data.served_model === label;
    const promoted = data.promoted === v.version;
    const canPromote = !promoted && v.artifacts > 0;
    return h(
      'tr',
      { class: served ? 'current' : null, 'data-version': v.version },
      h('td', {}, h('strong', { class: 'mono' }, `v${v.version}`)),
      h(
        'td',
        {},
        h('span', { class: `badge ${v.status}` }, v.status.replaceAll('_', ' ')),
        served ? h('span', { class: 'badge served', title: 'loaded by this responder' }, ' served') : null,
      ),
      h('td', {}, metricsCell(v.metrics)),
      h('td', {}, lineageCell(v)),
      h(
        'td',
        {},
        when(v.created_ts),
        h(
          'div',
          { class: 'muted' },
          `${v.device}${v.params.examples ? ` · ${count(Number(v.params.examples))} examples` : ''}`,
        ),
      ),
      h('td', {}, v.reason ?? ''),
      h(
        'td',
        {},
        canPromote
          ? confirmButton(`Promote v${v.version}`, 'small', () => promote(v.version), `promote-${v.version}`)
          : null,
      ),
    );
  });
  body.replaceChildren(
    ...(rows.length > 0
      ? rows
      : [
          h(
            'tr',
            { class: 'empty-row' },
            h('td', { colspan: 7 }, 'no model versions yet (run recstream train)'),
          ),
        ]),
  );
  const indexBody = $('indexes').tBodies[0];
  const indexRows = [...data.indexes]
    .reverse()
    .map((ix) =>
      h(
        'tr',
        { class: data.served_index === `${ix.index}@${ix.version}` ? 'current' : null },
        h('td', {}, h('strong', { class: 'mono' }, `v${ix.version}`)),
        h('td', {}, ix.kind === 'delta' ? `delta of v${ix.base_version}` : 'full'),
        h('td', { class: 'mono' }, `${ix.model}@${ix.model_version}`),
        h('td', { class: 'num' }, count(ix.item_count)),
        h('td', { class: 'num' }, count(ix.dimensions)),
        h('td', {}, ix.metric),
        h('td', {}, when(ix.built_ts)),
      ),
    );
  indexBody.replaceChildren(
    ...(indexRows.length > 0
      ? indexRows
      : [
          h(
            'tr',
            { class: 'empty-row' },
            h('td', { colspan: 7 }, 'no index versions yet (run recstream index)'),
          ),
        ]),
  );
  $('rollback').disabled = nothingToRollBackTo();
  $('rollback').title =
    data.rollback_target === null
      ? 'nothing was promoted before the current version'
      : `roll v${data.promoted} back and promote v${data.rollback_target} again`;
  renderAdminState();
}

function nothingToRollBackTo() {
  return models !== null && models.rollback_target === null;
}

async function pollModels() {
  try {
    renderModels(await getJson('/v1/models'));
  } catch (error) {
    showResult(`model registry unavailable: ${error.message}`, true);
  }
}

/**
 * A button that asks to be clicked a second time within 4 s before it acts; while it acts it
 * is disabled, then `isDisabled()` says whether it stays so.
 */
function confirmButton(label, extraClass, act, id, isDisabled = () => false) {
  const button = h('button', { type: 'button', class: extraClass, id }, label);
  let armed = null;
  button.addEventListener('click', async () => {
    if (armed === null) {
      button.textContent = `${label}? Click to confirm`;
      armed = setTimeout(() => {
        armed = null;
        button.textContent = label;
      }, 4000);
      return;
    }
    clearTimeout(armed);
    armed = null;
    button.textContent = label;
    button.disabled = true;
    try {
      await act();
    } finally {
      button.disabled = isDisabled();
    }
  });
  return button;
}

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

/** The Authorization header for the pasted token; none when signed out. */
function authHeaders() {
  const value = token();
  if (value === null) return {};
  return { authorization: `${JWT_SHAPE.test(value) ? 'Bearer' : 'ApiKey'} ${value}` };
}

function renderAdminState() {
  const enabled = latest?.admin.enabled ?? true;
  const has = token() !== null;
  $('admin-state').textContent = !enabled
    ? 'admin API off (set RECSTREAM_JWT_SECRET, RECSTREAM_JWT_PUBLIC_KEY or RECSTREAM_API_KEYS)'
    : has
      ? 'token set for this tab'
      : 'paste a token (JWT or API key) to read histories, promote or roll back';
  $('admin-token').hidden = !enabled || has;
  $('token-save').hidden = !enabled || has;
  $('token-forget').hidden = !enabled || !has;
  $('rollback').hidden = !enabled;
  for (const button of document.querySelectorAll('[id^="promote-"]')) button.hidden = !enabled;
}

function showResult(text, isError) {
  const node = $('action-result');
  node.hidden = false;
  node.textContent = text;
  node.classList.toggle('error', Boolean(isError));
}

async function admin(path, body) {
  if (token() === null) {
    showResult('Paste a token with the admin scope first.', true);
    return null;
  }
  try {
    return await getJson(path, {
      method: 'POST',
      headers: { ...authHeaders(), 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  } catch (error) {
    const hint = error.status === 401 ? ' (the token was refused: paste a fresh one)' : '';
    showResult(`${path} failed: ${error.message}${error.code ? ` [${error.code}]` : ''}${hint}`, true);
    if (error.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      renderAdminState();
    }
    return null;
  }
}

async function promote(version) {
  const result = await admin('/admin/promote', { version, reason: 'promoted from the operator console' });
  if (result === null) return;
  showResult(
    result.already_promoted
      ? `${result.model} v${result.promoted_version} is already promoted.`
      : `${result.model} v${result.promoted_version} promoted${result.previous_version ? ` (was v${result.previous_version})` : ''}; responders load it in the background.`,
  );
  await pollModels();
}

async function rollback() {
  const result = await admin('/admin/rollback', { reason: 'rolled back from the operator console' });
  if (result === null) return;
  showResult(
    `${result.model}: v${result.rolled_back_version} rolled back, v${result.promoted_version} promoted again.`,
  );
  await pollModels();
}

// ---------------------------------------------------------------- recommend for user

function itemRow(title, itemId, categories, right, extra) {
  return h(
    'li',
    { 'data-item': itemId },
    h(
      'div',
      {},
      h('div', { class: 'item-title', title: title ?? itemId }, title ?? itemId),
      h(
        'div',
        { class: 'item-sub' },
        h('span', { class: 'mono' }, itemId),
        categories.map((c) => h('span', { class: 'chip' }, c)),
        extra,
      ),
    ),
    right,
  );
}

async function recommend(userId, k) {
  const meta = $('rec-meta');
  meta.textContent = `Asking for ${userId}…`;
  const user = encodeURIComponent(userId);
  const [recs, past] = await Promise.allSettled([
    getJson(`/v1/recommendations/${user}?k=${k}`),
    getJson(`/v1/users/${user}/history?limit=10`, { headers: authHeaders() }),
  ]);
  renderHistory(past);
  if (recs.status === 'rejected') {
    meta.textContent = `Recommendations failed: ${recs.reason.message}`;
    $('recs').replaceChildren();
    return;
  }
  const body = recs.value;
  let titles = new Map();
  if (body.items.length > 0) {
    try {
      const ids = body.items.map((i) => encodeURIComponent(i.item_id)).join(',');
      const found = await getJson(`/v1/items?ids=${ids}`);
      titles = new Map(found.items.filter((i) => i !== null).map((i) => [i.item_id, i]));
    } catch {
      // titles are a nicety: ids are shown without them
    }
  }
  meta.replaceChildren(
    `${body.items.length} for `,
    h('strong', {}, body.user_id),
    ' from ',
    h('span', { class: 'mono' }, `${body.model_version ?? 'no model'} / ${body.index_version ?? 'no index'}`),
    ` in ${body.took_ms.toFixed(1)} ms`,
    body.fallback === null
      ? h('span', { class: 'badge promoted' }, 'personalised')
      : h('span', { class: 'badge candidate', title: 'a popularity list' }, `fallback: ${body.fallback}`),
  );
  const scores = body.items.map((i) => i.score);
  const lo = Math.min(...scores);
  const hi = Math.max(...scores);
  $('recs').replaceChildren(
    ...(body.items.length === 0
      ? [h('li', { class: 'empty' }, 'nothing to recommend')]
      : body.items.map((i) => {
          const item = titles.get(i.item_id);
          const share = hi === lo ? 1 : 0.08 + (0.92 * (i.score - lo)) / (hi - lo);
          return itemRow(
            item?.title ?? null,
            i.item_id,
            item?.categories ?? [],
            h(
              'div',
              { class: 'score', title: `score ${i.score}` },
              h('span', { class: 'bar' }, h('span', { style: { width: `${(share * 100).toFixed(0)}%` } })),
              i.score.toFixed(3),
            ),
          );
        })),
  );
}

function renderHistory(result) {
  const list = $('history');
  const affinity = $('affinity');
  if (result.status === 'rejected') {
    $('history-meta').textContent = '';
    affinity.replaceChildren();
    list.replaceChildren(
      h(
        'li',
        { class: 'empty' },
        result.reason.status === 404
          ? 'this responder has no online store to read histories from'
          : result.reason.status === 401 || result.reason.status === 403
            ? `histories need a token with the users:read scope: ${result.reason.message}`
            : `history unavailable: ${result.reason.message}`,
      ),
    );
    return;
  }
  const data = result.value;
  const profile = data.profile;
  $('history-meta').textContent = [
    `${count(data.event_count)} events`,
    profile?.country ? profile.country : null,
    profile?.age_bucket ? `age ${profile.age_bucket}` : null,
    profile?.opt_out ? 'opted out' : null,
  ]
    .filter(Boolean)
    .join(' · ');
  affinity.replaceChildren(
    ...data.affinity.map((a) =>
      h(
        'span',
        { class: 'chip strong', title: 'share of recent positive interest' },
        `${a.category} ${(a.share * 100).toFixed(0)}%`,
      ),
    ),
  );
  list.replaceChildren(
    ...(data.items.length === 0
      ? [h('li', { class: 'empty' }, data.known ? 'no recent items' : 'no history: a new user (cold start)')]
      : data.items.map((i) =>
          itemRow(
            i.title,
            i.item_id,
            i.categories,
            h('div', { class: 'seen' }, h('span', { class: 'type' }, i.type), ' · ', when(i.ts)),
          ),
        )),
  );
}

// ---------------------------------------------------------------- start

function start() {
  $('rec-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const userId = $('user-id').value.trim();
    if (userId === '') return;
    window.history.replaceState(null, '', `#user=${encodeURIComponent(userId)}`);
    recommend(userId, Number($('rec-k').value)).catch((error) => {
      $('rec-meta').textContent = `Failed: ${error.message}`;
    });
  });
  $('token-save').addEventListener('click', () => {
    const value = $('admin-token')
      .value.trim()
      .replace(/^(Bearer|ApiKey)\s+/i, '');
    if (value === '') return;
    sessionStorage.setItem(TOKEN_KEY, value);
    $('admin-token').value = '';
    renderAdminState();
  });
  $('admin-token').addEventListener('keydown', (event) => {
    if (event.key === 'Enter') $('token-save').click();
  });
  $('token-forget').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    renderAdminState();
  });
  $('rollback').replaceWith(confirmButton('Roll back', 'danger', rollback, 'rollback', nothingToRollBackTo));
  renderAdminState();
  drawChart();
  window.addEventListener('resize', drawChart);
  loadHistory().finally(pollStatus);
  pollModels();
  setInterval(pollModels, MODELS_POLL_MS);
  const fromHash = /^#user=(.+)$/.exec(location.hash);
  if (fromHash) {
    $('user-id').value = decodeURIComponent(fromHash[1]);
    $('rec-form').requestSubmit();
  }
}

start();
