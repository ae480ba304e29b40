// One asset: live plots (uPlot) of each stream the pipelines publish for it (signals,
// features, anomaly score), the rules' thresholds drawn as dashed lines, and its alerts.
// History from GET /api/v1/streams/history, then readings from the live feed (?keys=KEY).
import {get} from './api.js';
import {alert_table} from './alerts.js';
import {el, fmt_num} from './util.js';

const kMaxPoints = 600;
const kRedrawMs = 250;
const kHeight = 200;
const kPalette = ['#3a86ff', '#ff006e', '#fb8500', '#8338ec', '#2a9d8f', '#e76f51', '#6a994e', '#118ab2', '#ef476f', '#073b4c'];

function make_chart(card, title, fields, thresholds) {
  const plot_box = el('div', {class: 'plot'});
  const info = el('span', {class: 'muted points'});
  card.append(el('div', {class: 'card-head'}, el('h3', {text: title}), info), plot_box);
  const data = [[], ...fields.map(() => [])];
  const th_lines = thresholds.filter((t) => fields.includes(t.field));
  const opts = {
    width: Math.max(300, plot_box.clientWidth || card.clientWidth - 24 || 600),
    height: kHeight,
    cursor: {drag: {x: true, y: false}},
    legend: {live: true},
    scales: {
      x: {time: true},
      y: {
        // Keep every threshold in view so that "how far from alerting" is visible.
        range: (u, min, max) => {
          let lo = min;
          let hi = max;
          for (const t of th_lines) {
            lo = lo == null ? t.value : Math.min(lo, t.value);
            hi = hi == null ? t.value : Math.max(hi, t.value);
          }
          if (lo == null || hi == null) return [0, 1];
          if (lo === hi) return [lo - 1, hi + 1];
          const pad = (hi - lo) * 0.08;
          return [lo - pad, hi + pad];
        },
      },
    },
    series: [{}, ...fields.map((f, i) => ({label: f, stroke: kPalette[i % kPalette.length], width: 1.5,
                                           value: (u, v) => (v == null ? '-' : fmt_num(v))}))],
    axes: [{stroke: '#555', grid: {stroke: '#eee'}}, {stroke: '#555', grid: {stroke: '#eee'}, size: 56}],
    hooks: {
      draw: [(u) => {
        const ctx = u.ctx;
        for (const t of th_lines) {
          const y = Math.round(u.valToPos(t.value, 'y', true));
          if (!Number.isFinite(y) || y < u.bbox.top || y > u.bbox.top + u.bbox.height) continue;
          ctx.save();
          ctx.textAlign = 'left';
          ctx.textBaseline = 'bottom';
          ctx.strokeStyle = t.kind === 'clear' ? '#2a9d8f' : '#d62828';
          ctx.lineWidth = 1.5 * devicePixelRatio;
          ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
          ctx.beginPath();
          ctx.moveTo(u.bbox.left, y);
          ctx.lineTo(u.bbox.left + u.bbox.width, y);
          ctx.stroke();
          ctx.fillStyle = ctx.strokeStyle;
          ctx.font = `${11 * devicePixelRatio}px sans-serif`;
          ctx.fillText(`${t.kind === 'clear' ? 'clear' : 'alert'}: ${t.field} ${t.op} ${t.value}`,
                       u.bbox.left + 6 * devicePixelRatio, y - 4 * devicePixelRatio);
          ctx.restore();
        }
      }],
    },
  };
  const u = new window.uPlot(opts, data, plot_box);
  const chart = {
    fields, data, u, card, dirty: false,
    push(ts_ns, values) {
      const x = ts_ns / 1e9;
      const xs = this.data[0];
      if (xs.length && x < xs[xs.length - 1]) return;  // out of order (a replay): skip
      xs.push(x);
      this.fields.forEach((f, i) => {
        const v = values[f];
        this.data[i + 1].push(typeof v === 'number' ? v : null);
      });
      if (xs.length > kMaxPoints) for (const a of this.data) a.splice(0, a.length - kMaxPoints);
      this.dirty = true;
    },
    redraw() {
      if (!this.dirty) return;
      this.dirty = false;
      this.u.setData(this.data);
      this.card.dataset.points = String(this.data[0].length);
      info.textContent = `${this.data[0].length} points`;
    },
  };
  chart.dirty = true;
  return chart;
}

// Fields of very different magnitudes (speed ~1500 rpm next to vibration ~2 mm/s) would
// flatten each other in one chart: group the fields whose typical values are within 10x of
// each other (by the median of the values known when the chart is made), one chart a group.
function magnitude_groups(fields, samples) {
  const typical = fields.map((f, i) => {
    const v = (samples[i] || []).filter((x) => typeof x === 'number' && Number.isFinite(x)).map(Math.abs).sort((a, b) => a - b);
    return {f, m: v.length ? v[Math.floor(v.length / 2)] : null};
  });
  const known = typical.filter((t) => t.m !== null).sort((a, b) => a.m - b.m);
  const groups = [];
  for (const t of known) {
    const g = groups[groups.length - 1];
    const floor = Math.max(g ? g.min : 0, 1e-3);
    if (g && Math.max(t.m, 1e-3) <= floor * 10) g.fields.push(t.f);
    else groups.push({min: t.m, fields: [t.f]});
  }
  const unknown = typical.filter((t) => t.m === null).map((t) => t.f);
  if (unknown.length) groups.push({fields: unknown});
  // Keep the stream's own field order inside and across groups.
  return groups.map((g) => fields.filter((f) => g.fields.includes(f)))
      .sort((a, b) => fields.indexOf(a[0]) - fields.indexOf(b[0]));
}

export async function render_asset(ctx, key) {
  const {root} = ctx;
  const charts = new Map();  // "pipeline/stage" -> [chart]
  let stopped = false;
  const head = el('div', {class: 'asset-head'},
                  el('a', {href: '#/overview', class: 'back', text: '\u2190 Assets'}),
                  el('h1', {id: 'asset-title', text: key}));
  const grid = el('div', {class: 'charts', id: 'charts'});
  const alerts_box = el('section', {class: 'asset-alerts'});
  root.append(head, grid, el('h2', {text: 'Alerts of this asset'}), alerts_box);

  const pipelines = (await get('/api/v1/pipelines')) || [];
  const thresholds_of = new Map(pipelines.map((p) => [p.name, p.thresholds || []]));
  // "pipeline/stage" -> the charts of that stream (one per magnitude group of its fields).
  function add_charts(pipeline, stage, fields, samples) {
    const id = pipeline + '/' + stage;
    if (charts.has(id) || !fields.length) return charts.get(id);
    const groups = magnitude_groups(fields, samples);
    const list = groups.map((g) => {
      const card = el('div', {class: 'card chart', dataset: {pipeline, stage, fields: g.join(',')}});
      grid.append(card);
      const title = `${pipeline} \u203a ${stage}` + (groups.length > 1 ? ` \u203a ${g.join(', ')}` : '');
      return make_chart(card, title, g, thresholds_of.get(pipeline) || []);
    });
    charts.set(id, list);
    return list;
  }

  const histories = await Promise.all(pipelines.map((p) =>
    get(`/api/v1/streams/history?key=${encodeURIComponent(key)}&pipeline=${encodeURIComponent(p.name)}&points=${kMaxPoints}`)
        .catch(() => null)));
  histories.forEach((h, i) => {
    if (!h || !h.series) return;
    for (const s of h.series) {
      const fields = s.fields || [];
      const list = add_charts(pipelines[i].name, s.stage, fields, fields.map((f) => (s.values || {})[f] || []));
      if (!list) continue;
      (s.ts_ns || []).forEach((ts, j) => {
        const values = {};
        for (const f of fields) values[f] = s.values && s.values[f] ? s.values[f][j] : null;
        for (const c of list) c.push(ts, values);
      });
    }
  });
  if (charts.size === 0) {
    grid.append(el('p', {class: 'muted', id: 'no-streams',
      text: 'No live stream for this asset yet (a pipeline needs an op.live step to publish one).'}));
  }

  const alerts = alert_table(ctx, {keys: [key]});
  alerts_box.append(alerts.node);
  await alerts.load();

  ctx.use_live([key], {
    reading: (r) => {
      if (r.key !== key) return;
      let list = charts.get(r.pipeline + '/' + r.stage);
      if (!list) {
        const np = grid.querySelector('#no-streams');
        if (np) np.remove();
        const fields = Object.keys(r.values || {});
        list = add_charts(r.pipeline, r.stage, fields, fields.map((f) => [r.values[f]]));
      }
      for (const c of list || []) c.push(r.ts_ns, r.values || {});
    },
    alert: (a) => { if (a.key === key) alerts.upsert(a); },
  });

  const all = () => [...charts.values()].flat();
  const timer = setInterval(() => { for (const c of all()) c.redraw(); }, kRedrawMs);
  for (const c of all()) c.redraw();
  const on_resize = () => {
    for (const c of all()) c.u.setSize({width: Math.max(300, c.card.clientWidth - 24), height: kHeight});
  };
  window.addEventListener('resize', on_resize);
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
      window.removeEventListener('resize', on_resize);
      alerts.stop();
      for (const c of all()) c.u.destroy();
    },
    get stopped() { return stopped; },
  };
}
