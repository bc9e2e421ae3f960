#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite with ctest. Exits non-zero on any failure.
#   ./scripts/test.sh [preset] [--tsan]      (default preset: release; try asan or tsan)
#   --tsan  also build the ThreadSanitizer binaries of the concurrency tests in build/tsan
#           (conformance_test, engine_test, parallel_time_test: tsan preset, those targets
#           only) before the suite, which then runs them (*_tsan tests; a missing one fails
#           instead of being skipped). CI (.ci/run) passes it. docs/testing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
preset=release
tsan=0
for arg in "$@"; do
  case "$arg" in
    --tsan) tsan=1 ;;
    debug|release|asan|tsan) preset=$arg ;;
    *) echo "test.sh: unknown argument '$arg' (usage: scripts/test.sh [debug|release|asan|tsan] [--tsan])" >&2
       exit 2 ;;
  esac
done
./scripts/build.sh "$preset"
if [[ $tsan -eq 1 ]]; then
  ./scripts/build.sh tsan --target conformance_test engine_test parallel_time_test
  export CHAKONG_REQUIRE_TSAN=1
fi
if [[ $preset == tsan ]]; then
  # Third-party reports only (tests/sanitizers/tsan.supp); the test preset sets the same.
  export TSAN_OPTIONS="suppressions=$PWD/tests/sanitizers/tsan.supp${TSAN_OPTIONS:+ $TSAN_OPTIONS}"
fi
if [[ $preset == asan ]]; then
  # Third-party leaks only (tests/sanitizers/lsan.supp); the test preset sets the same.
  export LSAN_OPTIONS="suppressions=$PWD/tests/sanitizers/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
fi
jobs=${CHAKONG_JOBS:-$(nproc 2>/dev/null || echo 2)}
ctest --preset "$preset" -j"$jobs"
