// Real-time mode: the engine on Boost.Asio with in-process, zero-latency connectors. Each case
// makes three requests (query, freeze, deduct); the figure is engine requests per second on 1 or
// 2 shard threads (the institution has its own thread), with the engine-added latency (request
// submitted to answer, the connector answering at once) as p50 / p99 counters.
//
// Heap allocations (bench/alloc_counter.cc, every thread) per engine request:
// `allocs_per_request` / `bytes_per_request` for the whole iteration, set-up included (the
// executors, the institution and its 20,000 accounts, the engine, the filings posted), and
// `loop_allocs_per_request` / `loop_bytes_per_request` for the timed part alone (the threads
// running the cases to their conclusion).
#include <benchmark/benchmark.h>

#include <atomic>
#include <thread>

#include "alloc_counter.h"
#include "chakong/base/identity.h"
#include "chakong/engine/asio_executor.h"
#include "chakong/engine/engine.h"
#include "chakong/sim/in_process_connector.h"

namespace chakong {
namespace {

std::string debtor_id(int i) {
  char first17[18];
  std::snprintf(first17, sizeof first17, "110105%04d%02d%02d%03d", 1950 + i % 50, 1 + i % 12,
                1 + i % 28, i % 1000);
  return std::string(first17) + resident_id_check_char(first17);
}

void BM_EngineRealTimeAsio(benchmark::State& state) {
  bench::require_alloc_counting();
  const int shards = static_cast<int>(state.range(0));
  constexpr int kCases = 20'000;
  uint64_t requests = 0;
  LatencyHistogram latency;
  int round = 0;
  uint64_t allocs = 0, bytes = 0, loop_allocs = 0, loop_bytes = 0;
  for (auto _ : state) {
    state.PauseTiming();
    bench::AllocCounter count;
    std::vector<std::unique_ptr<AsioExecutor>> ex;
    for (int s = 0; s < shards; ++s) ex.push_back(std::make_unique<AsioExecutor>());
    AsioExecutor bank_thread;
    institution::Institution bank("bank.rt", connectors::Capabilities::all());
    sim::InProcessConnector conn(bank, bank_thread, sim::fixed_latency(0));
    std::vector<std::string> debtors;
    for (int i = 0; i < kCases; ++i) {
      debtors.push_back(debtor_id(i));
      (void)bank.add_asset({connectors::AssetCategory::kDeposit, "acct-" + std::to_string(i),
                            Fen(1'000'000), debtors.back()});
    }
    engine::EngineConfig config;
    config.deduct_delay = 0;
    std::vector<Executor*> ptrs;
    for (auto& e : ex) ptrs.push_back(e.get());
    auto engine = std::move(engine::Engine::create(config, ptrs, {&conn})).value();
    (void)engine->register_officer("o", "渝0110");
    std::atomic<int> concluded{0};
    engine->set_observer([&](const engine::Event& e) {
      if (e.type == engine::EventType::kCaseConcluded && ++concluded == kCases) {
        for (auto& x : ex) x->stop();
        bank_thread.stop();
      }
    });
    for (int i = 0; i < kCases; ++i) {
      engine::CaseFiling f;
      f.case_number = "（2025）渝0110执" + std::to_string(round * kCases + i + 1) + "号";
      f.debtors = {{engine::DebtorInfo::Kind::kPerson, debtors[static_cast<size_t>(i)], "d"}};
      f.claim = Fen(500'000);
      f.officer_ids = {"o"};
      engine->executor_of(f.case_number).post([&engine, f] { (void)engine->file_case(f); });
    }
    ++round;
    // Keep every executor running until the last case concludes (run() returns when idle).
    for (auto& x : ex) x->add_work();
    bank_thread.add_work();
    state.ResumeTiming();
    bench::AllocCounter loop_count;
    std::vector<std::thread> threads;
    for (auto& x : ex) threads.emplace_back([&x] { x->run(); });
    bank_thread.run();
    for (auto& t : threads) t.join();
    loop_allocs += loop_count.allocations();
    loop_bytes += loop_count.bytes();
    state.PauseTiming();
    const engine::DispatcherStats d = engine->dispatcher_stats("bank.rt");
    requests += d.completed;
    latency.merge(d.latency);
    allocs += count.allocations();
    bytes += count.bytes();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(requests));
  state.counters["p50_us"] = static_cast<double>(latency.quantile(0.5));
  state.counters["p99_us"] = static_cast<double>(latency.quantile(0.99));
  bench::report_allocs(state, allocs, bytes, static_cast<double>(requests));
  bench::report_allocs(state, loop_allocs, loop_bytes, static_cast<double>(requests), "loop_");
}
BENCHMARK(BM_EngineRealTimeAsio)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace chakong
