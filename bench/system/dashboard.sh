#!/usr/bin/env bash
# The dashboard's figures (issue 7): first paint on loopback (< 1 s), the loop's throughput
# with 10 open dashboard pages vs none on 1,000 simulated assets (< 5 % drop), and a click's
# time to change the view while they are open (dashboard.mjs says how). Needs a release
# build and scripts/setup.sh (node, tests/web/node_modules, chromium).
#   bench/system/dashboard.sh
#   DASH_PAGES=10 DASH_ASSETS=1000 DASH_PHASE_S=8 DASH_LOADS=5 DASH_PIN=1 DASH_VIEWS=mixed bench/system/dashboard.sh
# DASH_VIEWS: mixed (half the pages on the overview, half on an asset), overview or asset.
# DASH_PIN=1 (default on 2+ cores): edgeloop on CPU 0, Chromium and node on the others.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export EDGELOOP_BIN=${EDGELOOP_BIN:-$root/build/release/src/app/edgeloop}
[ -x "$EDGELOOP_BIN" ] || "$root/scripts/build.sh" release >/dev/null
cpus=$(nproc)
if [ "${DASH_PIN:-1}" != 0 ] && [ "$cpus" -ge 2 ] && command -v taskset >/dev/null; then
  exec taskset -c "1-$((cpus - 1))" node "$here/dashboard.mjs"
fi
DASH_PIN=0 exec node "$here/dashboard.mjs"
