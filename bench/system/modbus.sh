#!/usr/bin/env bash
# Modbus figures against the local npm modbus-serial peer (tests/peers/modbus/server.js):
#  1. read throughput: `edgeloop run` polls DEVICES devices (one connection and thread each)
#     back to back (interval 0); each poll is ONE batched request of 125 holding registers
#     (16 points spread over 0..124, max_gap 8). Registers/s and requests/s from the metrics.
#  2. write round trip: holding register 0 of the peer toggles 20 <-> 90 every TOGGLE_MS; a
#     device polled every POLL_MS, rule `temp > 80` (clear < 75), action.modbus_write with
#     read-back. Latency from the reading's receive in the source to the write's answer
#     (stage written: the peer has applied it) and to the matching read-back (stage verified),
#     from edgeloop_modbus_write_latency_seconds (log buckets: quantiles are bucket upper bounds).
#   bench/system/modbus.sh            (EDGELOOP_BIN, SECONDS_PER_PHASE, DEVICES, TOGGLE_MS, POLL_MS)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${EDGELOOP_BIN:-$root/build/release/src/app/edgeloop}
[ -x "$bin" ] || { echo "modbus.sh: no edgeloop binary at $bin (set EDGELOOP_BIN)" >&2; exit 2; }
command -v node >/dev/null || { echo "modbus.sh: node is not on PATH" >&2; exit 2; }
[ -d "$root/tests/peers/node_modules/modbus-serial" ] || { echo "modbus.sh: run npm ci in tests/peers" >&2; exit 2; }
secs=${SECONDS_PER_PHASE:-10}
devices=${DEVICES:-4}
toggle=${TOGGLE_MS:-25}
poll=${POLL_MS:-5}
work=$(mktemp -d /tmp/edgeloop-modbus-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

peer_port=$(free_port)
(cd "$root/tests/peers" && NODE_PATH=$root/tests/peers/node_modules exec node modbus/server.js --port "$peer_port" \
   --toggle-ms "$toggle" >"$work/peer.log" 2>&1) &
pids+=($!)
for _ in $(seq 100); do grep -q READY "$work/peer.log" 2>/dev/null && break; sleep 0.1; done
grep -q READY "$work/peer.log" || { echo "modbus.sh: peer did not start" >&2; cat "$work/peer.log" >&2; exit 1; }

# Phase 1: throughput.
{
  echo "sources:"
  echo "  plc: {type: modbus, port: $peer_port, interval: 0s, max_gap: 8, devices: ["
  for d in $(seq "$devices"); do
    echo "    {name: d$d, points: ["
    for i in $(seq 0 14); do echo "      {name: p$i, address: $((i * 8))},"; done
    echo "      {name: f, address: 121, type: float64}]},"
  done
  echo "  ]}"
  echo "pipelines: {all: {from: plc, steps: [{rule: {name: never, when: 'p0 > 100000'}}]}}"
  echo "dead_letter: {file: $work/dead.jsonl}"
  echo "runtime: {shards: 0, summary_interval: 0s}"
} >"$work/read.yaml"
# Phase 2: write round trip.
cat >"$work/write.yaml" <<YAML
sources:
  boiler: {type: modbus, port: $peer_port, interval: ${poll}ms, devices: [{name: b1, points: [{name: temp, address: 0, type: int16}]}]}
pipelines:
  hot: {from: boiler, steps: [{rule: {name: hot, when: "temp > 80", clear: "temp < 75"}}]}
actions:
  cool: {on: hot.raised, type: modbus_write, port: $peer_port, address: 10, value_type: int16, value: "{temp}"}
dead_letter: {file: $work/dead.jsonl}
runtime: {shards: 0, summary_interval: 0s}
YAML

run_phase() {  # config name -> metrics before/after files
  local cfg=$1 name=$2 http
  http=$(free_port)
  "$bin" run "$cfg" --duration "$((secs + 3))s" --http-port "$http" >"$work/$name.log" 2>&1 &
  local pid=$!
  pids+=($pid)
  sleep 1.5
  python3 -c "import urllib.request,sys; sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:$http/metrics').read().decode())" >"$work/$name.0"
  date +%s.%N >"$work/$name.t0"
  sleep "$secs"
  python3 -c "import urllib.request,sys; sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:$http/metrics').read().decode())" >"$work/$name.1"
  date +%s.%N >"$work/$name.t1"
  wait "$pid" || { echo "modbus.sh: edgeloop failed" >&2; cat "$work/$name.log" >&2; exit 1; }
}
echo "modbus.sh: phase 1 (read throughput, $devices devices, ${secs}s)" >&2
run_phase "$work/read.yaml" read
echo "modbus.sh: phase 2 (write round trip, toggle ${toggle}ms, poll ${poll}ms, ${secs}s)" >&2
run_phase "$work/write.yaml" write

python3 - "$work" "$devices" <<'PY'
import json, re, sys
work, devices = sys.argv[1], int(sys.argv[2])
def metrics(path):
    out = {}
    for line in open(path):
        if line.startswith("#") or not line.strip(): continue
        k, v = line.rsplit(" ", 1)
        out[k] = float(v)
    return out
def total(m, name, **labels):
    s = 0.0
    for k, v in m.items():
        if k == name or k.startswith(name + "{"):
            if all(f'{a}="{b}"' in k for a, b in labels.items()): s += v
    return s
def elapsed(name):
    return float(open(f"{work}/{name}.t1").read()) - float(open(f"{work}/{name}.t0").read())
r0, r1, dt = metrics(f"{work}/read.0"), metrics(f"{work}/read.1"), elapsed("read")
regs = (total(r1, "edgeloop_modbus_registers_total") - total(r0, "edgeloop_modbus_registers_total")) / dt
reqs = (total(r1, "edgeloop_modbus_requests_total") - total(r0, "edgeloop_modbus_requests_total")) / dt
recs = (total(r1, "edgeloop_source_records_total", source="plc") - total(r0, "edgeloop_source_records_total", source="plc")) / dt
errs = total(r1, "edgeloop_source_errors_total")
w1 = metrics(f"{work}/write.1")
def quantiles(stage):
    buckets = []
    for k, v in w1.items():
        if k.startswith("edgeloop_modbus_write_latency_seconds_bucket{") and f'stage="{stage}"' in k:
            le = re.search(r'le="([^"]+)"', k).group(1)
            buckets.append((float("inf") if le == "+Inf" else float(le), v))
    buckets.sort()
    n = buckets[-1][1] if buckets else 0
    def q(p):
        for le, c in buckets:
            if c >= p * n: return le * 1e3
        return None
    return int(n), q(0.5), q(0.99), (buckets and max(le for le, c in buckets if c > 0 and le != float("inf")) or None)
wn, w50, w99, _ = quantiles("written")
vn, v50, v99, _ = quantiles("verified")
fig = {"devices": devices, "registers_per_s": round(regs), "requests_per_s": round(reqs), "records_per_s": round(recs),
       "read_errors": int(errs),
       "writes": wn, "written_p50_ms_le": w50, "written_p99_ms_le": w99,
       "verified": vn, "verified_p50_ms_le": v50, "verified_p99_ms_le": v99,
       "readback_mismatch": int(total(w1, "edgeloop_modbus_readback_mismatch_total"))}
print(json.dumps(fig))
PY
