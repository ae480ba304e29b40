#!/usr/bin/env bash
# Times every example model (models/*.onnx, tests/models/data/*.onnx) on edgeloop's backends and
# on onnxruntime-node (intra/inter-op threads 1), the same random inputs, outputs compared to 1e-4.
#   bench/models/compare.sh [--batches 1,8] [--min-ms 700] [--repeats 3] [--json FILE] [MODEL.onnx...]
# Env: BUILD_DIR (default build-bench-models; configured with EDGELOOP_BENCH=ON if missing).
# Writes the table to stdout and JSON to bench/models/results.json unless --json says otherwise.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${BUILD_DIR:-$root/build-bench-models}"

if [[ ! -d "$here/node_modules/onnxruntime-node" ]]; then
  # The package's install script fetches optional CUDA binaries; the CPU ones are bundled.
  (cd "$here" && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund >&2)
fi
if [[ ! -f "$build/build.ninja" ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DEDGELOOP_BENCH=ON -DEDGELOOP_TESTS=OFF >&2
fi
ninja -C "$build" bench_models >&2

args=() models=() json="$here/results.json"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --batches|--min-ms|--repeats) args+=("$1" "$2"); shift 2 ;;
    --json) json="$2"; shift 2 ;;
    *) models+=("$1"); shift ;;
  esac
done
if [[ ${#models[@]} -eq 0 ]]; then
  shopt -s nullglob
  models=("$root"/models/*.onnx "$root"/tests/models/data/*.onnx)
fi
# One thread for oneDNN's OpenMP too, whatever the caller's environment says.
export OMP_NUM_THREADS=1
exec node "$here/compare.js" --bin "$build/bench/models/bench_models" --json "$json" "${args[@]}" "${models[@]}"
