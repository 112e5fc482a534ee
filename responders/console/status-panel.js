// The page's head, key figures and processor applications, from GET /v1/status polled every
// STATUS_POLL_MS: the served pair, this process, throughput, lag, dead letters, interactions
// and requests, and each application's rates and counters (numbers only for those running here).
import { noteStatus, renderAdminState } from './admin.js';
import { getJson } from './api.js';
import { drawChart } from './chart.js';
import { $, h } from './dom.js';
import { count, formatUptime, rate } from './format.js';
import { addSample, appName, latestRates, STATUS_POLL_MS, samples } from './samples.js';

/** Shows one GET /v1/status answer and adds its counters to the samples. */
export function renderStatus(status) {
  noteStatus(status);
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

/** Polls GET /v1/status, again STATUS_POLL_MS after each answer or failure. */
export async function pollStatus() {
  try {
    renderStatus(await getJson('/v1/status'));
  } catch (error) {
    $('process-meta').textContent = `status unavailable: ${error.message}`;
    $('serving-dot').className = 'dot bad';
  } finally {
    setTimeout(pollStatus, STATUS_POLL_MS);
  }
}
