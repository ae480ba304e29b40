// The API client: the token (from ?token= once, then sessionStorage), JSON calls with
// Authorization: Bearer, and the SSE live feed (?token=, since EventSource sends no headers).
const kTokenKey = 'edgeloop.token';

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// ?token= (the way in: the page is public, its API calls need the token when tokens are
// configured) is kept in sessionStorage for the API calls; it stays in the address bar so
// that a reload of "/" is authenticated too.
export function init_token() {
  const t = new URL(window.location.href).searchParams.get('token');
  if (t !== null) sessionStorage.setItem(kTokenKey, t);
}

export function token() {
  return sessionStorage.getItem(kTokenKey) || '';
}

async function call(method, path, body) {
  const headers = {Accept: 'application/json'};
  const t = token();
  if (t) headers.Authorization = 'Bearer ' + t;
  const init = {method, headers};
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, 'the edgeloop API is unreachable (' + e.message + ')');
  }
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch (e) {
    json = null;
  }
  if (!res.ok) {
    const msg = json && json.error ? json.error : text.trim() || res.statusText;
    throw new ApiError(res.status, `${method} ${path}: ${res.status} ${msg}`);
  }
  return json;
}

export const get = (path) => call('GET', path);
export const post = (path, body) => call('POST', path, body === undefined ? {} : body);

// Stands for "no key" in ?keys=: the feed sends alerts to every client whatever its keys,
// and readings only of the keys named (none named: every key, far too much for 1,000 assets).
const kNoKeys = '-';

// One EventSource on /api/v1/live. `keys`: the stream keys whose readings to receive (null:
// none, only alerts). handlers: {reading, alert, event, dropped, state}.
export function open_live(keys, handlers) {
  const q = new URLSearchParams();
  q.set('keys', keys && keys.length ? keys.join(',') : kNoKeys);
  const t = token();
  if (t) q.set('token', t);
  const es = new EventSource('/api/v1/live?' + q.toString());
  for (const name of ['reading', 'alert', 'event', 'dropped']) {
    if (!handlers[name]) continue;
    es.addEventListener(name, (e) => {
      let data;
      try {
        data = JSON.parse(e.data);
      } catch (err) {
        return;
      }
      handlers[name](data);
    });
  }
  if (handlers.state) {
    es.addEventListener('open', () => handlers.state('open'));
    es.addEventListener('error', () => handlers.state(es.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting'));
  }
  return es;
}
