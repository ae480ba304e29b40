#!/usr/bin/env bash
# Sets everything up, builds, and runs the demo: the built-in plant simulator through the
# whole loop (readings, a developing fault, an alert, a command), on embedded defaults.
# Metrics at http://127.0.0.1:8080/metrics. Stop with Ctrl-C. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh release >/dev/null
exec build/release/src/app/edgeloop demo "$@"
