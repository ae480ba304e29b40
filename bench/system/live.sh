#!/usr/bin/env bash
# What the live dashboard costs the loop: the T1 load (WORKLOADS.md, through the shared T1
# harness and its broker, 1,000 devices) on examples/t1.yaml with an `op.live` step after the
# window (every device a live stream at 10 Hz), run with 0 and then with N SSE clients
# (`curl -N` on loopback, /api/v1/live, connected before the load starts); prints both
# throughputs and their ratio.
#   bench/system/live.sh                    # 0 vs 10 clients, one run each (~2 min)
#   LIVE_CLIENTS=10 LIVE_RUNS=3 bench/system/live.sh
# Environment passes through to the harness (T1_MESSAGES, T1_DEVICES, ...). EDGELOOP_BIN picks
# the binary (default build/release/src/app/edgeloop; it must register op.live).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
shared=${EDGELOOP_SHARED:-$root/../shared}
harness=$shared/bench/t1/run.sh
[ -f "$harness" ] || { echo "live.sh: no harness at $harness (set EDGELOOP_SHARED)" >&2; exit 2; }
bin=${EDGELOOP_BIN:-$root/build/release/src/app/edgeloop}
[ -x "$bin" ] || "$root/scripts/build.sh" release >/dev/null
clients=${LIVE_CLIENTS:-10}
runs=${LIVE_RUNS:-1}
export T1_LAT_MESSAGES=${T1_LAT_MESSAGES:-20000}  # the latency run is not what this measures
work=$(mktemp -d "${TMPDIR:-/tmp}/livebench.XXXXXX")
curl_pids=()
cleanup() {
  local p
  for p in "${curl_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# examples/t1.yaml, plus op.live after the window and enough HTTP workers for the feeds.
python3 - "$root/examples/t1.yaml" "$work/live.yaml" "$clients" <<'PY'
import sys
src, dst, clients = sys.argv[1], sys.argv[2], int(sys.argv[3])
out = []
for line in open(src):
    out.append(line)
    if line.strip().startswith("- window:"):
        out.append(line[:len(line) - len(line.lstrip())] + "- live: {name: window, max_rate_hz: 10}\n")
text = "".join(out).replace("http:\n  port: ${EDGELOOP_HTTP_PORT:-0}\n",
                            "http:\n  port: ${EDGELOOP_HTTP_PORT:-0}\n  threads: %d\n" % (clients + 4))
assert "- live:" in text and "threads:" in text, "examples/t1.yaml changed shape"
open(dst, "w").write(text)
PY

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# One harness run with n live clients; prints msgs/s.
run_one() {
  local n=$1 tag=$2 port i
  port=$(free_port)
  export EDGELOOP_HTTP_PORT=$port
  curl_pids=()
  (
    # The feeds connect as soon as the API listens, before the harness' probe and load.
    for i in $(seq 600); do port_open "$port" && break; sleep 0.05; done
    for i in $(seq "$n"); do
      curl -sN -o "$work/$tag.client$i.sse" "http://127.0.0.1:$port/api/v1/live" &
    done
    wait
  ) &
  curl_pids+=($!)
  bash "$harness" "cmd:$bin run $work/live.yaml" >"$work/$tag.jsonl" 2>"$work/$tag.log" || {
    echo "live.sh: the harness failed ($tag):" >&2; tail -5 "$work/$tag.log" >&2; exit 1; }
  wait "${curl_pids[@]}" 2>/dev/null || true
  python3 - "$work/$tag.jsonl" "$work" "$tag" "$n" <<'PY'
import glob, json, sys
runs = {}
for l in open(sys.argv[1]):
    if l.strip():
        j = json.loads(l); runs[j.get("tag", "target")] = j
t = runs["throughput"]
files = glob.glob(f"{sys.argv[2]}/{sys.argv[3]}.client*.sse")
readings = sum(open(f, errors="replace").read().count("event: reading") for f in files)
dropped = sum(open(f, errors="replace").read().count("event: dropped") for f in files)
cpu = runs.get("target", {}).get("target_cpu_s_throughput")
n = t.get("sent")
print(json.dumps({"clients": int(sys.argv[4]), "msgs_per_s": t["msgs_per_s"], "correct": t["correct"],
                  "edgeloop_cpu_s": cpu, "edgeloop_cpu_us_per_msg": round(cpu * 1e6 / n, 2) if cpu and n else None,
                  "sse_readings_received": readings, "sse_dropped_notices": dropped}))
PY
}

results=()
for r in $(seq "$runs"); do
  echo "live.sh: run $r: 0 clients" >&2
  results+=("$(run_one 0 "r$r-0")")
  echo "live.sh: run $r: $clients clients" >&2
  results+=("$(run_one "$clients" "r$r-$clients")")
done
printf '%s\n' "${results[@]}"
printf '%s\n' "${results[@]}" | python3 -c '
import json, statistics, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
base = statistics.median(r["msgs_per_s"] for r in rows if r["clients"] == 0)
live = statistics.median(r["msgs_per_s"] for r in rows if r["clients"] != 0)
cpu = lambda n0: [r["edgeloop_cpu_us_per_msg"] for r in rows if (r["clients"] == 0) == n0 and r["edgeloop_cpu_us_per_msg"]]
out = {"msgs_per_s_0_clients": base, "msgs_per_s_n_clients": live, "ratio": round(live / base, 3),
       "all_correct": all(r["correct"] for r in rows)}
if cpu(True) and cpu(False):
    out["cpu_us_per_msg_0_clients"] = statistics.median(cpu(True))
    out["cpu_us_per_msg_n_clients"] = statistics.median(cpu(False))
print(json.dumps(out))'
