// The dashboard's figures (run by dashboard.sh), on a plant of DASH_ASSETS simulated assets:
// 1. first paint of the overview on loopback, the plant at its real pace (10 readings/s per
//    asset), in fresh browser contexts (median and max of DASH_LOADS loads);
// 2. the loop's throughput with the plant as fast as it can go (simulator speed 0), with no
//    page open and with DASH_PAGES pages open (one browser context each: half on the
//    overview, half on an asset's live plots), alternating 0, N, 0, N, 0 pages;
// 3. the time a click takes to change the view (overview <-> asset) with those pages open.
// With DASH_PIN (default on 2+ cores) edgeloop runs on CPU 0 and this script and Chromium on
// the others (dashboard.sh), so the drop is the server side's cost, not the browsers'.
// Prints one JSON line per measurement, then {"summary": ...}.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {api, launch_chromium, plant_config, start_edgeloop, until} from '../../tests/web/harness.mjs';

const kPages = Number(process.env.DASH_PAGES || 10);
const kAssets = Number(process.env.DASH_ASSETS || 1000);
const kPhaseS = Number(process.env.DASH_PHASE_S || 8);
const kLoads = Number(process.env.DASH_LOADS || 5);
const kViews = process.env.DASH_VIEWS || 'mixed';  // mixed | overview | asset: what the pages show
const kPin = process.env.DASH_PIN !== '0' && os.cpus().length >= 2;
const token = 'bench-token';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function config(speed) {
  return plant_config({
    pumps: kAssets / 2, motors: kAssets / 2, speed, tokens: false,
    faults: '[{asset: line1/pump-7, type: imbalance, start: 0s, ramp: 0s, severity: 1}]',
  }).replace('  threads: 16', `  threads: ${kPages * 2 + 4}\n  tokens: [{token: ${token}, role: operate}]`);
}

function records_total(metrics_text) {
  let sum = 0;
  for (const line of metrics_text.split('\n')) {
    if (line.startsWith('edgeloop_source_records_total{')) sum += Number(line.split(' ').pop());
  }
  return sum;
}

// edgeloop's CPU time (all threads, user + system), in seconds.
function cpu_s(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;  // utime, stime in ticks (USER_HZ 100)
}

// Per thread: tid -> CPU seconds (threads are unnamed: the busiest are the source and shard
// threads, the HTTP workers and the live hub are the rest).
function thread_cpu_s(pid) {
  const out = new Map();
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const f = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
      out.set(tid, (Number(fields[11]) + Number(fields[12])) / 100);
    } catch (e) {
      // the thread ended
    }
  }
  return out;
}

// Records per wall second and per second of edgeloop's CPU time. The second is what a core
// of its own would give: the machine's other work (a shared 2-core box) cancels out of it.
async function rate(el, seconds) {
  const get = async () => ({t: performance.now(), c: cpu_s(el.pid), th: thread_cpu_s(el.pid),
                            n: records_total((await api(el.url, 'GET', '/metrics', token)).text)});
  const a = await get();
  await sleep(seconds * 1000);
  const b = await get();
  const wall = (b.t - a.t) / 1000;
  // Each thread's share of a core, busiest first; the two busiest (the loop) apart from the rest.
  const shares = [...b.th].map(([tid, c]) => (c - (a.th.get(tid) ?? 0)) / wall).sort((x, y) => y - x);
  return {per_s: (b.n - a.n) / wall, per_cpu_s: (b.n - a.n) / Math.max(0.01, b.c - a.c),
          cpu_share: (b.c - a.c) / wall, loop_cpu: shares.slice(0, 2).reduce((x, y) => x + y, 0),
          other_cpu: shares.slice(2).reduce((x, y) => x + y, 0), top_threads: shares.slice(0, 6).map((x) => Number(x.toFixed(3)))};
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeloop-dash-bench-'));
const results = {assets: kAssets, pages: kPages, views: kViews, phase_s: kPhaseS, pinned: kPin, cpus: os.cpus().length};
const chrome = await launch_chromium();
let el = null;
try {
  // 0. The browser's own floor on this machine now: first paint of a tiny static page.
  const blank = http.createServer((q, r) => {
    r.setHeader('Content-Type', 'text/html');
    r.end('<!doctype html><title>blank</title><h1>blank</h1>');
  });
  await new Promise((r) => blank.listen(0, '127.0.0.1', r));
  const blank_fp = [];
  for (let i = 0; i < kLoads; i++) {
    const ctx = await chrome.new_context();
    const page = await ctx.newPage();
    await page.goto(`http://127.0.0.1:${blank.address().port}/`, {waitUntil: 'load'});
    blank_fp.push(await page.evaluate(() => performance.getEntriesByType('paint').find((e) => e.name === 'first-paint')?.startTime ?? NaN));
    await ctx.close();
  }
  blank.close();
  results.blank_page_first_paint_ms = Math.round(median(blank_fp));
  console.log(JSON.stringify({blank_page_first_paint_ms: results.blank_page_first_paint_ms}));

  // 1. First paint, the plant at its real pace.
  el = await start_edgeloop(config(1), path.join(dir, 'paint'), {cpus: kPin ? '0' : null});
  await until(async () => (await api(el.url, 'GET', '/api/v1/overview', token)).json?.assets?.length === kAssets,
              `the overview to list ${kAssets} assets`, 20000, 200);
  const paints = [];
  for (let i = 0; i < kLoads; i++) {
    const ctx = await chrome.new_context();
    const page = await ctx.newPage();
    await page.goto(`${el.url}/?token=${token}#/overview`, {waitUntil: 'load'});
    await page.waitForSelector('#assets tr.asset-row');
    const m = await page.evaluate(() => {
      const p = Object.fromEntries(performance.getEntriesByType('paint').map((e) => [e.name, e.startTime]));
      const n = performance.getEntriesByType('navigation')[0];
      return {fp: p['first-paint'], fcp: p['first-contentful-paint'], response_end: n.responseEnd,
              bytes: n.transferSize, rows_ms: performance.now()};
    });
    paints.push(m);
    await ctx.close();
  }
  const pick = (k) => paints.map((p) => p[k]);
  results.first_paint_ms = {median: Math.round(median(pick('fp'))), max: Math.round(Math.max(...pick('fp'))), n: kLoads};
  results.first_contentful_paint_ms = {median: Math.round(median(pick('fcp'))), max: Math.round(Math.max(...pick('fcp')))};
  results.document_response_end_ms = Math.round(median(pick('response_end')));
  results.document_transfer_bytes = paints[0].bytes;
  results.overview_rows_shown_ms = Math.round(median(pick('rows_ms')));
  console.log(JSON.stringify({first_paint: results.first_paint_ms, fcp: results.first_contentful_paint_ms,
                              response_end_ms: results.document_response_end_ms,
                              transfer_bytes: results.document_transfer_bytes,
                              overview_rows_ms: results.overview_rows_shown_ms}));
  await el.stop();
  el = null;

  // 2. Throughput, the plant as fast as it goes.
  el = await start_edgeloop(config(0), path.join(dir, 'load'), {cpus: kPin ? '0' : null});
  await until(async () => records_total((await api(el.url, 'GET', '/metrics', token)).text) > kAssets * 20,
              'the plant to run', 20000, 200);
  await sleep(2000);
  let contexts = [];
  // Page 0 stays on the overview (the clicks start there).
  const on_overview = (i) => i === 0 || kViews === 'overview' || (kViews === 'mixed' && i % 2 === 0);
  async function open_pages() {
    const pages = [];
    for (let i = 0; i < kPages; i++) {
      const ctx = await chrome.new_context();
      contexts.push(ctx);
      const p = await ctx.newPage();
      const view = on_overview(i) ? '#/overview' : `#/asset/${encodeURIComponent(`line1/pump-${i}`)}`;
      await p.goto(`${el.url}/?token=${token}${view}`);
      pages.push(p);
    }
    for (const [i, p] of pages.entries()) {
      await p.waitForSelector(on_overview(i) ? '#assets tr.asset-row' : '.chart[data-points]', {timeout: 30000});
    }
    return pages;
  }
  async function close_pages() {
    for (const c of contexts) await c.close();
    contexts = [];
  }
  const r0 = [];
  const rn = [];
  let clicks = [];
  for (const phase of [0, kPages, 0, kPages, 0]) {
    let pages = null;
    if (phase) {
      pages = await open_pages();
      await sleep(1000);
    }
    const r = await rate(el, kPhaseS);
    (phase ? rn : r0).push(r);
    console.log(JSON.stringify({pages: phase, records_per_s: Math.round(r.per_s),
                                records_per_cpu_s: Math.round(r.per_cpu_s), cpu_share: Number(r.cpu_share.toFixed(2)),
                                loop_threads_cpu: Number(r.loop_cpu.toFixed(3)), other_threads_cpu: Number(r.other_cpu.toFixed(3)),
                                top_threads: r.top_threads}));
    if (phase && clicks.length === 0) {
      // 3. A click with the pages open: overview -> an asset's view with its plots drawn, and back.
      const first = pages[0];
      for (let i = 0; i < 5; i++) {
        await first.waitForSelector('#assets tr.asset-row a.asset-key');
        let t0 = Date.now();
        await first.click(`#assets tr.asset-row:nth-child(${i + 1}) a.asset-key`);
        await first.waitForSelector('.chart[data-points]', {state: 'attached', timeout: 30000});
        clicks.push(Date.now() - t0);
        t0 = Date.now();
        await first.click('a.back');
        await first.waitForSelector('#assets tr.asset-row', {state: 'attached', timeout: 30000});
        clicks.push(Date.now() - t0);
      }
      results.click_to_view_ms = {median: median(clicks), max: Math.max(...clicks), n: clicks.length};
      console.log(JSON.stringify({click_to_view_ms: results.click_to_view_ms}));
    }
    if (phase) {
      await close_pages();
      await sleep(1500);
    }
  }
  const metrics = (await api(el.url, 'GET', '/metrics', token)).text;
  results.live_dropped = metrics.split('\n').filter((l) => /^edgeloop_(api_live|live_stage)_dropped_total/.test(l));
  const mean = (xs, k) => xs.reduce((a, x) => a + x[k], 0) / xs.length;
  results.records_per_s_0_pages = r0.map((r) => Math.round(r.per_s));
  results[`records_per_s_${kPages}_pages`] = rn.map((r) => Math.round(r.per_s));
  results.records_per_cpu_s_0_pages = r0.map((r) => Math.round(r.per_cpu_s));
  results[`records_per_cpu_s_${kPages}_pages`] = rn.map((r) => Math.round(r.per_cpu_s));
  results.other_threads_cpu_0_pages = Number(mean(r0, 'other_cpu').toFixed(3));
  results[`other_threads_cpu_${kPages}_pages`] = Number(mean(rn, 'other_cpu').toFixed(3));
  results.throughput_drop_pct = Number((100 * (1 - mean(rn, 'per_s') / mean(r0, 'per_s'))).toFixed(2));
  results.throughput_per_cpu_drop_pct = Number((100 * (1 - mean(rn, 'per_cpu_s') / mean(r0, 'per_cpu_s'))).toFixed(2));
  console.log(JSON.stringify({summary: results}));
} finally {
  await chrome.close();
  if (el) await el.stop();
  fs.rmSync(dir, {recursive: true, force: true});
}
