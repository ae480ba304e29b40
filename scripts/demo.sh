#!/usr/bin/env bash
# Sets everything up, builds, and runs the demo: the built-in plant simulator through the
# whole loop (readings, a developing fault, an alert, a command), on embedded defaults.
# The dashboard at http://127.0.0.1:8080/ (EDGELOOP_HTTP_PORT or --http-port to change it),
# opened in the browser when there is a display. Stop with Ctrl-C. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh release >/dev/null
port=${EDGELOOP_HTTP_PORT:-8080}
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case ${args[$i]} in
    --http-port) port=${args[$((i + 1))]:-$port} ;;
    --http-port=*) port=${args[$i]#--http-port=} ;;
  esac
done
url="http://127.0.0.1:$port/"
echo "demo: the dashboard is at $url"
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && command -v xdg-open >/dev/null; then
  # Once the server answers (at most ~20 s), in the background: the demo keeps the terminal.
  (for _ in $(seq 200); do
     curl -s -o /dev/null "$url" && { xdg-open "$url" >/dev/null 2>&1 || true; break; }
     sleep 0.1
   done) &
fi
exec build/release/src/app/edgeloop demo "$@"
