#!/usr/bin/env bash
# Outbox recovery: the backlog of an uplink outage (default 600,000 events: 10 min at 1,000
# events/s) drains to NATS JetStream at least 10x faster than it built up, while live events
# keep flowing. Two runs of the real binary on loopback:
#   1. outage: the simulator (10 pumps, one record per 10 ms each) feeds op.health with an
#      insight per record into action.upstream while nothing listens at the NATS URL. The 10
#      minutes of sim time run compressed (FILL_SPEED x real time) to save the wait; the backlog
#      is the same 600,000 events, committed to the outbox (synchronous FULL).
#   2. recovery: nats-server starts (JetStream, file store), edgeloop starts again on the same
#      outbox with the simulator in real time (1,000 live events/s). Timed: until the 600,000
#      old events are confirmed (delivery is oldest first). The live rate is measured meanwhile.
# At the end: the stream holds exactly the outbox's last sequence (none lost, none twice).
#   bench/system/outbox_recovery.sh
#   BACKLOG=60000 bench/system/outbox_recovery.sh       # a quicker run
# EDGELOOP_BIN picks the binary (default: build/release/src/app/edgeloop, built if missing).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${EDGELOOP_BIN:-$root/build/release/src/app/edgeloop}
[ -x "$bin" ] || "$root/scripts/build.sh" release >/dev/null
backlog=${BACKLOG:-600000}
fill_speed=${FILL_SPEED:-40}
work=$(mktemp -d "${TMPDIR:-/tmp}/edgeloop-outbox-recovery-XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
nats_port=$(free_port); mon_port=$(free_port); http_port=$(free_port)
# 10 pumps x 100 records/s of sim time: the backlog is BACKLOG/1000 seconds of sim time.
sim_seconds=$(( backlog / 1000 ))

cat >"$work/edgeloop.yaml" <<EOF
sources:
  plant:
    type: simulator
    pumps: 10
    motors: 0
    interval: 10ms
    speed: \${SIM_SPEED}
    duration: \${SIM_DURATION}
    faults: []
pipelines:
  p:
    from: plant
    steps:
      - health: {field: temperature, emit_every: 0}
actions:
  up:
    on: "*.insight"
    type: upstream
    url: nats://127.0.0.1:$nats_port
    path: $work/outbox.db
    gateway: gw-bench
    max_events: 2000000
    max_bytes: 2GiB
    reconnect_wait: 100ms
http:
  port: $http_port
runtime: {shards: 0, summary_interval: 5s}
EOF
cat >"$work/nats.conf" <<EOF
listen: "127.0.0.1:$nats_port"
http: "127.0.0.1:$mon_port"
jetstream { store_dir: "$work/js" }
EOF

metric() {  # metric NAME{labels} -> value (0 when absent)
  curl -s "http://127.0.0.1:$http_port/metrics" | awk -v k="$1" '$1 == k {print $2; found=1} END {if (!found) print 0}'
}
now() { date +%s.%N; }
last_seq() { sqlite3 "$work/outbox.db" "SELECT value FROM outbox_meta WHERE name='last_seq';"; }
rows() { sqlite3 "$work/outbox.db" "SELECT count(*) FROM outbox;"; }
wait_http() { for _ in $(seq 200); do curl -s "http://127.0.0.1:$http_port/metrics" >/dev/null && return 0; sleep 0.05; done; return 1; }

# 1. The outage: build the backlog.
echo "outbox_recovery: building a backlog of $backlog events (NATS down; sim x$fill_speed)" >&2
t0=$(now)
SIM_SPEED=$fill_speed SIM_DURATION=${sim_seconds}s "$bin" run "$work/edgeloop.yaml" >"$work/fill.log" 2>&1 &
pid=$!; pids+=("$pid")
wait_http
while [ "$(metric 'edgeloop_outbox_accepted_total{outbox="up"}')" != "$backlog" ]; do
  kill -0 "$pid" 2>/dev/null || { echo "edgeloop exited:"; tail -20 "$work/fill.log"; exit 1; } >&2
  sleep 0.2
done
t1=$(now)
queue_full=$(metric 'edgeloop_outbox_dropped_total{outbox="up",reason="queue_full"}')
kill -TERM "$pid"; wait "$pid" || true
built=$(rows)
echo "outbox_recovery: backlog $built events in $(python3 -c "print(round($t1-$t0,1))") s (queue_full drops: $queue_full)" >&2

# 2. Recovery: JetStream up, edgeloop live at 1,000 events/s.
nats-server -c "$work/nats.conf" >"$work/nats.log" 2>&1 &
pids+=("$!")
for _ in $(seq 200); do curl -s "http://127.0.0.1:$mon_port/healthz" | grep -q ok && break; sleep 0.05; done
SIM_SPEED=1 SIM_DURATION=0s "$bin" run "$work/edgeloop.yaml" >"$work/live.log" 2>&1 &
pid=$!; pids+=("$pid")
t2=$(now)
wait_http
r0=$(metric 'edgeloop_pipeline_records_total{pipeline="p"}')
while :; do
  d=$(metric 'edgeloop_outbox_delivered_total{outbox="up"}')
  [ "${d%.*}" -ge "$built" ] && break
  kill -0 "$pid" 2>/dev/null || { echo "edgeloop exited:"; tail -20 "$work/live.log"; exit 1; } >&2
  sleep 0.1
done
t3=$(now)
r1=$(metric 'edgeloop_pipeline_records_total{pipeline="p"}')
sleep 3  # live events go on; then a clean stop
kill -TERM "$pid"; wait "$pid" || true
final_seq=$(last_seq); left=$(rows)
stored=$(curl -s "http://127.0.0.1:$mon_port/jsz?streams=true" |
  python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(s["state"]["messages"] for a in d.get("account_details",[]) for s in a.get("stream_detail",[]) if s["name"]=="EDGELOOP"))')

python3 - "$backlog" "$built" "$t0" "$t1" "$t2" "$t3" "$r0" "$r1" "$final_seq" "$left" "$stored" "$queue_full" <<'PY'
import json, sys
backlog, built, t0, t1, t2, t3, r0, r1, final_seq, left, stored, qf = sys.argv[1:]
built, final_seq, left, stored = int(built), int(final_seq), int(left), int(stored)
drain_s = float(t3) - float(t2)
live = (float(r1) - float(r0)) / drain_s if drain_s > 0 else 0
fig = {
  "backlog_events": built,
  "backlog_fill_s": round(float(t1) - float(t0), 2),
  "backlog_fill_events_per_s": round(built / (float(t1) - float(t0))),
  "drain_s": round(drain_s, 2),
  "drain_events_per_s": round(built / drain_s),
  "build_s_at_1000_per_s": built / 1000,
  "drain_vs_build": round((built / 1000) / drain_s, 1),
  "live_records_per_s_during_drain": round(live),
  "outbox_last_seq": final_seq,
  "stream_messages": stored,
  # Rows still in the outbox at the stop: sent, or about to be, whose PubAck had not come back;
  # the next start re-sends them and JetStream drops the duplicates by message id.
  "left_in_outbox": left,
  # Events in neither the stream nor the outbox: lost.
  "lost": max(0, final_seq - stored - left),
  "queue_full_drops": int(float(qf)),
}
print(json.dumps(fig))
ok = fig["drain_vs_build"] >= 10 and fig["lost"] <= 0 and stored <= final_seq and fig["queue_full_drops"] == 0
sys.exit(0 if ok else 1)
PY
