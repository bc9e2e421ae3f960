#!/usr/bin/env bash
# Builds release and runs every benchmark, writing Google Benchmark JSON into
# bench/results/<date>/ and printing each figure next to its same-run baseline.
#   ./scripts/bench.sh [--benchmark_min_time=0.5] [--benchmark_filter=...]
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh release >/dev/null
out="bench/results/$(date -u +%Y-%m-%dT%H%M%SZ)"
mkdir -p "$out"
for b in base_benchmark scheduler_benchmark engine_benchmark realtime_benchmark library_benchmark \
         journal_benchmark; do
  echo "== $b" >&2
  "build/release/bench/$b" --benchmark_out="$out/$b.json" --benchmark_out_format=json "$@" >&2
done
python3 scripts/bench_table.py "$out"/*.json
echo "results: $out" >&2
