// The admin controls of the model versions card: whether the admin API is on and a token set,
// and promote and roll back through POST /admin/promote and /admin/rollback with that token.
import { authHeaders, forgetToken, getJson, token } from './api.js';
import { $ } from './dom.js';

/** The last GET /v1/status answer, which says whether the admin API is on. */
let latest = null;

/** Keeps the status answer the admin controls are shown for. */
export function noteStatus(status) {
  latest = status;
}

/** Shows or hides the token field and the admin buttons for the admin API's state and the tab's token. */
export function renderAdminState() {
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

/** Says how an admin action (or the registry's poll) went, as an error when `isError`. */
export function showResult(text, isError) {
  const node = $('action-result');
  node.hidden = false;
  node.textContent = text;
  node.classList.toggle('error', Boolean(isError));
}

/** POSTs `body` to an admin endpoint with the tab's token; null when refused or failed, having said why. */
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
      forgetToken();
      renderAdminState();
    }
    return null;
  }
}

/** Promotes model version `version`; whether it was, having said so. */
export async function promote(version) {
  const result = await admin('/admin/promote', { version, reason: 'promoted from the operator console' });
  if (result === null) return false;
  showResult(
    result.already_promoted
      ? `${result.model} v${result.promoted_version} is already promoted.`
      : `${result.model} v${result.promoted_version} promoted${result.previous_version ? ` (was v${result.previous_version})` : ''}; responders load it in the background.`,
  );
  return true;
}

/** Rolls the promoted version back; whether it was, having said so. */
export async function rollback() {
  const result = await admin('/admin/rollback', { reason: 'rolled back from the operator console' });
  if (result === null) return false;
  showResult(
    `${result.model}: v${result.rolled_back_version} rolled back, v${result.promoted_version} promoted again.`,
  );
  return true;
}
