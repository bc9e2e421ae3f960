#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite with ctest. Exits non-zero on any failure.
#   ./scripts/test.sh [preset]      (default: release; try asan or tsan)
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-release}
./scripts/build.sh "$preset"
jobs=${CHAKONG_JOBS:-$(nproc 2>/dev/null || echo 2)}
ctest --preset "$preset" -j"$jobs"
