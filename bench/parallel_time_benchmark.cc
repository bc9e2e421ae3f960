// sim::ParallelTime on PHOLD (bench/phold.h): events per second with 1 and more threads, with
// two same-run baselines on the same model: every LP on one VirtualExecutor (the sequential
// loop; the window protocol's overhead is threads:1 against it) and one std::priority_queue
// (reference_phold).
//   ./build/release/bench/parallel_time_benchmark
#include <benchmark/benchmark.h>

#include "bench/phold.h"

namespace chakong {
namespace {

phold::Options options(int64_t work) {
  phold::Options o;
  o.lps = 64;
  o.jobs = 32;
  o.hops = 100;
  o.lookahead = 1000;
  o.spread = 1000;
  o.work = static_cast<uint32_t>(work);
  return o;
}
constexpr TimeUs kLimit = INT64_MAX - 1;

void BM_PholdGlobalQueue(benchmark::State& state) {
  const phold::Options o = options(state.range(0));
  uint64_t events = 0;
  for (auto _ : state) {
    phold::Totals t = phold::reference_phold(o, 0, kLimit);
    benchmark::DoNotOptimize(t.checksum);
    events += t.events;
  }
  state.counters["events/s"] =
      benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_PholdGlobalQueue)->Arg(0)->Arg(200)->Unit(benchmark::kMillisecond)->UseRealTime();

// The sequential loop: every LP on one executor.
void BM_PholdOneExecutor(benchmark::State& state) {
  const phold::Options o = options(state.range(0));
  uint64_t events = 0;
  for (auto _ : state) {
    phold::OneExecutor one(0);
    phold::Model<phold::OneExecutor> model(one, o);
    model.start(0);
    one.executor(0).run_until(kLimit);
    benchmark::DoNotOptimize(model.checksum());
    events += model.events();
  }
  state.counters["events/s"] =
      benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_PholdOneExecutor)->Arg(0)->Arg(200)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_PholdParallelTime(benchmark::State& state) {
  const phold::Options o = options(state.range(0));
  const int threads = static_cast<int>(state.range(1));
  uint64_t events = 0, windows = 0, busy = 0;
  for (auto _ : state) {
    auto pt = sim::ParallelTime::create(
                  {.lps = o.lps, .start = 0, .lookahead = o.lookahead, .threads = threads})
                  .value();
    phold::Model<> model(*pt, o);
    model.start(0);
    if (!pt->run_until(kLimit).ok()) state.SkipWithError("run failed");
    benchmark::DoNotOptimize(model.checksum());
    events += model.events();
    windows += pt->stats().windows;
    busy += pt->stats().busy_lps;
  }
  state.counters["events/s"] =
      benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
  state.counters["lps_per_window"] =
      windows == 0 ? 0.0 : static_cast<double>(busy) / static_cast<double>(windows);
}
BENCHMARK(BM_PholdParallelTime)
    ->ArgsProduct({{0, 200}, {1, 2}})
    ->ArgNames({"work", "threads"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace chakong
