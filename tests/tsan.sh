#!/usr/bin/env bash
# One test binary of the ThreadSanitizer build (build/tsan) run from the release suite's ctest,
# with a GoogleTest filter: the concurrency tests (docs/testing.md). halt_on_error: the first
# report fails the test. Without build/tsan/tests/BINARY the test is skipped (exit 77) and says
# how to build it, unless CHAKONG_REQUIRE_TSAN=1 (`scripts/test.sh --tsan`, as CI runs it),
# which builds it first and makes its absence a failure. A build/tsan older than the sources
# tests the older code: `scripts/test.sh --tsan` builds it again.
#   tsan.sh SOURCE_DIR BINARY FILTER
set -euo pipefail
src=$1
binary=$2
filter=$3
bin="$src/build/tsan/tests/$binary"
if [[ ! -x $bin ]]; then
  if [[ ${CHAKONG_REQUIRE_TSAN:-0} == 1 ]]; then
    echo "no ThreadSanitizer build of $binary ($bin) though CHAKONG_REQUIRE_TSAN=1" >&2
    exit 1
  fi
  echo "skipped: no ThreadSanitizer build ($bin); build it and run the suite with:"
  echo "  ./scripts/test.sh --tsan"
  exit 77
fi
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$src/tests/sanitizers/tsan.supp ${TSAN_OPTIONS:-}" \
  exec "$bin" --gtest_filter="$filter"
