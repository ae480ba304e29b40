#!/usr/bin/env bash
# Installs everything edgeloop needs to build, run and test on Debian 12. Idempotent.
set -euo pipefail
pkgs=(
  build-essential cmake ninja-build pkg-config git clang lld libclang-rt-14-dev ccache
  libgtest-dev libgmock-dev libbenchmark-dev
  libmosquitto-dev mosquitto mosquitto-clients
  libsimdjson-dev nlohmann-json3-dev libyaml-cpp-dev libcli11-dev
  libspdlog-dev libfmt-dev libcpp-httplib-dev libssl-dev libsqlite3-dev sqlite3 zlib1g-dev
  libnats-dev nats-server libmodbus-dev libprotobuf-dev protobuf-compiler
  python3 python3-numpy python3-scipy libfftw3-dev curl procps
  libopencv-dnn-dev libopencv-imgcodecs-dev libopencv-imgproc-dev libdnnl-dev libonnx-dev libxgboost-dev
  chromium fonts-liberation fonts-dejavu-core
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# mosquitto's package starts a system broker on :1883; edgeloop's tests start their own
# brokers on free ports and need nothing else running.

# The independent protocol peers the integration tests run (npm, pinned by package-lock.json):
# Node.js from Debian when the machine has none.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends nodejs npm
fi
root="$(cd "$(dirname "$0")/.." && pwd)"
# Also the dashboard's uPlot (web/, embedded into the binary at build time) and the
# dashboard tests' playwright-core (tests/web/, driving Debian's chromium: no browser download).
for dir in tests/peers web tests/web; do
  if [ ! -f "$root/$dir/node_modules/.package-lock.json" ] ||
     [ "$root/$dir/package-lock.json" -nt "$root/$dir/node_modules/.package-lock.json" ]; then
    (cd "$root/$dir" && npm ci --no-audit --no-fund --omit=optional --loglevel=error)
  fi
done
