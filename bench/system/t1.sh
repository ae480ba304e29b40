#!/usr/bin/env bash
# T1 (WORKLOADS.md) in one run: the broker alone (the limit), Node-RED (the peer) and edgeloop
# on examples/t1.yaml, each through the shared harness (../shared/bench/t1/run.sh), then the
# figures the foundation issue asks for, as ratios from this one run.
#   bench/system/t1.sh                 # all three targets (~3 min)
#   T1_TARGETS="null edgeloop" bench/system/t1.sh
# Environment passes through to the harness (T1_MESSAGES, T1_DEVICES, T1_RATE, ...).
# EDGELOOP_SHARDS picks runtime.shards for edgeloop (0, the default: inline; N: shard threads).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
shared=${EDGELOOP_SHARED:-$root/../shared}
harness=$shared/bench/t1/run.sh
[ -x "$harness" ] || [ -f "$harness" ] || { echo "t1.sh: no harness at $harness (set EDGELOOP_SHARED)" >&2; exit 2; }
bin=$root/build/release/src/app/edgeloop
[ -x "$bin" ] || "$root/scripts/build.sh" release >/dev/null
out=${T1_OUT:-$root/build/bench-t1}
mkdir -p "$out"
targets=${T1_TARGETS:-null nodered edgeloop}
export EDGELOOP_SHARDS=${EDGELOOP_SHARDS:-0}
status=0
for t in $targets; do
  case $t in
    edgeloop) arg="cmd:$bin run $root/examples/t1.yaml" ;;
    *) arg=$t ;;
  esac
  echo "t1.sh: running $t" >&2
  bash "$harness" "$arg" >"$out/$t.jsonl" || status=$?
done
python3 - "$out" $targets <<'PY'
import json, sys
out, targets = sys.argv[1], sys.argv[2:]
runs = {}
for t in targets:
    lines = [json.loads(l) for l in open(f"{out}/{t}.jsonl") if l.strip()]
    runs[t] = {l.get("tag", "target"): l for l in lines}
def get(t, tag, key):
    return runs.get(t, {}).get(tag, {}).get(key)
print(f"{'target':10} {'correct':>8} {'msgs/s':>9} {'p50 us':>8} {'p99 us':>8} {'max us':>8} {'rss MB':>7}")
for t in targets:
    ok = get(t, "throughput", "correct") and get(t, "latency", "correct")
    print(f"{t:10} {str(ok):>8} {get(t,'throughput','msgs_per_s') or 0:>9} {get(t,'latency','p50_us') or 0:>8} "
          f"{get(t,'latency','p99_us') or 0:>8} {get(t,'latency','max_us') or 0:>8} {get(t,'target','target_peak_rss_mb') or '-':>7}")
fig = {}
if "null" in runs and "edgeloop" in runs:
    fig["edgeloop_throughput_vs_broker"] = round(get("edgeloop","throughput","msgs_per_s") / get("null","throughput","msgs_per_s"), 3)
if "null" in runs and "nodered" in runs:
    fig["nodered_throughput_vs_broker"] = round(get("nodered","throughput","msgs_per_s") / get("null","throughput","msgs_per_s"), 3)
if "nodered" in runs and "edgeloop" in runs:
    fig["edgeloop_p99_vs_nodered_p99"] = round(get("edgeloop","latency","p99_us") / get("nodered","latency","p99_us"), 3)
if "edgeloop" in runs:
    fig["edgeloop_correct"] = bool(get("edgeloop","throughput","correct") and get("edgeloop","latency","correct"))
    fig["edgeloop_p99_us"] = get("edgeloop","latency","p99_us")
    fig["edgeloop_peak_rss_mb"] = get("edgeloop","target","target_peak_rss_mb")
print(json.dumps(fig))
PY
exit $status
