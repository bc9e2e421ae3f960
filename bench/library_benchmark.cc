// The terminated-case library at national size: memory per case and sweep planning
// throughput, next to the plain-struct baseline (a std::vector<LibraryEntry> scanned for due
// cases) in the same run.
//
//   build/release/bench/library_benchmark --benchmark_filter=10000000
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <memory>

#include "chakong/base/identity.h"
#include "engine/src/library.h"
#include "smoke.h"

namespace chakong {
namespace {

using engine::Library;
using engine::LibraryEntry;

constexpr int kYears = 5;

size_t rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

// Case i: one debtor (a quarter have two), terminated on one of the 5 x 365 days before
// 2026-01-01, in order.
LibraryEntry make_entry(int64_t i, int64_t n) {
  LibraryEntry e;
  e.case_number = "（2023）渝0110执" + std::to_string(i + 1) + "号";
  const int debtors = i % 4 == 0 ? 2 : 1;
  for (int k = 0; k < debtors; ++k) {
    const int64_t j = i * 2 + k;
    const Date birth = Date::from_days(static_cast<int32_t>(-7300 + j % 18'000));
    char buf[64];  // Room for any int, so that no build mode warns of truncation.
    std::snprintf(buf, sizeof buf, "%06d%04d%02d%02d%03d",
                  static_cast<int>(110101 + j / 18'000'000), birth.year(), birth.month(),
                  birth.day(), static_cast<int>(j / 18'000 % 1000));
    const std::string first17(buf, 17);
    e.debtors.push_back({false, first17 + resident_id_check_char(first17)});
  }
  e.officer_id = "cq-0110-" + std::to_string(i % 40);
  e.remaining = Fen(1'000'000 + i % 977 * 1000);
  const int32_t span = 365 * kYears;
  e.terminated = Date::parse("2026-01-01")->plus_days(-span + static_cast<int32_t>(i * span / n));
  return e;
}

// Built once per size and shared by the planning benchmarks.
const Library& library_of(int64_t n) {
  static std::map<int64_t, std::unique_ptr<Library>> built;
  auto& lib = built[n];
  if (!lib) {
    lib = std::make_unique<Library>();
    lib->reserve(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) (void)lib->add(make_entry(i, n));
  }
  return *lib;
}

const std::vector<LibraryEntry>& entries_of(int64_t n) {
  static std::map<int64_t, std::vector<LibraryEntry>> built;
  auto& v = built[n];
  if (v.empty()) {
    v.reserve(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) v.push_back(make_entry(i, n));
  }
  return v;
}

// Adding cases: throughput and bytes per case (counted, and measured as resident memory).
void BM_LibraryAdd(benchmark::State& state) {
  const int64_t n = state.range(0);
  std::vector<LibraryEntry> entries;
  entries.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) entries.push_back(make_entry(i, n));
  double bytes = 0, rss = 0;
  for (auto _ : state) {
    const size_t before = rss_bytes();
    Library lib;
    lib.reserve(static_cast<size_t>(n));
    for (const LibraryEntry& e : entries) benchmark::DoNotOptimize(lib.add(e));
    rss = static_cast<double>(rss_bytes() - before) / static_cast<double>(n);
    bytes = static_cast<double>(lib.memory_bytes()) / static_cast<double>(n);
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.counters["bytes_per_case"] = bytes;
  state.counters["rss_bytes_per_case"] = rss;
}
BENCHMARK(BM_LibraryAdd)
    ->Apply(bench::sizes<100'000, 1'000'000, 10'000'000>)
    ->Unit(benchmark::kMillisecond);

// Heap bytes of a string: none within the small-string buffer, else the block and its header.
size_t heap(const std::string& s) {
  return s.capacity() > 15 ? (s.capacity() + 1 + 8 + 15) / 16 * 16 : 0;
}

// Baseline: the same cases as plain structs with strings (what an engine case holds), bytes
// counted the same way as Library::memory_bytes() (resident memory is not a fair measure here:
// the allocator reuses what the previous benchmark freed).
void BM_PlainEntriesBaseline(benchmark::State& state) {
  const int64_t n = state.range(0);
  double bytes = 0;
  for (auto _ : state) {
    std::vector<LibraryEntry> v;
    v.reserve(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) v.push_back(make_entry(i, n));
    size_t total = v.capacity() * sizeof(LibraryEntry);
    for (const LibraryEntry& e : v) {
      total += heap(e.case_number) + heap(e.officer_id) +
               (e.debtors.capacity() * sizeof(engine::LibraryDebtor) + 8 + 15) / 16 * 16;
      for (const engine::LibraryDebtor& d : e.debtors) total += heap(d.id);
    }
    bytes = static_cast<double>(total) / static_cast<double>(n);
    benchmark::DoNotOptimize(v.data());
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.counters["bytes_per_case"] = bytes;
}
BENCHMARK(BM_PlainEntriesBaseline)
    ->Apply(bench::sizes<100'000, 1'000'000, 10'000'000>)
    ->Unit(benchmark::kMillisecond);

// Planning a half-year run: find the due cases (terminated in the 5 years before the run) and
// produce each debtor's query key, as the sweep does when it releases a case.
void BM_SweepPlan(benchmark::State& state) {
  const int64_t n = state.range(0);
  const Library& lib = library_of(n);
  const Date start = *Date::parse("2026-01-01");
  uint64_t planned = 0;
  std::string key;
  for (auto _ : state) {
    const auto [lo, hi] =
        lib.terminated_between(engine::add_months(start, -60).plus_days(1), start);
    for (Library::Index i = lo; i < hi; ++i) {
      const std::string number = lib.case_number(i);
      for (int k = 0; k < lib.record(i).debtor_count; ++k) {
        key.assign(number).append("/sweep/20260101/").append(lib.debtor_id(i, k));
        benchmark::DoNotOptimize(key.data());
      }
    }
    planned += hi - lo;
  }
  state.SetItemsProcessed(static_cast<int64_t>(planned));
}
BENCHMARK(BM_SweepPlan)
    ->Apply(bench::sizes<100'000, 1'000'000, 10'000'000>)
    ->Unit(benchmark::kMillisecond);

// Baseline: the same plan from plain structs, scanning every case for its date.
void BM_SweepPlanPlainBaseline(benchmark::State& state) {
  const int64_t n = state.range(0);
  const std::vector<LibraryEntry>& v = entries_of(n);
  const Date start = *Date::parse("2026-01-01");
  const Date from = engine::add_months(start, -60).plus_days(1);
  uint64_t planned = 0;
  std::string key;
  for (auto _ : state) {
    for (const LibraryEntry& e : v) {
      if (e.terminated < from || e.terminated >= start) continue;
      for (const engine::LibraryDebtor& d : e.debtors) {
        key.assign(e.case_number).append("/sweep/20260101/").append(d.id);
        benchmark::DoNotOptimize(key.data());
      }
      ++planned;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(planned));
}
BENCHMARK(BM_SweepPlanPlainBaseline)
    ->Apply(bench::sizes<100'000, 1'000'000, 10'000'000>)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace chakong
