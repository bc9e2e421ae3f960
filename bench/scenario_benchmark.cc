// Macro benchmark: connector requests per second end to end in virtual time (engine, adapters
// over their wire protocols, simulated institutions and their behaviours), on
// a slice of a real scenario: `district` (30 days, and its whole year) and `city` (3 days of
// 600,000 debtors and 304 institutions). The figure is requests answered per wall second of the
// event loop; the population set-up is timed apart with the first simulated day (1 January, a
// holiday with few cases) in `setup_s`. `threads` generate the population and step the
// logical processes (engine shards, institutions) in parallel windows: compare Arg(1) and
// Arg(2) of the same run; `protocol_share` (one thread) is the window protocol's share of the
// event loop. The same-run baseline of the loop itself is the empty event loop: a virtual
// executor whose events do nothing but schedule the next one. A smoke run (smoke.h) runs 3 days of
// each, the city at a hundredth of its population, cases and library, and the baseline with 10,000
// pending events.
//
// Heap allocations (bench/alloc_counter.cc, every thread): `allocs_per_request` and
// `bytes_per_request` count everything run_simulation() does (institutions, population,
// engine, the event loop, the report) over the requests answered; `loop_allocs_per_request`
// and `loop_bytes_per_request` only what follows the set-up and first day (from the first
// progress report on: the event loop and the report), over the same requests.
#include <benchmark/benchmark.h>

#include <algorithm>

#include "alloc_counter.h"
#include "chakong/base/virtual_executor.h"
#include "chakong/sim/scenario.h"
#include "chakong/sim/simulation.h"
#include "smoke.h"

namespace chakong {
namespace {

void run_scenario(benchmark::State& state, const char* name, int days, int smoke_divisor = 1) {
  bench::require_alloc_counting();
  const int threads = static_cast<int>(state.range(0));
  StatusOr<v1::Scenario> scenario =
      sim::load_scenario_file(std::string(CHAKONG_SOURCE_DIR) + "/scenarios/" + name + ".yaml");
  if (!scenario.ok()) {
    state.SkipWithError(scenario.status().to_string().c_str());
    return;
  }
  StatusOr<sim::SimulationConfig> config = sim::compile_scenario(*scenario, name);
  if (!config.ok()) {
    state.SkipWithError(config.status().to_string().c_str());
    return;
  }
  config->days = days;
  if (bench::smoke_run()) {
    config->days = std::min(days, 3);
    config->debtors /= smoke_divisor;
    config->cases_per_year /= smoke_divisor;
    config->library_cases /= smoke_divisor;
  }
  uint64_t requests = 0, events = 0;
  double loop_seconds = 0, setup_seconds = 0, wall = 0;
  uint64_t peak = 0;
  uint64_t windows = 0;
  double per_window = 0, busy_lps = 0, wait_share = 0, protocol_seconds = 0, event_loop_seconds = 0;
  double busiest = 0, parallelism = 0, step_seconds = 0, day_seconds = 0;
  uint64_t allocs = 0, bytes = 0, loop_allocs = 0, loop_bytes = 0;
  for (auto _ : state) {
    sim::SimulationOptions options;
    options.threads = threads;
    double first_day_wall = -1;
    bench::AllocCounter loop_count;
    options.on_progress = [&](const sim::Progress& p) {
      if (first_day_wall < 0) {
        first_day_wall = p.wall_seconds;
        loop_count.reset();
      }
    };
    bench::AllocCounter count;
    StatusOr<sim::SimulationReport> r = sim::run_simulation(*config, options);
    allocs += count.allocations();
    bytes += count.bytes();
    loop_allocs += loop_count.allocations();
    loop_bytes += loop_count.bytes();
    if (!r.ok()) {
      state.SkipWithError(r.status().to_string().c_str());
      return;
    }
    for (const sim::ConnectorReport& c : r->connectors) requests += c.requests;
    events += r->events;
    wall += r->wall_seconds;
    setup_seconds += std::max(0.0, first_day_wall);
    loop_seconds += r->wall_seconds - std::max(0.0, first_day_wall);
    peak = std::max(peak, r->peak_rss_bytes);
    windows += r->windows;
    per_window += r->events_per_window;
    busy_lps += r->busy_lps_per_window;
    wait_share += r->barrier_wait_share;
    busiest += r->busiest_lp_share;
    parallelism += r->window_parallelism;
    // One thread: what the event loop spent outside the LPs' events and the days' checks.
    protocol_seconds += std::max(0.0, r->loop_seconds - r->step_seconds - r->day_seconds);
    event_loop_seconds += r->loop_seconds;
    step_seconds += r->step_seconds;
    day_seconds += r->day_seconds;
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["requests_per_s"] =
      loop_seconds > 0 ? static_cast<double>(requests) / loop_seconds : 0;
  state.counters["events_per_s"] =
      loop_seconds > 0 ? static_cast<double>(events) / loop_seconds : 0;
  state.counters["requests"] = static_cast<double>(requests) / n;
  state.counters["setup_s"] = setup_seconds / n;
  state.counters["wall_s"] = wall / n;
  state.counters["peak_rss_mb"] = static_cast<double>(peak) / (1 << 20);
  // Parallel virtual time: windows, their mean events, the workers' share waiting at the
  // barriers, and (meaningful on one thread) the share of the event loop's wall time spent in
  // the window protocol rather than in events or the days' own work.
  state.counters["windows"] = static_cast<double>(windows) / n;
  state.counters["events_per_window"] = per_window / n;
  state.counters["busy_lps_per_window"] = busy_lps / n;
  state.counters["barrier_wait_share"] = wait_share / n;
  // The busiest LP's share of the events' time: the speed-up is at most 1 / this.
  state.counters["busiest_lp_share"] = busiest / n;
  // The LPs' event time over the windows' critical path: the speed-up's ceiling.
  state.counters["window_parallelism"] = parallelism / n;
  // Where the event loop's wall time goes: the LPs' events (summed over LPs: on two threads
  // it may exceed the loop's time) and the days' own work between windows, which no second
  // thread shares.
  state.counters["step_share"] = event_loop_seconds > 0 ? step_seconds / event_loop_seconds : 0;
  state.counters["day_share"] = event_loop_seconds > 0 ? day_seconds / event_loop_seconds : 0;
  if (threads == 1) {
    state.counters["protocol_share"] =
        event_loop_seconds > 0 ? protocol_seconds / event_loop_seconds : 0;
  }
  bench::report_allocs(state, allocs, bytes, static_cast<double>(requests));
  bench::report_allocs(state, loop_allocs, loop_bytes, static_cast<double>(requests), "loop_");
}

// Baseline: 1 M pending events on the same VirtualExecutor, each rescheduling itself.
void BM_EmptyEventLoopBaseline(benchmark::State& state) {
  bench::require_alloc_counting();
  const int64_t pending = bench::smoke_or(10'000, 1'000'000);
  uint64_t events = 0;
  bench::AllocCounter count;
  for (auto _ : state) {
    VirtualExecutor ex;
    uint64_t left = static_cast<uint64_t>(5 * pending);
    std::function<void()> tick = [&] {
      if (left == 0) return;
      --left;
      ex.run_after(kMicrosPerSecond + static_cast<TimeUs>(left % 997), tick);
    };
    for (int64_t i = 0; i < pending; ++i) ex.run_at(static_cast<TimeUs>(i) * 1000, tick);
    events += ex.run();
  }
  if (bench::counting_enabled() && events > 0) {
    state.counters["allocs_per_event"] =
        static_cast<double>(count.allocations()) / static_cast<double>(events);
  }
  state.SetItemsProcessed(static_cast<int64_t>(events));
}
BENCHMARK(BM_EmptyEventLoopBaseline)->Unit(benchmark::kSecond)->UseRealTime();

void BM_DistrictEndToEnd(benchmark::State& state) { run_scenario(state, "district", 30); }
BENCHMARK(BM_DistrictEndToEnd)->Arg(1)->Arg(2)->Unit(benchmark::kSecond)->UseRealTime();

// The whole district year (scenarios/district.yaml as `chakong simulate` runs it, library and
// its two sweeps included): the scale of the allocation target "per request on a district
// year, set-up included".
void BM_DistrictYearEndToEnd(benchmark::State& state) { run_scenario(state, "district", 365); }
BENCHMARK(BM_DistrictYearEndToEnd)->Arg(1)->Unit(benchmark::kSecond)->UseRealTime()->Iterations(1);

void BM_CityEndToEnd(benchmark::State& state) { run_scenario(state, "city", 3, 100); }
BENCHMARK(BM_CityEndToEnd)->Arg(1)->Arg(2)->Unit(benchmark::kSecond)->UseRealTime()->Iterations(1);

// National width (scenarios/national_slice.yaml: the national network of hubs, 3,900 banks
// behind the bank hub, with 1/200 of the debtors), its first 30 days.
void BM_NationalSliceEndToEnd(benchmark::State& state) {
  run_scenario(state, "national_slice", 30, 40);
}
BENCHMARK(BM_NationalSliceEndToEnd)
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kSecond)
    ->UseRealTime()
    ->Iterations(1);

}  // namespace
}  // namespace chakong
