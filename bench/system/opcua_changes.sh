#!/usr/bin/env bash
# OPC UA value changes/s received by source.opcua from the local node-opcua peer.
# Usage: bench/system/opcua_changes.sh BUILD_DIR [ITEMS=100] [CHANGE_MS=10] [SECONDS=10]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${1:?build dir}"; items="${2:-100}"; change_ms="${3:-10}"; secs="${4:-10}"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log=$(mktemp)
(cd "$root/tests/peers" && exec node opcua/server.js "$port" "$items" "$change_ms") >"$log" 2>&1 &
peer=$!
trap 'kill $peer 2>/dev/null; wait $peer 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 100); do grep -q READY "$log" && break; sleep 0.1; done
grep -q READY "$log" || { echo "peer did not start:"; cat "$log"; exit 1; }
"$build/tests/connectors/opcua/opcua_rate" "opc.tcp://127.0.0.1:$port/edgeloop" "$items" "$secs" "$change_ms" 50
