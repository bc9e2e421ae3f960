// Benchmark sizes for the two ways the benchmarks run: in full by scripts/bench.sh (and by
// hand), and once, briefly, by CI's smoke tests (bench_smoke.* in bench/CMakeLists.txt), which
// set CHAKONG_BENCH_SMOKE=1. A smoke run gives every benchmark function one small instance, so
// that each keeps compiling and running and every smoke test takes well under 10 s on the
// project's 2-core machine; its figures mean nothing.
//
//   BENCHMARK(BM_TimingWheelHold)->Apply(bench::sizes<10'000, 10'000, 1'000'000>);
#ifndef CHAKONG_BENCH_SMOKE_H_
#define CHAKONG_BENCH_SMOKE_H_

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace chakong::bench {

// True when CHAKONG_BENCH_SMOKE is set to anything but "" or "0".
inline bool smoke_run() {
  const char* v = std::getenv("CHAKONG_BENCH_SMOKE");
  return v != nullptr && std::string_view(v) != "" && std::string_view(v) != "0";
}

// `smoke` in a smoke run, else `full`.
inline int64_t smoke_or(int64_t smoke, int64_t full) { return smoke_run() ? smoke : full; }

// For Apply(): the Args kFull..., or kSmoke alone in a smoke run.
template <int64_t kSmoke, int64_t... kFull>
void sizes(benchmark::internal::Benchmark* b) {
  if (smoke_run()) {
    b->Arg(kSmoke);
  } else {
    (b->Arg(kFull), ...);
  }
}

}  // namespace chakong::bench

#endif  // CHAKONG_BENCH_SMOKE_H_
