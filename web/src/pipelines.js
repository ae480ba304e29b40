// The pipeline graph: for each pipeline a row of boxes, sources -> stages (with their rates
// and counters) -> the actions, in SVG. Refreshed every 2 s from GET /api/v1/pipelines and
// /api/v1/components (the sources' and actions' health).
import {get} from './api.js';
import {el, fmt_rate} from './util.js';

const kNs = 'http://www.w3.org/2000/svg';
const kBoxW = 168;
const kBoxH = 58;
const kGapX = 44;
const kGapY = 34;
const kLabelH = 22;  // the pipeline's name above its row
const kPad = 16;

function svg(tag, attrs, ...children) {
  const e = document.createElementNS(kNs, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function clip(text, n) {
  text = String(text ?? '');
  return text.length > n ? text.slice(0, n - 1) + '\u2026' : text;
}

function box(x, y, cls, title, lines, tooltip) {
  const g = svg('g', {class: 'node ' + cls, transform: `translate(${x},${y})`});
  g.append(svg('title', {}, tooltip || title));
  g.append(svg('rect', {width: kBoxW, height: kBoxH, rx: 6, ry: 6}));
  g.append(svg('text', {x: 10, y: 20, class: 'title'}, clip(title, 22)));
  lines.forEach((l, i) => g.append(svg('text', {x: 10, y: 36 + i * 14, class: 'sub'}, clip(l, 26))));
  return g;
}

function edge(x1, y1, x2, y2) {
  const mx = (x1 + x2) / 2;
  return svg('path', {class: 'edge', d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`, 'marker-end': 'url(#arrow)'});
}

function draw_graph(pipelines, components) {
  const health = new Map(components.map((c) => [c.name, c.health]));
  const actions = components.filter((c) => c.type === 'action');
  const max_stages = Math.max(1, ...pipelines.map((p) => (p.stages || []).length));
  const rows = pipelines.map((p) => Math.max(1, (p.sources || []).length));
  const height = kPad * 2 + Math.max(rows.reduce((a, r) => a + kLabelH + r * (kBoxH + 10) + kGapY, 0) - kGapY,
                                     actions.length * (kBoxH + 10));
  const action_x = kPad + (kBoxW + kGapX) * (max_stages + 1);
  const width = action_x + (actions.length ? kBoxW : 0) + kPad;
  const root = svg('svg', {class: 'graph', id: 'pipeline-graph', width, height, viewBox: `0 0 ${width} ${height}`});
  root.append(svg('defs', {}, svg('marker', {id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7,
                                             markerHeight: 7, orient: 'auto-start-reverse'},
                                  svg('path', {d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead'}))));
  const action_y0 = kPad;
  const action_mid = actions.map((a, i) => action_y0 + i * (kBoxH + 10) + kBoxH / 2);
  let y = kPad;
  pipelines.forEach((p, pi) => {
    const srcs = p.sources && p.sources.length ? p.sources : ['?'];
    root.append(svg('text', {x: kPad, y: y + 14, class: 'pipeline-name'}, p.name));
    y += kLabelH;
    const row_h = rows[pi] * (kBoxH + 10) - 10;
    const mid = y + row_h / 2;
    srcs.forEach((s, i) => {
      const sy = y + i * (kBoxH + 10);
      root.append(box(kPad, sy, 'source ' + (health.get(s) || ''), s, ['source', health.get(s) || ''],
                      `source ${s}: ${health.get(s) || 'unknown'}`));
      root.append(edge(kPad + kBoxW, sy + kBoxH / 2, kPad + kBoxW + kGapX, mid));
    });
    let x = kPad + kBoxW + kGapX;
    (p.stages || []).forEach((st, i) => {
      const lines = [st.type || '', `${fmt_rate(st.rate_per_s)}  in ${st.records_in ?? 0} out ${st.records_out ?? 0}`];
      const title = st.options && st.options.name && st.options.name !== st.name ? `${st.name}: ${st.options.name}` : st.name;
      root.append(box(x, mid - kBoxH / 2, 'stage', title, lines,
                      `${p.name} / ${st.name} (${st.type}): ${st.records_in} in, ${st.records_out} out, ` +
                      `${(st.rate_per_s ?? 0).toFixed(1)}/s\n${JSON.stringify(st.options || {})}`));
      if (i + 1 < p.stages.length) root.append(edge(x + kBoxW, mid, x + kBoxW + kGapX, mid));
      x += kBoxW + kGapX;
    });
    const last_x = x - kGapX;
    action_mid.forEach((am) => root.append(edge(last_x, mid, action_x, am)));
    y += row_h + 10 + kGapY;
  });
  actions.forEach((a, i) => root.append(box(action_x, action_y0 + i * (kBoxH + 10), 'action ' + (a.health || ''),
                                            a.name, ['action', a.health || ''], `action ${a.name}: ${a.health}`)));
  return root;
}

export async function render_pipelines(ctx) {
  const holder = el('div', {class: 'graph-box'});
  const table_box = el('div');
  ctx.root.append(el('h1', {text: 'Pipelines'}),
                  el('p', {class: 'muted', text: 'Sources \u2192 stages \u2192 actions; rates are records per second into each stage.'}),
                  holder, table_box);
  let stopped = false;
  let timer = null;
  ctx.use_live(null, {});
  async function refresh() {
    try {
      const [pipelines, comps] = await Promise.all([get('/api/v1/pipelines'),
                                                    get('/api/v1/components').catch(() => ({components: []}))]);
      if (stopped) return;
      holder.replaceChildren(draw_graph(pipelines || [], (comps && comps.components) || []));
      const rows = [];
      for (const p of pipelines || []) {
        for (const t of p.thresholds || []) {
          rows.push(el('tr', null, el('td', {text: p.name}), el('td', {text: t.stage}),
                       el('td', {text: `${t.field} ${t.op} ${t.value}`}), el('td', {text: t.kind})));
        }
      }
      table_box.replaceChildren(rows.length
        ? el('table', {class: 'thresholds'}, el('thead', null, el('tr', null,
            ['Pipeline', 'Rule', 'Condition', 'Kind'].map((h) => el('th', {text: h})))), el('tbody', null, rows))
        : el('span'));
      ctx.show_error('');
    } catch (e) {
      ctx.show_error(e.message);
    }
    if (!stopped) timer = setTimeout(refresh, 2000);
  }
  await refresh();
  return {stop() { stopped = true; clearTimeout(timer); }};
}
