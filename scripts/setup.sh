#!/usr/bin/env bash
# Installs every Debian package Chakong needs to build, test and benchmark.
# Idempotent: installs only what is missing and says nothing when all is present.
# Runs apt-get through sudo when not root.
#   --bench  also install what the peer baseline needs (bench/peers/compare.sh): SimPy 3
#            (python3-simpy3) and GNU time (/usr/bin/time -v).
set -euo pipefail

bench=0
for arg in "$@"; do
  case "$arg" in
    --bench) bench=1 ;;
    -h|--help) echo "usage: scripts/setup.sh [--bench]"; exit 0 ;;
    *) echo "setup.sh: unknown argument '$arg' (usage: scripts/setup.sh [--bench])" >&2; exit 2 ;;
  esac
done

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libboost-dev libtbb-dev
  libprotobuf-dev protobuf-compiler
  libbenchmark-dev libgtest-dev libgmock-dev
  libyaml-cpp-dev libcli11-dev libfmt-dev nlohmann-json3-dev
  librocksdb-dev libssl-dev libjemalloc-dev
  libopenmpi-dev openmpi-bin
  libgrpc++-dev protobuf-compiler-grpc openssl
  libjs-chart.js chromium
  clang-format python3
  libspdlog-dev python3-grpcio python3-protobuf
)
# Opt-in (--bench): the SimPy peer baseline, bench/peers/.
bench_packages=(python3-simpy3 time)
if [[ $bench -eq 1 ]]; then packages+=("${bench_packages[@]}"); fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 || {
    echo "setup.sh: need root or sudo to install: ${missing[*]}" >&2
    exit 1
  }
  sudo_cmd=(sudo)
fi

echo "setup.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup.sh: done" >&2
