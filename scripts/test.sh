#!/usr/bin/env bash
# Sets everything up and runs the whole test suite: unit and integration tests (real
# mosquitto on loopback), the fuzz corpora, then the same under ASan/UBSan, the threaded
# tests under TSan, and a short libFuzzer run per target. Idempotent.
#   EDGELOOP_QUICK=1 scripts/test.sh   # release build and tests only
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH=$PATH:/usr/sbin   # mosquitto
step() { printf '\n=== %s ===\n' "$*"; }

step "release build"
scripts/build.sh release
step "tests (release)"
ctest --test-dir build/release --output-on-failure --timeout 300 -j 2

if [ "${EDGELOOP_QUICK:-0}" != 1 ]; then
  step "ASan + UBSan build"
  scripts/build.sh asan
  step "tests (ASan + UBSan)"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build/asan --output-on-failure --timeout 600 -j 2
  step "TSan build (the threaded and integration tests)"
  scripts/build.sh tsan edgeloop_threaded_tests
  step "threaded tests (TSan)"
  # OpenMP (oneDNN, XGBoost) is not instrumented: one OpenMP thread, so TSan sees no pool it cannot follow.
  OMP_NUM_THREADS=1 TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp" \
    ctest --test-dir build/tsan --output-on-failure --timeout 600 -L 'threaded|integration' -j 1
  step "fuzz (short run per target)"
  scripts/fuzz.sh "${EDGELOOP_FUZZ_SECONDS:-30}"
fi
step "all tests passed"
