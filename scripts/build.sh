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
# CMakeCache.txt is written before build.ninja), or when CMakePresets.json changed since (its
# flags reach the cache only through a configure; ninja re-runs cmake for CMakeLists only).
if [[ ! -f build/$preset/CMakeCache.txt || ! -f build/$preset/build.ninja ||
      CMakePresets.json -nt build/$preset/CMakeCache.txt ]]; then
  cmake --preset "$preset" >/dev/null
fi
echo "build: preset $preset, -j$jobs" >&2
cmake --build --preset "$preset" -j"$jobs" "$@"
