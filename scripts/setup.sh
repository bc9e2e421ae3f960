#!/usr/bin/env bash
# Installs every Debian package Chakong needs to build, test and benchmark.
# Idempotent: installs only what is missing and says nothing when all is present.
# Runs apt-get through sudo when not root.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libboost-dev libtbb-dev
  libprotobuf-dev protobuf-compiler
  libbenchmark-dev libgtest-dev libgmock-dev
  libyaml-cpp-dev libcli11-dev libfmt-dev libspdlog-dev
  librocksdb-dev libssl-dev libjemalloc-dev
  libjs-chart.js
  clang-format python3
)

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
