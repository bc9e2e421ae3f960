#!/usr/bin/env bash
# The kit's concurrent_submit_from_threads check for every built-in adapter, under
# ThreadSanitizer: runs the tsan preset's connectors_test (build/tsan) when there is one.
# ctest's CI run cannot build that preset within its budget, so without it this test is
# skipped (exit 77) and says how to run it by hand. A build/tsan older than the sources tests
# the older code: build it again first.
#   tsan_concurrent.sh SOURCE_DIR
set -euo pipefail
src=$1
bin="$src/build/tsan/tests/connectors_test"
if [[ ! -x $bin ]]; then
  echo "skipped: no ThreadSanitizer build ($bin); run by hand:"
  echo "  ./scripts/build.sh tsan && ctest --preset tsan -R concurrent_submit_from_threads"
  exit 77
fi
TSAN_OPTIONS="halt_on_error=1 ${TSAN_OPTIONS:-}" "$bin" \
  --gtest_filter='AllConnectors/ConformanceTest.Passes/*concurrent_submit_from_threads*'
