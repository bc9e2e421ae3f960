#!/usr/bin/env bash
# Builds release and runs every benchmark: Google Benchmark JSON per binary in
# bench/results/<date>/, all of it merged into bench/results/<date>.json, and a table of each
# figure next to its same-run baseline. Then the national scenario's wall time and peak memory
# over one simulated month (DESIGN's "national month" target; ~10 GB of memory here, see
# docs/performance.md; CHAKONG_BENCH_SKIP_NATIONAL=1 skips it).
#   ./scripts/bench.sh [--benchmark_min_time=0.5] [--benchmark_filter=...]
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh release >/dev/null
stamp="$(date -u +%Y-%m-%dT%H%M%SZ)"
out="bench/results/$stamp"
mkdir -p "$out"
for b in base_benchmark scheduler_benchmark engine_benchmark realtime_benchmark library_benchmark \
         journal_benchmark scenario_benchmark; do
  echo "== $b" >&2
  "build/release/bench/$b" --benchmark_out="$out/$b.json" --benchmark_out_format=json "$@" >&2
done
python3 scripts/bench_table.py --merge "bench/results/$stamp.json" "$out"/*_benchmark.json
if [[ "${CHAKONG_BENCH_SKIP_NATIONAL:-0}" != 1 ]]; then
  echo "== national scenario, 30 days (wall time and peak memory)" >&2
  /usr/bin/time -f "national 30 days: wall %e s, peak RSS %M KiB" \
    build/release/apps/chakong/chakong simulate scenarios/national.yaml --days 30 --threads 2 \
    --out "$out/national" >"$out/national.log" 2>"$out/national.time" || true
  tail -1 "$out/national.time"
fi
echo "results: bench/results/$stamp.json (and $out/)" >&2
