// The dashboard shell: the token, the role (whoami), the hash router (#/overview,
// #/asset/KEY, #/alerts, #/pipelines, #/models) and the one live feed the current view uses.
import {get, init_token, open_live} from './api.js';
import {render_overview} from './overview.js';
import {render_asset} from './asset.js';
import {render_alerts} from './alerts.js';
import {render_pipelines} from './pipelines.js';
import {render_models} from './models.js';

const state = {
  role: 'read',
  view: null,  // {stop()} of the current view
  live: null,  // the EventSource
  live_keys: undefined,
  want_keys: undefined,
  handlers: {},
};

export function can_operate() {
  return state.role === 'operate' || state.role === 'admin';
}

export function show_error(msg) {
  const box = document.getElementById('error');
  if (!msg) {
    box.hidden = true;
    box.textContent = '';
    return;
  }
  box.textContent = msg;
  box.hidden = false;
}

function set_live_state(s) {
  const e = document.getElementById('live-state');
  e.textContent = 'live: ' + s;
  e.dataset.state = s;
}

// The views call this: readings of `keys` (null: none) and every alert go to `handlers`.
// The same keys keep the same connection.
export function use_live(keys, handlers) {
  state.handlers = handlers || {};
  state.want_keys = keys;
  const id = keys ? keys.join(',') : null;
  if (state.live && state.live_keys === id && state.live.readyState !== EventSource.CLOSED) return;
  if (state.live) state.live.close();
  state.live = null;
  state.live_keys = id;
  // A hidden tab holds no feed: it costs the server nothing, and a browser allows only 6
  // connections per host (HTTP/1.1), which a few tabs with a feed each would use up.
  if (document.hidden) {
    set_live_state('paused');
    return;
  }
  set_live_state('connecting');
  state.live = open_live(keys, {
    reading: (d) => state.handlers.reading && state.handlers.reading(d),
    alert: (d) => {
      update_alert_badge_from(d);
      if (state.handlers.alert) state.handlers.alert(d);
    },
    event: (d) => state.handlers.event && state.handlers.event(d),
    dropped: (d) => {
      set_live_state('open (dropped ' + d.count + ')');
      if (state.handlers.dropped) state.handlers.dropped(d);
    },
    state: (s) => set_live_state(s),
  });
}

// The Alerts badge in the navigation: the number of alerts not cleared and not acknowledged.
const open_ids = new Set();
function update_alert_badge_from(alert) {
  if (alert.state === 'raised') open_ids.add(alert.id);
  else open_ids.delete(alert.id);
  draw_badge();
}
function draw_badge() {
  const b = document.getElementById('nav-alerts');
  b.textContent = String(open_ids.size);
  b.hidden = open_ids.size === 0;
}
export function set_open_alerts(alerts) {
  open_ids.clear();
  for (const a of alerts) if (a.state === 'raised') open_ids.add(a.id);
  draw_badge();
}

async function route() {
  if (state.view && state.view.stop) state.view.stop();
  state.view = null;
  show_error('');
  const hash = window.location.hash || '#/overview';
  const [, name, arg] = hash.match(/^#\/([a-z]+)(?:\/(.*))?$/) || [null, 'overview', null];
  for (const a of document.querySelectorAll('nav a')) {
    a.classList.toggle('active', a.dataset.view === name || (name === 'asset' && a.dataset.view === 'overview'));
  }
  const root = document.getElementById('view');
  root.replaceChildren();
  root.dataset.view = name;
  const ctx = {root, can_operate: can_operate(), use_live, show_error, set_open_alerts};
  const views = {
    overview: render_overview,
    asset: (c) => render_asset(c, decodeURIComponent(arg || '')),
    alerts: render_alerts,
    pipelines: render_pipelines,
    models: render_models,
  };
  const render = views[name] || render_overview;
  try {
    state.view = await render(ctx);
  } catch (e) {
    show_error(e.message);
  }
}

async function main() {
  init_token();
  try {
    const who = await get('/api/v1/whoami');
    state.role = who && who.role ? who.role : 'read';
  } catch (e) {
    if (e.status === 401) {
      show_error('This dashboard needs an API token: open it as /?token=YOUR_TOKEN.');
      document.getElementById('view').replaceChildren();
      return;
    }
    // An API without auth may have no whoami: everything is open.
    state.role = e.status === 404 ? 'admin' : 'read';
  }
  document.getElementById('role').textContent = 'role: ' + state.role;
  document.body.dataset.role = state.role;
  try {
    const open = await get('/api/v1/alerts?state=open');
    set_open_alerts(open || []);
  } catch (e) {
    // The badge stays empty; the Alerts view shows the error.
  }
  window.addEventListener('hashchange', route);
  document.addEventListener('visibilitychange', () => {
    if (document.hidden) {
      if (state.live) state.live.close();
      state.live = null;
      set_live_state('paused');
    } else if (state.want_keys !== undefined) {
      state.live_keys = undefined;
      use_live(state.want_keys, state.handlers);
      // What changed meanwhile: the view reloads its data.
      route();
    }
  });
  await route();
}

main();
