// The "recommend for user" card: a user's recommendations from GET /v1/recommendations/:user,
// titled through GET /v1/items, beside the user's recent history from
// GET /v1/users/:user/history. When the responder has credentials configured, the list needs a
// token with the recommendations:read scope and the history one with users:read.
import { authHeaders, getJson } from './api.js';
import { $, h } from './dom.js';
import { count, when } from './format.js';

/** A list row for an item: its title (its id when untitled), id and categories, and `right` beside. */
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

/** Asks for `k` recommendations for `userId` and the user's recent history, and shows both. */
export async function recommend(userId, k) {
  const meta = $('rec-meta');
  meta.textContent = `Asking for ${userId}…`;
  const user = encodeURIComponent(userId);
  const [recs, past] = await Promise.allSettled([
    getJson(`/v1/recommendations/${user}?k=${k}`, { headers: authHeaders() }),
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

/** Shows the history request's settled result: the user's recent items and category affinity, or why not. */
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
