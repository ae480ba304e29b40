#!/usr/bin/env bash
# V1 (WORKLOADS.md) in one run: the shared harness (../shared/bench/v1/run.sh: the numpy/scipy
# peer, the FFTW-alone limit, the agreement of its own C reference) and then edgeloop's V1 run
# (bench/micro/dsp_bench v1: the same signal, the same 13 features with op.features' code, on
# one pinned core, CPU time), its agreement with reference.json (compare.py), and the ratios.
#   bench/system/v1.sh                  # ~20 s after the build
#   V1_CHANNELS=8 V1_SECONDS=10 bench/system/v1.sh
# Settings pass through to both: V1_CHANNELS (64), V1_SECONDS (60), V1_CPU (first allowed core).
# EDGELOOP_SHARED: the shared folder (default: ../shared beside the repository).
# Exit status: 0 when edgeloop and the peer agree with the reference, 1 when one does not,
# 2 when the harness or the build failed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
shared=${EDGELOOP_SHARED:-$root/../shared}
harness=$shared/bench/v1/run.sh
[ -f "$harness" ] || { echo "v1.sh: no harness at $harness (set EDGELOOP_SHARED)" >&2; exit 2; }
build=${V1_BUILD:-$root/build/release}
if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEDGELOOP_BENCH=ON >/dev/null || exit 2
fi
ninja -C "$build" dsp_bench >/dev/null || { echo "v1.sh: building dsp_bench failed" >&2; exit 2; }
bench=$build/bench/micro/dsp_bench
out=${V1_OUT:-$root/build/bench-v1}
mkdir -p "$out"

channels=${V1_CHANNELS:-64}
seconds=${V1_SECONDS:-60}
cpu=()
[ -n "${V1_CPU:-}" ] && cpu=(--cpu "$V1_CPU")
status=0
echo "v1.sh: the shared harness (peer, FFTW limit, reference)" >&2
bash "$harness" >"$out/harness.jsonl" || status=$?
[ "$status" -le 1 ] || { echo "v1.sh: the harness failed ($status)" >&2; exit 2; }
echo "v1.sh: edgeloop, $channels channels x $seconds s" >&2
"$bench" v1 --channels "$channels" --seconds "$seconds" "${cpu[@]}" --out "$out/edgeloop_features.json" \
  >"$out/edgeloop.json" || exit 2
python3 "$shared/bench/v1/compare.py" "$shared/bench/v1/reference.json" "$out/edgeloop_features.json" \
  >"$out/edgeloop_agreement.json" || status=1

python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
lines = [json.loads(l) for l in open(f"{out}/harness.jsonl") if l.strip()]
peer = next(l for l in lines if l.get("peer"))
limit = next(l for l in lines if l.get("limit"))
ref_c = next((l for l in lines if "agrees" in l), {})
ours = json.load(open(f"{out}/edgeloop.json"))
agree = json.load(open(f"{out}/edgeloop_agreement.json"))
e = ours["samples_per_s_per_core"]
p = peer["samples_per_s_per_core"]
f = limit["samples_per_s_per_core_at_hop_2048"]
print(f"{'V1, one core':34} {'samples/s':>14} {'us/window':>10} {'agrees':>7}", file=sys.stderr)
print(f"{'numpy/scipy peer':34} {p:>14,.0f} {2048e6 / p:>10.2f} {str(peer.get('agrees_with_reference')):>7}", file=sys.stderr)
print(f"{'FFTW r2c alone (the limit)':34} {f:>14,.0f} {2048e6 / f:>10.2f} {'-':>7}", file=sys.stderr)
print(f"{'edgeloop op.features':34} {e:>14,.0f} {ours['us_per_window']:>10.2f} {str(agree['agrees']):>7}", file=sys.stderr)
print(json.dumps({
    "edgeloop_samples_per_s_per_core": e,
    "numpy_samples_per_s_per_core": p,
    "fftw_limit_samples_per_s_per_core": f,
    "edgeloop_over_numpy": round(e / p, 2),
    "edgeloop_over_fftw_limit": round(e / f, 3),
    "fftw_limit_over_numpy": round(f / p, 1),
    "edgeloop_agrees": agree["agrees"],
    "edgeloop_max_rel_diff": agree["max_rel_diff"],
    "peer_agrees": peer.get("agrees_with_reference"),
    "reference_c_agrees": ref_c.get("agrees"),
}))
PY
exit $status
