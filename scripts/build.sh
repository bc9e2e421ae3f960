#!/usr/bin/env bash
# Sets up dependencies, configures and builds one CMake preset (default: release).
#   ./scripts/build.sh [debug|release|asan|tsan] [extra cmake --build args]
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-release}
shift || true

./scripts/setup.sh
jobs=${CHAKONG_JOBS:-$(nproc 2>/dev/null || echo 2)}
if [[ ! -f build/$preset/CMakeCache.txt ]]; then
  cmake --preset "$preset" >/dev/null
fi
echo "build: preset $preset, -j$jobs" >&2
cmake --build --preset "$preset" -j"$jobs" "$@"
