#!/usr/bin/env bash
# Visual inspection at line speed, whole process: edgeloop runs examples/inspection.yaml (a
# watched folder -> model.onnx -> op.inspect -> MQTT reject commands to a real mosquitto), and
# magnetic tile images from ../shared/data are handed into the folder (written beside it, then
# renamed in, as a camera should), or, with INSPECTION_MODE=http, POSTed to source.images' HTTP
# server by a loader (one keep-alive connection). Two phases:
#   paced: INSPECTION_RATE images/s (default 50, the line speed the issue asks for), for the
#          latency from an image's arrival to its decision and to its reject command's hand-off;
#   burst: every image at once, for the most images/s the machine sustains end to end.
# Figures come from edgeloop's own /metrics (counters and histograms, deltas per phase; the
# exported histogram buckets are powers of two, so those quantiles are upper bounds), and, exact,
# from the reject commands themselves (their receipt time at an MQTT subscriber, and the
# latency_ms they carry).
#   bench/system/inspection.sh
#   INSPECTION_IMAGES=2000 INSPECTION_RATE=80 bench/system/inspection.sh
#   INSPECTION_MODE=http bench/system/inspection.sh
# INSPECTION_MODEL / INSPECTION_SIDECAR: the classifier (default models/magnetic_tile_cnn.*);
# INSPECTION_THREADS: the model's inference threads (the example's default: 2);
# EDGELOOP_BIN: the binary (default build/release/src/app/edgeloop, built when missing).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
data=${INSPECTION_DATA:-$root/../shared/data/magnetic_tile}
bin=${EDGELOOP_BIN:-$root/build/release/src/app/edgeloop}
[ -x "$bin" ] || "$root/scripts/build.sh" release >/dev/null
export INSPECTION_MODEL=${INSPECTION_MODEL:-$root/models/magnetic_tile_cnn.onnx}
export INSPECTION_SIDECAR=${INSPECTION_SIDECAR:-${INSPECTION_MODEL%.onnx}.json}
[ -f "$INSPECTION_MODEL" ] || { echo "inspection.sh: no model $INSPECTION_MODEL (set INSPECTION_MODEL)" >&2; exit 2; }
[ -d "$data" ] || { echo "inspection.sh: no data at $data (set INSPECTION_DATA)" >&2; exit 2; }
n=${INSPECTION_IMAGES:-1000}
rate=${INSPECTION_RATE:-50}
mode=${INSPECTION_MODE:-folder}

work=$(mktemp -d /tmp/edgeloop-inspection-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

mqtt_port=$(free_port)
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 0\nset_tcp_nodelay true\n' \
  "$mqtt_port" >"$work/mosquitto.conf"
/usr/sbin/mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
pids+=($!)

# The images, numbered, on the same file system as the watched folder (a rename hands one over).
mkdir -p "$work/stage" "$work/in"
mapfile -t files < <(find "$data" -path '*/Imgs/*.jpg' | sort)
[ "${#files[@]}" -gt 0 ] || { echo "inspection.sh: no images under $data" >&2; exit 2; }
for ((i = 0; i < 2 * n; i++)); do cp "${files[$((i % ${#files[@]}))]}" "$work/stage/$(printf 'img_%06d.jpg' "$i")"; done

http_port=$(free_port)
image_port=$(free_port)
INSPECTION_MODE=$mode INSPECTION_PORT=$image_port \
INSPECTION_DIR=$work/in MQTT_PORT=$mqtt_port EDGELOOP_HTTP_PORT=$http_port \
  EDGELOOP_DEAD_LETTERS=$work/dead.jsonl "$bin" run "$root/examples/inspection.yaml" >"$work/edgeloop.log" 2>&1 &
pids+=($!)
metrics() { curl -sf "http://127.0.0.1:$http_port/metrics"; }
for _ in $(seq 100); do metrics >/dev/null 2>&1 && break; sleep 0.1; done
metrics >"$work/m0.txt" || { echo "inspection.sh: edgeloop did not start:" >&2; cat "$work/edgeloop.log" >&2; exit 1; }
# A reader of the reject commands, as the line's PLC would be.
mosquitto_sub -h 127.0.0.1 -p "$mqtt_port" -t line1/reject/cmd -q 1 -F '%U %p' >"$work/rejects.txt" &
pids+=($!)

inspected() { metrics | awk '/^edgeloop_inspection_images_total/ {s += $2} END {print s + 0}'; }
wait_for() {  # until `inspected` reaches $1 (at most 120 s)
  for _ in $(seq 1200); do [ "$(inspected)" -ge "$1" ] && return 0; sleep 0.1; done
  echo "inspection.sh: only $(inspected) of $1 images inspected" >&2; return 1
}

# Hands images [first, last) over at `rate` per second (0: at once): renamed into the folder,
# or POSTed; writes "index unix_ns" per image to sent.txt (appending).
cat >"$work/feed.py" <<'PY'
import http.client, os, sys, time
work, mode, port, first, last, rate = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
conn = http.client.HTTPConnection("127.0.0.1", port) if mode == "http" else None
t0 = time.monotonic()
with open(f"{work}/sent.txt", "a") as sent:
    for i in range(first, last):
        if rate > 0:
            delay = t0 + (i - first) / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        name = f"img_{i:06d}.jpg"
        if conn:
            body = open(f"{work}/stage/{name}", "rb").read()
            t = time.time_ns()
            conn.request("POST", "/images/line1/camera1", body, {"Content-Type": "image/jpeg"})
            r = conn.getresponse()
            r.read()
            if r.status != 200:
                sys.exit(f"feed: {name}: HTTP {r.status}")
        else:
            os.rename(f"{work}/stage/{name}", f"{work}/in/{name}")
            t = time.time_ns()
        sent.write(f"{i} {t}\n")
PY
echo "inspection.sh: $mode, paced, $n images at $rate/s" >&2
python3 "$work/feed.py" "$work" "$mode" "$image_port" 0 "$n" "$rate"
wait_for "$n"
metrics >"$work/m1.txt"

echo "inspection.sh: $mode, burst, $n images at once" >&2
t0=$(date +%s.%N)
python3 "$work/feed.py" "$work" "$mode" "$image_port" "$n" $((2 * n)) 0
wait_for $((2 * n))
t1=$(date +%s.%N)
metrics >"$work/m2.txt"
sleep 0.5

python3 - "$work" "$n" "$rate" "$t0" "$t1" "$INSPECTION_MODEL" "$mode" <<'PY'
import json, os, re, sys
work, n, rate, t0, t1, model, mode = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), sys.argv[6], sys.argv[7]
def load(path):
    m = {}
    for line in open(path):
        if line.startswith("#") or not line.strip():
            continue
        k, v = line.rsplit(" ", 1)
        m[k] = float(v)
    return m
m0, m1, m2 = (load(f"{work}/m{i}.txt") for i in range(3))
def hist(a, b, name, label):
    """Quantiles of a histogram's delta between two scrapes (bucket upper bounds, ms)."""
    buckets = []
    for k, v in b.items():
        if k.startswith(name + "_bucket{") and label in k:
            le = re.search(r'le="([^"]+)"', k).group(1)
            buckets.append((float("inf") if le == "+Inf" else float(le), v - a.get(k, 0)))
    buckets.sort()
    total = buckets[-1][1] if buckets else 0
    def q(p):
        for le, c in buckets:
            if c >= p * total and total > 0:
                return round(le * 1000, 3)
        return None
    return {"count": int(total), "p50_ms": q(0.5), "p99_ms": q(0.99)}
def counter(a, b, prefix):
    return int(sum(v - a.get(k, 0) for k, v in b.items() if k.startswith(prefix)))
pl = 'pipeline="inspection"'
sent = dict(tuple(map(int, l.split())) for l in open(f"{work}/sent.txt"))
rejects = [l.split(" ", 1) for l in open(f"{work}/rejects.txt") if l.strip()]
e2e, decided = [], []
for t, payload in rejects:
    p = json.loads(payload)
    i = int(p["image"]) - 1  # the source numbers images in the order they were handed over
    if i in sent and i < n:  # the paced phase
        e2e.append((float(t) * 1e9 - sent[i]) / 1e6)
        decided.append(float(p["latency_ms"]))
def quantiles(v):
    if not v:
        return None
    v = sorted(v)
    at = lambda q: round(v[min(len(v) - 1, int(q * len(v)))], 2)
    return {"count": len(v), "p50": at(0.5), "p99": at(0.99), "max": round(v[-1], 2)}
out = {
    "model": model,
    "threads": int(os.environ.get("INSPECTION_THREADS", "2")),
    "mode": mode,
    "images": n,
    "paced_rate_per_s": rate,
    "paced_decision_latency": hist(m0, m1, "edgeloop_inspection_latency_seconds", pl),
    "paced_reject_command_latency": hist(m0, m1, "edgeloop_event_latency_seconds", pl),
    "paced_late_40ms": counter(m0, m1, "edgeloop_inspection_late_total"),
    "burst_images_per_s": round(n / (t1 - t0), 1),
    "burst_decision_latency": hist(m1, m2, "edgeloop_inspection_latency_seconds", pl),
    "decode_latency": hist(m0, m2, "edgeloop_image_decode_seconds", 'source="camera"'),
    "rejects_total": counter(m0, m2, 'edgeloop_inspection_images_total{pipeline="inspection",result="fail"}'),
    "reject_messages_received": len(rejects),
    # Exact, per reject command of the paced phase: the hand-over of the image (rename, or the
    # request sent) to the command's arrival at the line's MQTT subscriber, and edgeloop's own
    # arrival -> decision.
    "paced_handover_to_reject_received_ms": quantiles(e2e),
    "paced_arrival_to_decision_ms_from_payloads": quantiles(decided),
    "dead_letters": counter(m0, m2, "edgeloop_source_errors_total"),
}
print(json.dumps(out))
PY
