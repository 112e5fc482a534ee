// The throughput chart: records/s read per application running in this process and the
// interactions appended to the log, drawn as inline SVG from the polled samples, up to the last
// WINDOW_MS.
import { getJson } from './api.js';
import { $, h, svg } from './dom.js';
import { compact } from './format.js';
import { addHistory, LOG_SERIES, newestTs, samples, series, WINDOW_MS } from './samples.js';

const COLORS = ['#2563eb', '#16a34a', '#d97706', '#9333ea', '#dc2626', '#0891b2', '#4b5563'];

/** Seeds the chart with the history this responder sampled before the page opened. */
export async function loadHistory() {
  try {
    addHistory(await getJson('/v1/throughput'));
    drawChart();
  } catch {
    // the chart fills from the page's own polls
  }
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

/** Draws the chart afresh from the samples, at the element's current size. */
export function drawChart() {
  const chart = $('throughput-chart');
  // Drawn at the element's own size, so text and lines are not scaled.
  const width = Math.max(320, Math.round(chart.clientWidth || 800));
  const height = 220;
  chart.setAttribute('viewBox', `0 0 ${width} ${height}`);
  const pad = { left: 52, right: 14, top: 12, bottom: 26 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const now = newestTs();
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
