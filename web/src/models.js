// Model versions from GET /api/v1/models (absent when no model registry is configured).
import {get} from './api.js';
import {el} from './util.js';

export async function render_models(ctx) {
  ctx.root.append(el('h1', {text: 'Models'}));
  ctx.use_live(null, {});
  let models;
  try {
    models = (await get('/api/v1/models')) || [];
  } catch (e) {
    if (e.status === 404) {
      ctx.root.append(el('p', {class: 'muted', id: 'no-models', text: 'This edgeloop serves no model registry.'}));
      return {stop() {}};
    }
    throw e;
  }
  if (!Array.isArray(models)) models = models.models || [];
  if (models.length === 0) {
    ctx.root.append(el('p', {class: 'muted', id: 'no-models', text: 'No model is loaded.'}));
    return {stop() {}};
  }
  // The columns: the contract's first, then whatever else the models report.
  const cols = ['name', 'version', 'backend', 'path'];
  for (const m of models) for (const k of Object.keys(m)) if (!cols.includes(k)) cols.push(k);
  const cell = (v) => (v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));
  ctx.root.append(el('table', {class: 'models', id: 'models'},
                     el('thead', null, el('tr', null, cols.map((c) => el('th', {text: c})))),
                     el('tbody', null, models.map((m) => el('tr', null, cols.map((c) => el('td', {text: cell(m[c])})))))));
  return {stop() {}};
}
