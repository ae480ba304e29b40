#!/usr/bin/env bash
# Runs every libFuzzer target for N seconds (default 30) on a copy of its corpus. A crash
# input is kept in build/fuzz/crashes/ and fails the run: add it to fuzz/corpus/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
scripts/build.sh fuzz >/dev/null
mkdir -p build/fuzz/crashes
status=0
for fuzzer in build/fuzz/fuzz/*_fuzzer; do
  [ -x "$fuzzer" ] || continue
  name=$(basename "$fuzzer" _fuzzer)
  work=build/fuzz/work/$name
  rm -rf "$work"; mkdir -p "$work"
  cp fuzz/corpus/"$name"/* "$work"/ 2>/dev/null || true
  echo "fuzz: $name for ${seconds}s"
  if ! "$fuzzer" "$work" -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix=build/fuzz/crashes/"$name"- -print_final_stats=1 >"build/fuzz/$name.log" 2>&1; then
    echo "fuzz: $name FAILED; log tail:"; tail -30 "build/fuzz/$name.log"; status=1
  else
    grep -E 'stat::number_of_executed_units' "build/fuzz/$name.log" || true
  fi
done
exit $status
