#!/usr/bin/env bash
# Sets up dependencies, configures and builds one CMake preset (default: release).
#   ./scripts/build.sh [debug|release|asan|tsan] [extra cmake --build args]
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-release}
shift || true

./scripts/setup.sh
jobs=${CHAKONG_JOBS:-$(nproc 2>/dev/null || echo 2)}
# Configure when there is no build system yet (also after a configure that failed half-way:
# CMakeCache.txt is written before build.ninja).
if [[ ! -f build/$preset/CMakeCache.txt || ! -f build/$preset/build.ninja ]]; then
  cmake --preset "$preset" >/dev/null
fi
echo "build: preset $preset, -j$jobs" >&2
cmake --build --preset "$preset" -j"$jobs" "$@"
