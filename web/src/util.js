// Small DOM and formatting helpers. Data is always set as text, never as HTML.
export function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (k === 'dataset') Object.assign(e.dataset, v);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

export function fmt_num(v) {
  if (typeof v !== 'number' || !Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(2);
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

export function fmt_time(ns) {
  if (!ns) return '';
  const d = new Date(ns / 1e6);
  return d.toLocaleTimeString([], {hour12: false}) + '.' + String(d.getMilliseconds()).padStart(3, '0');
}

export function fmt_datetime(ns) {
  if (!ns) return '';
  const d = new Date(ns / 1e6);
  return d.toLocaleDateString() + ' ' + d.toLocaleTimeString([], {hour12: false});
}

export function fmt_age(ns) {
  if (!ns) return 'never';
  const s = (Date.now() * 1e6 - ns) / 1e9;
  if (s < 1) return 'now';
  if (s < 60) return Math.round(s) + ' s ago';
  if (s < 3600) return Math.round(s / 60) + ' min ago';
  return Math.round(s / 3600) + ' h ago';
}

export function fmt_rate(r) {
  if (typeof r !== 'number') return '';
  return (r >= 100 ? r.toFixed(0) : r.toFixed(1)) + '/s';
}

// "pump-10" after "pump-9".
export const natural = new Intl.Collator(undefined, {numeric: true, sensitivity: 'base'}).compare;

export function asset_href(key) {
  return '#/asset/' + encodeURIComponent(key);
}
