// What the dashboard tests and bench/system/dashboard.sh share: a real edgeloop on loopback
// (a free port, stopped by its PID), Debian's Chromium through playwright-core, and small
// HTTP helpers. Everything is bounded in time.
import {spawn} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {createRequire} from 'node:module';

const require = createRequire(import.meta.url);

export function edgeloop_bin() {
  const bin = process.env.EDGELOOP_BIN;
  if (!bin || !fs.existsSync(bin)) {
    throw new Error(`EDGELOOP_BIN must name the built edgeloop binary (got ${bin || 'nothing'})`);
  }
  return bin;
}

export function load_playwright() {
  try {
    return require('playwright-core');
  } catch (e) {
    throw new Error('playwright-core is missing in tests/web/node_modules: run scripts/setup.sh (npm ci in tests/web)');
  }
}

export const kChromiumArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-dev-shm-usage'];

// Debian's Chromium with a fresh profile (playwright makes a temporary --user-data-dir).
// `context` is one browser context; new_context() makes more: each has its own connection
// pool, so N pages with a live feed each need not share Chromium's 6 connections per host.
export async function launch_chromium() {
  const {chromium} = load_playwright();
  const exe = process.env.CHROMIUM || '/usr/bin/chromium';
  if (!fs.existsSync(exe)) throw new Error(`no Chromium at ${exe} (scripts/setup.sh installs Debian's chromium)`);
  const browser = await chromium.launch({executablePath: exe, headless: true, args: kChromiumArgs, timeout: 30000});
  const new_context = () => browser.newContext({viewport: {width: 1400, height: 900}});
  const context = await new_context();
  return {
    browser,
    context,
    new_context,
    async close() {
      await browser.close().catch(() => {});
    },
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls fn() (async, truthy = done) until the deadline; returns its value or throws `what`.
export async function until(fn, what, timeout_ms = 10000, every_ms = 50) {
  const end = Date.now() + timeout_ms;
  let last_err = null;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last_err = e;
    }
    await sleep(every_ms);
  }
  throw new Error(`timed out after ${timeout_ms} ms waiting for ${what}${last_err ? ': ' + last_err.message : ''}`);
}

// Starts `edgeloop run` on `config_yaml` (its http.port should be 0) in `dir`; resolves once
// the log names the dashboard URL. stop() sends SIGTERM to that PID and waits (then SIGKILL).
export async function start_edgeloop(config_yaml, dir, {timeout_ms = 20000, extra_args = [], cpus = null} = {}) {
  fs.mkdirSync(dir, {recursive: true});
  const config = path.join(dir, 'config.yaml');
  fs.writeFileSync(config, config_yaml);
  const log_path = path.join(dir, 'edgeloop.log');
  const log = fs.openSync(log_path, 'w');
  // cpus ("0"): run it on those CPUs only (taskset), e.g. apart from the browser in a benchmark.
  const argv = [edgeloop_bin(), 'run', config, ...extra_args];
  const child = cpus ? spawn('taskset', ['-c', cpus, ...argv], {stdio: ['ignore', 'pipe', 'pipe']})
                     : spawn(argv[0], argv.slice(1), {stdio: ['ignore', 'pipe', 'pipe']});
  let out = '';
  const on_data = (d) => {
    out += d.toString();
    fs.writeSync(log, d);
  };
  child.stdout.on('data', on_data);
  child.stderr.on('data', on_data);
  let exited = null;
  const exit_promise = new Promise((resolve) => child.on('exit', (code, sig) => {
    exited = {code, sig};
    resolve(exited);
  }));
  const url = await until(() => {
    if (exited) throw new Error(`edgeloop exited (${JSON.stringify(exited)}) before serving:\n${out}`);
    const m = out.match(/dashboard at (https?:\/\/[0-9.]+:\d+)\//);
    return m ? m[1] : null;
  }, 'edgeloop to print its dashboard URL', timeout_ms, 20).catch((e) => {
    child.kill('SIGKILL');
    throw new Error(`${e.message}\n--- edgeloop output ---\n${out}`);
  });
  return {
    url,
    pid: child.pid,
    log_path,
    output: () => out,
    async stop() {
      if (!exited) {
        process.kill(child.pid, 'SIGTERM');
        const t = setTimeout(() => { if (!exited) process.kill(child.pid, 'SIGKILL'); }, 10000);
        await exit_promise;
        clearTimeout(t);
      }
      fs.closeSync(log);
      return exited;
    },
  };
}

export async function api(base, method, p, token, body) {
  const headers = {};
  if (token) headers.Authorization = 'Bearer ' + token;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(base + p, {method, headers, body: body === undefined ? undefined : JSON.stringify(body)});
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch (e) {
    json = null;
  }
  return {status: res.status, json, text, headers: res.headers};
}

// The plant the tests and the bench run: `pumps` pumps and `motors` motors, every reading
// shown live, a window of the vibration with a rule on its mean.
export function plant_config({pumps = 4, motors = 2, speed = 1, faults = '[]', tokens = true, extra = ''} = {}) {
  return `
sources:
  plant:
    type: simulator
    pumps: ${pumps}
    motors: ${motors}
    interval: 100ms
    speed: ${speed}
    faults: ${faults}
pipelines:
  vibration:
    from: plant
    steps:
      - live: {name: signals}
      - window: {size: 10, hop: 5, field: vibration, aggregates: [mean, max]}
      - live: {name: features}
      - rule: {name: high_vibration, when: "mean > 4.5", clear: "mean < 3.5", severity: critical}
${extra}
http:
  port: 0
  threads: 16
${tokens ? `  tokens:
    - {token: op-token, role: operate, name: alice}
    - {token: read-token, role: read, name: bob}` : ''}
runtime:
  summary_interval: 1s
`;
}
