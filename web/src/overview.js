// The assets: a paged table (1,000 assets stay cheap: only one page is in the DOM) with
// health colour, open alerts, latest values, a search box and a health filter. Refreshed
// from GET /api/v1/overview every few seconds and at once when an alert changes.
import {get} from './api.js';
import {asset_href, el, fmt_age, fmt_num, natural} from './util.js';

const kPageSize = 50;
const kRefreshMs = 5000;  // 1,000 assets are ~300 KB of JSON: not more often
const kHealthRank = {alert: 0, warning: 1, ok: 2};

// Kept across visits so that going back to the list keeps the search, filter and page.
const ui = {query: '', health: 'all', page: 0};

export async function render_overview(ctx) {
  const {root} = ctx;
  let data = {assets: []};
  let timer = null;
  let stopped = false;

  const summary = el('div', {class: 'summary'});
  const search = el('input', {type: 'search', id: 'asset-search', placeholder: 'Search assets (key or pipeline)',
                              value: ui.query, 'aria-label': 'search assets'});
  const filter = el('select', {id: 'health-filter', 'aria-label': 'health filter'},
                    ['all', 'alert', 'warning', 'ok'].map((h) => el('option', {value: h, text: h === 'all' ? 'any health' : h})));
  filter.value = ui.health;
  const pager = el('div', {class: 'pager'});
  const tbody = el('tbody');
  const table = el('table', {class: 'assets', id: 'assets'},
                   el('thead', null, el('tr', null, el('th', {text: ''}), el('th', {text: 'Asset'}),
                      el('th', {text: 'Pipelines'}), el('th', {text: 'Open alerts'}), el('th', {text: 'Last reading'}),
                      el('th', {text: 'Latest values'}))),
                   tbody);
  root.append(el('h1', {text: 'Assets'}), summary,
              el('div', {class: 'toolbar'}, search, filter, pager), table);

  function filtered() {
    const q = ui.query.trim().toLowerCase();
    return data.assets.filter((a) => (ui.health === 'all' || a.health === ui.health) &&
                                     (!q || a.key.toLowerCase().includes(q) ||
                                      (a.pipelines || []).some((p) => p.toLowerCase().includes(q))));
  }

  function draw() {
    const list = filtered();
    const pages = Math.max(1, Math.ceil(list.length / kPageSize));
    ui.page = Math.min(ui.page, pages - 1);
    const rows = list.slice(ui.page * kPageSize, (ui.page + 1) * kPageSize).map((a) => {
      const vals = Object.entries(a.values || {}).slice(0, 6)
          .map(([k, v]) => el('span', {class: 'kv'}, el('span', {class: 'k', text: k}), ' ', fmt_num(v)));
      return el('tr', {class: 'asset-row health-' + a.health, dataset: {key: a.key},
                       onclick: () => { window.location.hash = asset_href(a.key); }},
                el('td', null, el('span', {class: 'dot ' + a.health, title: a.health})),
                el('td', null, el('a', {href: asset_href(a.key), class: 'asset-key', text: a.key})),
                el('td', {text: (a.pipelines || []).join(', ')}),
                el('td', {class: a.open_alerts > 0 ? 'num hot' : 'num', text: String(a.open_alerts || 0)}),
                el('td', {class: 'muted', text: fmt_age(a.last_ts_ns)}),
                el('td', {class: 'values'}, vals));
    });
    tbody.replaceChildren(...rows);
    if (list.length === 0) {
      tbody.append(el('tr', null, el('td', {colspan: 6, class: 'muted',
        text: data.assets.length ? 'No asset matches.' : 'No asset has sent a reading yet.'})));
    }
    const counts = {alert: 0, warning: 0, ok: 0};
    for (const a of data.assets) counts[a.health] = (counts[a.health] || 0) + 1;
    summary.replaceChildren(
        el('span', {class: 'stat', id: 'asset-count'}, el('b', {text: String(data.assets.length)}), ' assets'),
        el('span', {class: 'stat alert'}, el('span', {class: 'dot alert'}), el('b', {text: String(counts.alert)}), ' alert'),
        el('span', {class: 'stat warning'}, el('span', {class: 'dot warning'}), el('b', {text: String(counts.warning)}), ' warning'),
        el('span', {class: 'stat ok'}, el('span', {class: 'dot ok'}), el('b', {text: String(counts.ok)}), ' ok'),
        el('span', {class: 'stat muted'}, `${data.pipelines ?? 0} pipelines, ${data.events_total ?? 0} events`));
    pager.replaceChildren(
        el('button', {type: 'button', disabled: ui.page === 0, onclick: () => { ui.page--; draw(); }, text: '\u2039 Prev'}),
        el('span', {class: 'muted', id: 'page-info',
                    text: `${list.length ? ui.page * kPageSize + 1 : 0}-${Math.min(list.length, (ui.page + 1) * kPageSize)} of ${list.length}`}),
        el('button', {type: 'button', disabled: ui.page >= pages - 1, onclick: () => { ui.page++; draw(); }, text: 'Next \u203a'}));
  }

  async function refresh() {
    if (stopped) return;
    clearTimeout(timer);
    try {
      const d = await get('/api/v1/overview');
      data = d || {assets: []};
      data.assets = (data.assets || []).slice().sort((a, b) =>
        (kHealthRank[a.health] ?? 3) - (kHealthRank[b.health] ?? 3) || natural(a.key, b.key));
      ctx.show_error('');
      draw();
    } catch (e) {
      ctx.show_error(e.message);
    }
    if (!stopped) timer = setTimeout(refresh, kRefreshMs);
  }

  search.addEventListener('input', () => { ui.query = search.value; ui.page = 0; draw(); });
  filter.addEventListener('change', () => { ui.health = filter.value; ui.page = 0; draw(); });
  // Alerts come over the live feed; the table follows within a moment (one refresh, batched).
  let pending = null;
  ctx.use_live(null, {alert: () => {
    if (pending) return;
    pending = setTimeout(() => { pending = null; refresh(); }, 200);
  }});
  await refresh();
  return {stop() { stopped = true; clearTimeout(timer); clearTimeout(pending); }};
}
