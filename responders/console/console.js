// The operator console's entry module: wires the page's forms and buttons and starts its polls
// (GET /v1/status every 2 s, GET /v1/models and the admin API's experiments every 10 s). The modules beside it draw the page:
// status-panel.js the head, key figures and applications; chart.js the throughput over time;
// models.js and admin.js the model and index versions with promote and roll back; recommend.js
// a user's recommendations and history; experiments.js the experiments with their figures. The token the operator pastes (a JWT, sent as Bearer,
// or an API key, sent as ApiKey) is kept in sessionStorage (api.js) and sent with the history
// request and the admin calls.
// Plain JavaScript served as is: no build step, nothing fetched from outside this responder.
import { renderAdminState, rollback } from './admin.js';
import { forgetToken, saveToken } from './api.js';
import { drawChart, loadHistory } from './chart.js';
import { confirmButton } from './confirm-button.js';
import { $ } from './dom.js';
import { EXPERIMENTS_POLL_MS, pollExperiments } from './experiments.js';
import { MODELS_POLL_MS, nothingToRollBackTo, pollModels } from './models.js';
import { recommend } from './recommend.js';
import { pollStatus } from './status-panel.js';

/** Rolls back and, when it did, shows the registry as it is now. */
async function rollbackAndRefresh() {
  if (await rollback()) await pollModels();
}

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
    saveToken(value);
    $('admin-token').value = '';
    renderAdminState();
    pollExperiments();
  });
  $('admin-token').addEventListener('keydown', (event) => {
    if (event.key === 'Enter') $('token-save').click();
  });
  $('token-forget').addEventListener('click', () => {
    forgetToken();
    renderAdminState();
    pollExperiments();
  });
  $('rollback').replaceWith(
    confirmButton('Roll back', 'danger', rollbackAndRefresh, 'rollback', nothingToRollBackTo),
  );
  renderAdminState();
  drawChart();
  window.addEventListener('resize', drawChart);
  loadHistory().finally(pollStatus);
  pollModels();
  setInterval(pollModels, MODELS_POLL_MS);
  pollExperiments();
  setInterval(pollExperiments, EXPERIMENTS_POLL_MS);
  const fromHash = /^#user=(.+)$/.exec(location.hash);
  if (fromHash) {
    $('user-id').value = decodeURIComponent(fromHash[1]);
    $('rec-form').requestSubmit();
  }
}

start();
