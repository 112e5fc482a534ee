// The experiments card: every experiment with its status, traffic slice and variants (model,
// share) and, where this responder's online store holds them, each variant's online figures
// (requests, impressions, clicks, click-through with its 95 % interval, engaged time, fallback
// rate, p99 latency) and the always-valid test's verdict against the control. Read from the
// admin API (GET /admin/experiments, then GET /admin/experiments/:id for each) with the tab's
// token, every EXPERIMENTS_POLL_MS.
import { renderAdminState } from './admin.js';
import { authHeaders, forgetToken, getJson, token } from './api.js';
import { $, h } from './dom.js';
import { count, when } from './format.js';

/** How often the card polls the admin API. */
export const EXPERIMENTS_POLL_MS = 10_000;

const COLUMNS = [
  'variant',
  'model',
  'share',
  'requests',
  'impressions',
  'clicks',
  'ctr [95 % interval]',
  'engaged s/req',
  'fallback',
  'p99 ms',
  'verdict',
];
const NUMERIC = new Set(['requests', 'impressions', 'clicks', 'engaged s/req', 'fallback', 'p99 ms']);

const pct = (x) => `${(x * 100).toFixed(2)}%`;
const share = (x) => `${+(x * 100).toFixed(2)}%`;

/** Says what the card shows, or why it shows nothing. */
function note(text) {
  const node = $('experiments-note');
  node.hidden = text === null;
  node.textContent = text ?? '';
}

/** One variant's row: its place in the experiment and, when counted, its figures. */
function variantRow(variant, figures) {
  const f = figures?.variants.find((v) => v.name === variant.name);
  const cell = (value, numeric) => h('td', { class: numeric ? 'num' : null }, value);
  const verdict = f === undefined ? '–' : f.control ? '(control)' : (f.verdict ?? '–');
  return h(
    'tr',
    { 'data-variant': variant.name },
    cell(h('strong', {}, variant.name)),
    cell(h('span', { class: 'mono' }, variant.model)),
    cell(variant.shadow ? 'shadow' : share(variant.share)),
    cell(count(f?.requests), true),
    cell(count(f?.impressions), true),
    cell(count(f?.clicks), true),
    h(
      'td',
      { class: 'ctr' },
      f === undefined || f.impressions === 0
        ? '–'
        : [pct(f.ctr), h('span', { class: 'muted' }, ` [${pct(f.ctr_ci[0])}, ${pct(f.ctr_ci[1])}]`)],
    ),
    cell(f === undefined ? '–' : (f.engaged_ms_per_request / 1000).toFixed(2), true),
    cell(f === undefined ? '–' : pct(f.fallback_rate), true),
    cell(f?.latency_p99_ms == null ? '–' : f.latency_p99_ms.toFixed(1), true),
    h('td', { class: 'verdict' }, verdict),
  );
}

/** One experiment: its head line and the table of its variants. */
function experimentBlock({ experiment: e, figures }) {
  const counted =
    figures === undefined
      ? 'figures not held by this responder (read them with recstream experiments show)'
      : figures === null
        ? 'nothing counted yet'
        : ['figures as of ', when(figures.updated_ts)];
  return h(
    'div',
    { class: 'experiment', 'data-experiment': e.id },
    h(
      'div',
      { class: 'experiment-head' },
      h('strong', { class: 'mono' }, e.id),
      ' ',
      h('span', { class: `badge ${e.status}` }, e.status),
      h(
        'span',
        { class: 'muted' },
        ` traffic [${e.traffic_start}, ${e.traffic_end}) · started `,
        when(e.created_ts),
      ),
      e.description ? h('div', { class: 'muted' }, e.description) : null,
      h('div', { class: 'muted counted' }, counted),
    ),
    h(
      'table',
      { class: 'table' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          COLUMNS.map((c) => h('th', { class: NUMERIC.has(c) ? 'num' : null }, c)),
        ),
      ),
      h(
        'tbody',
        {},
        e.variants.map((v) => variantRow(v, figures)),
      ),
    ),
  );
}

/** Reads the experiments (running first, then the newest) with their figures and shows them. */
export async function pollExperiments() {
  if (token() === null) {
    $('experiments').replaceChildren();
    note('Paste a token with the admin scope to see the experiments.');
    return;
  }
  try {
    const headers = authHeaders();
    const { experiments } = await getJson('/admin/experiments', { headers });
    const ordered = [...experiments].sort(
      (a, b) =>
        Number(b.status === 'running') - Number(a.status === 'running') || b.updated_ts - a.updated_ts,
    );
    const shown = await Promise.all(
      ordered.map((e) => getJson(`/admin/experiments/${encodeURIComponent(e.id)}`, { headers })),
    );
    $('experiments').replaceChildren(...shown.map(experimentBlock));
    note(shown.length === 0 ? 'No experiments yet (recstream experiments start <file.json>).' : null);
  } catch (error) {
    if (error.status === 401) {
      forgetToken();
      renderAdminState();
    }
    note(`experiments unavailable: ${error.message}${error.code ? ` [${error.code}]` : ''}`);
  }
}
