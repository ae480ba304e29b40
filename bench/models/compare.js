// Side by side: every example model on edgeloop (bench_models, each backend that loads it) and on
// onnxruntime-node (one thread), the same random input file for both, outputs compared.
//   node compare.js --bin BUILD/bench/models/bench_models [--batches 1,8] [--min-ms 700] [--repeats 3]
//                   [--json OUT.json] MODEL.onnx...
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');
const ort = require('onnxruntime-node');

function parseArgs(argv) {
  const a = { bin: '', batches: [1, 8], minMs: 700, repeats: 3, json: '', models: [] };
  for (let k = 0; k < argv.length; ++k) {
    const v = argv[k];
    if (v === '--bin') a.bin = argv[++k];
    else if (v === '--batches') a.batches = argv[++k].split(',').map(Number);
    else if (v === '--min-ms') a.minMs = Number(argv[++k]);
    else if (v === '--json') a.json = argv[++k];
    else if (v === '--repeats') a.repeats = Number(argv[++k]);
    else a.models.push(v);
  }
  return a;
}

function runEdgeloop(a, model, batch, backend, inFile, outFile, writeInput) {
  const args = ['--model', model, '--batch', String(batch), '--backend', backend, '--min-ms', String(a.minMs),
                '--output', outFile, writeInput ? '--write-input' : '--input', inFile];
  let text;
  try {
    text = execFileSync(a.bin, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    text = e.stdout || '';
  }
  const line = text.trim().split('\n').pop() || '{}';
  try { return JSON.parse(line); } catch (e) { return { error: line }; }
}

function readFloats(file) {
  const buf = fs.readFileSync(file);
  return new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
}

async function timeOrt(session, feeds, minMs) {
  let out;
  const warmEnd = process.hrtime.bigint() + 100000000n;
  for (let k = 0; k < 3 || process.hrtime.bigint() < warmEnd; ++k) out = await session.run(feeds);
  const rounds = [];
  const budget = BigInt(Math.round(minMs / 7 * 1e6));
  for (let r = 0; r < 7; ++r) {
    let iters = 0;
    const start = process.hrtime.bigint();
    let now = start;
    do {
      out = await session.run(feeds);
      ++iters;
      now = process.hrtime.bigint();
    } while (now - start < budget);
    rounds.push(Number(now - start) / 1000 / iters);
  }
  rounds.sort((x, y) => x - y);
  return { us: rounds[3], us_min: rounds[0], out };
}

function fmt(v, digits) { return v === null || v === undefined ? '-' : Number(v).toFixed(digits); }

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeloop-bench-models-'));
  const rows = [];
  for (const model of a.models) {
    const session = await ort.InferenceSession.create(model, {
      intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' });
    for (const batch of a.batches) {
      const inFile = path.join(tmp, 'input.bin');
      // "auto" (what load_tensor_model picks), then each backend forced. The first run that loads
      // the model writes the random input; the others, and onnxruntime, read that file.
      const results = [];
      let first = null;
      for (const backend of ['auto', 'opencv-dnn', 'onednn']) {
        if (backend !== 'auto' && results.length && results[0].auto && results[0].backend === backend) continue;
        const out = path.join(tmp, backend + '.bin');
        const r = runEdgeloop(a, model, batch, backend, inFile, out, first === null);
        if (backend === 'auto' && r.error) {
          rows.push({ model, batch, backend: 'auto', error: r.error });
          continue;
        }
        if (!r.error && first === null) first = r;
        results.push({ backend: backend === 'auto' ? r.backend : backend, auto: backend === 'auto', r, out });
      }
      if (first === null) continue;
      const auto = first;
      const input = readFloats(inFile);
      const feeds = { [auto.input_name]: new ort.Tensor('float32', input, auto.input_shape) };
      // Interleaved: ORT, then each edgeloop backend again, `repeats` times; each side keeps its
      // best round, so both sides are measured under the same background load.
      let ortRes;
      try {
        ortRes = await timeOrt(session, feeds, a.minMs);
        for (let rep = 1; rep < a.repeats; ++rep) {
          for (const res of results) {
            if (res.r.error) continue;
            const again = runEdgeloop(a, model, batch, res.auto ? 'auto' : res.backend, inFile, res.out, false);
            if (!again.error) res.r.us_min = Math.min(res.r.us_min, again.us_min);
          }
          const o = await timeOrt(session, feeds, a.minMs);
          ortRes.us_min = Math.min(ortRes.us_min, o.us_min);
        }
      } catch (e) {
        for (const res of results) rows.push({ model, batch, backend: res.backend, auto: res.auto, edgeloop_us: res.r.us_min, error: 'onnxruntime: ' + e.message });
        continue;
      }
      const ortFlat = [];
      for (const name of session.outputNames) for (const v of ortRes.out[name].data) ortFlat.push(Number(v));
      for (const res of results) {
        if (res.r.error) {
          rows.push({ model, batch, backend: res.backend, auto: res.auto, ort_us: ortRes.us_min, error: res.r.error });
          continue;
        }
        const got = readFloats(res.out);
        let diff = got.length === ortFlat.length ? 0 : Infinity;
        for (let k = 0; k < Math.min(got.length, ortFlat.length); ++k) diff = Math.max(diff, Math.abs(got[k] - ortFlat[k]));
        rows.push({ model, batch, backend: res.backend, auto: res.auto, edgeloop_us: res.r.us_min, ort_us: ortRes.us_min,
                    ratio: res.r.us_min / ortRes.us_min, max_abs_diff: diff, equal: diff <= 1e-4 });
      }
    }
  }
  fs.rmSync(tmp, { recursive: true, force: true });

  const header = ['model', 'batch', 'backend', 'edgeloop us', 'ORT us', 'ratio', 'max diff', 'ok'];
  const table = rows.map((r) => [path.basename(r.model), String(r.batch), r.backend + (r.auto ? '*' : ''),
    fmt(r.edgeloop_us, 1), fmt(r.ort_us, 1), fmt(r.ratio, 2),
    r.error ? 'ERROR' : r.max_abs_diff.toExponential(1),
    r.error ? r.error.replace(/^model '[^']*': /, '').slice(0, 50) : (r.equal && r.ratio <= 1.5 ? 'yes' : r.equal ? 'slow' : 'DIFF')]);
  const widths = header.map((h, k) => Math.max(h.length, ...table.map((row) => row[k].length)));
  const line = (row) => row.map((c, k) => (k < 3 ? c.padEnd(widths[k]) : c.padStart(widths[k]))).join('  ');
  console.log(line(header));
  for (const row of table) console.log(line(row));
  console.log('us: best of ' + 7 * a.repeats + ' rounds per side (each >= ' + (a.minMs / 7).toFixed(0) +
              ' ms), edgeloop and ORT interleaved; * = what backend "auto" picks; ok = diff <= 1e-4 and ratio <= 1.5');
  const report = { onnxruntime_node: ort.env.versions.node, threads: 1, batches: a.batches, min_ms: a.minMs, repeats: a.repeats,
                   timing: 'best round per side, interleaved',
                   host: os.cpus()[0].model, rows };
  if (a.json) fs.writeFileSync(a.json, JSON.stringify(report, null, 1) + '\n');
}

main().catch((e) => { console.error(e); process.exit(1); });
