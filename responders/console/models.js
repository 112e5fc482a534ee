// The model versions card: every version of the model with its status, metrics, lineage and
// a promote button, and every index version, from GET /v1/models polled every MODELS_POLL_MS.
import { promote, renderAdminState, showResult } from './admin.js';
import { getJson } from './api.js';
import { confirmButton } from './confirm-button.js';
import { $, h } from './dom.js';
import { count, integer, when } from './format.js';

/** How often the page polls GET /v1/models. */
export const MODELS_POLL_MS = 10_000;

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

/** Shows one GET /v1/models answer: the model's versions, the index's versions, what is served. */
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
          ? confirmButton(
              `Promote v${v.version}`,
              'small',
              () => promoteAndRefresh(v.version),
              `promote-${v.version}`,
            )
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

/** Whether the registry has no version to roll back to (unknown before its first answer). */
export function nothingToRollBackTo() {
  return models !== null && models.rollback_target === null;
}

/** Reads GET /v1/models and shows it; a failure is said where admin results are. */
export async function pollModels() {
  try {
    renderModels(await getJson('/v1/models'));
  } catch (error) {
    showResult(`model registry unavailable: ${error.message}`, true);
  }
}

/** Promotes `version` and, when it was, shows the registry as it is now. */
async function promoteAndRefresh(version) {
  if (await promote(version)) await pollModels();
}
