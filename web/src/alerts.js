// Alerts: a table with acknowledge and comment (only for a role that may: operate or admin;
// for read the buttons are not rendered, and the API answers 403 anyway). Live: every alert
// change arrives on the feed (event: alert) and replaces its row.
import {get, post} from './api.js';
import {asset_href, el, fmt_datetime, fmt_num, fmt_time} from './util.js';

const kSeverityRank = {critical: 0, major: 1, warning: 2, minor: 3, info: 4};

// opts: {keys: [..] | undefined (all), show_state_filter}. Returns {node, load(), upsert(a), stop()}.
export function alert_table(ctx, opts = {}) {
  const rows = new Map();  // id -> alert
  let which = opts.show_state_filter ? 'open' : 'all';
  const tbody = el('tbody');
  const table = el('table', {class: 'alerts', id: 'alerts'},
                   el('thead', null, el('tr', null, ['Severity', 'Asset', 'Pipeline', 'Alert', 'State', 'Raised',
                      'Acknowledged', 'Values', 'Comments', ''].map((h) => el('th', {text: h})))),
                   tbody);
  const empty = el('p', {class: 'muted empty', text: 'No alert.'});
  const node = el('div', {class: 'alert-table'});
  if (opts.show_state_filter) {
    const sel = el('div', {class: 'toolbar'},
                   el('label', null, el('input', {type: 'radio', name: 'alert-state', value: 'open', checked: true,
                                                  onchange: () => { which = 'open'; load(); }}), ' open'),
                   el('label', null, el('input', {type: 'radio', name: 'alert-state', value: 'all',
                                                  onchange: () => { which = 'all'; load(); }}), ' all (cleared too)'));
    node.append(sel);
  }
  node.append(table, empty);

  const wanted = (a) => (!opts.keys || opts.keys.includes(a.key)) && (which === 'all' || a.state !== 'cleared');

  function row_of(a) {
    const comments = (a.comments || []).map((c) =>
      el('div', {class: 'comment'}, el('span', {class: 'muted', text: `${c.by} ${fmt_time(c.ts_ns)}: `}), c.text));
    let actions = null;
    if (ctx.can_operate) {
      const input = el('input', {type: 'text', class: 'comment-input', placeholder: 'comment', 'aria-label': 'comment'});
      const ack = a.state === 'raised'
        ? el('button', {type: 'button', class: 'ack primary', dataset: {id: a.id}, text: 'Acknowledge',
                        onclick: async (e) => {
                          e.stopPropagation();
                          e.target.disabled = true;
                          try {
                            const body = input.value.trim() ? {comment: input.value.trim()} : {};
                            upsert(await post(`/api/v1/alerts/${encodeURIComponent(a.id)}/ack`, body));
                          } catch (err) {
                            ctx.show_error(err.message);
                            e.target.disabled = false;
                          }
                        }})
        : null;
      const comment = el('button', {type: 'button', class: 'comment-btn', dataset: {id: a.id}, text: 'Comment',
                                    onclick: async (e) => {
                                      e.stopPropagation();
                                      const text = input.value.trim();
                                      if (!text) { input.focus(); return; }
                                      try {
                                        upsert(await post(`/api/v1/alerts/${encodeURIComponent(a.id)}/comments`, {text}));
                                      } catch (err) {
                                        ctx.show_error(err.message);
                                      }
                                    }});
      actions = el('div', {class: 'actions'}, input, ack, comment);
    }
    const vals = Object.entries(a.values || {}).slice(0, 4).map(([k, v]) => `${k} ${fmt_num(v)}`).join(', ');
    return el('tr', {class: 'alert-row state-' + a.state, dataset: {id: a.id, state: a.state}},
              el('td', null, el('span', {class: 'sev sev-' + a.severity, text: a.severity || ''})),
              el('td', null, el('a', {href: asset_href(a.key), text: a.key})),
              el('td', {text: a.pipeline}),
              el('td', {text: a.name}),
              el('td', null, el('span', {class: 'state state-' + a.state, text: a.state})),
              el('td', {title: fmt_datetime(a.raised_ns), text: fmt_time(a.raised_ns)}),
              el('td', {text: a.acked_ns ? `${a.acked_by || ''} ${fmt_time(a.acked_ns)}` : ''}),
              el('td', {class: 'values', text: vals}),
              el('td', null, comments),
              el('td', null, actions));
  }

  function draw() {
    const list = [...rows.values()].filter(wanted).sort((x, y) =>
      (x.state === 'cleared') - (y.state === 'cleared') ||
      (kSeverityRank[x.severity] ?? 9) - (kSeverityRank[y.severity] ?? 9) || (y.raised_ns || 0) - (x.raised_ns || 0));
    tbody.replaceChildren(...list.map(row_of));
    empty.hidden = list.length > 0;
    table.hidden = list.length === 0;
  }

  function upsert(a) {
    if (!a || !a.id) return;
    rows.set(a.id, a);
    // Keep an input the operator is typing in: redraw only that row when possible.
    const old = tbody.querySelector(`tr[data-id="${CSS.escape(a.id)}"]`);
    if (old && wanted(a) && !old.contains(document.activeElement)) {
      old.replaceWith(row_of(a));
      return;
    }
    if (!old || !old.contains(document.activeElement)) draw();
  }

  async function load() {
    const list = (await get('/api/v1/alerts?state=' + which)) || [];
    rows.clear();
    for (const a of list) rows.set(a.id, a);
    if (!opts.keys && ctx.set_open_alerts) ctx.set_open_alerts(list.filter((a) => a.state === 'raised'));
    draw();
  }

  return {node, load, upsert, stop() {}};
}

export async function render_alerts(ctx) {
  const t = alert_table(ctx, {show_state_filter: true});
  ctx.root.append(el('h1', {text: 'Alerts'}), t.node);
  await t.load();
  // The feed may drop under load (event: dropped): reload then, and now and then anyway.
  const timer = setInterval(() => t.load().catch((e) => ctx.show_error(e.message)), 15000);
  ctx.use_live(null, {alert: (a) => t.upsert(a), dropped: () => t.load().catch(() => {})});
  return {stop() { clearInterval(timer); }};
}
