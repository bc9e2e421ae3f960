// Population generation: the simulator's debtors of `scenarios/district.yaml` (its population
// spreads, 44 institutions), N of them from (seed, index), kept. Figures: ns per debtor on one
// thread (CPU time: this VM's wall clock is shared with builds), and the resident memory per debtor
// kept (RSS growth while the generated debtors are held, from /proc/self/statm, after malloc_trim;
// the heap's own count beside it). The figure is the simulator's compact form
// (sim::make_population: 16-byte assets, no strings, generators made only as far as they are read).
// The same-run baseline is the plain form: `Debtor` structs with their ID, references and holder
// IDs as strings, generated with std::mt19937_64 (sim::make_debtors: what the simulator generated
// and held up to 2026-12-01). A smoke run (smoke.h) generates 10,000 debtors.
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <memory>

#include "chakong/institution/institution.h"
#include "chakong/sim/scenario.h"
#include "chakong/sim/simulation.h"
#include "sim/src/population.h"
#include "smoke.h"

namespace chakong {
namespace {

struct District {
  sim::SimulationConfig config;
  sim::InstitutionIndex index;
};

// The district's config and its places, laid out as the simulator lays them out.
const District& district() {
  static const District d = [] {
    District out;
    StatusOr<v1::Scenario> s =
        sim::load_scenario_file(std::string(CHAKONG_SOURCE_DIR) + "/scenarios/district.yaml");
    if (!s.ok()) {
      std::fprintf(stderr, "%s\n", s.status().to_string().c_str());
      std::abort();
    }
    StatusOr<sim::SimulationConfig> c = sim::compile_scenario(*s, "district.yaml");
    if (!c.ok()) {
      std::fprintf(stderr, "%s\n", c.status().to_string().c_str());
      std::abort();
    }
    out.config = *c;
    uint32_t place = 0;
    for (const sim::GroupConfig& g : out.config.groups) {
      for (int k = 0; k < g.count; ++k, ++place) {
        out.index.by_category[static_cast<int>(g.category)].push_back(place);
        if (g.category == AssetCategory::kDeposit) {
          const double w = 1.0 / std::pow(static_cast<double>(k + 1), g.zipf);
          out.index.bank_weights.push_back(
              (out.index.bank_weights.empty() ? 0 : out.index.bank_weights.back()) + w);
        }
      }
    }
    return out;
  }();
  return d;
}

int64_t resident_bytes() {
  long pages = 0, resident = 0;
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
  std::fclose(f);
  return static_cast<int64_t>(resident) * sysconf(_SC_PAGESIZE);
}

int64_t heap_bytes() {
  const struct mallinfo2 m = mallinfo2();
  return static_cast<int64_t>(m.uordblks + m.hblkhd);
}

// Times `make(n)` and measures what its result holds while it is kept.
template <typename Make>
void generate(benchmark::State& state, Make make) {
  const District& d = district();
  const uint64_t n = static_cast<uint64_t>(state.range(0));
  int64_t rss = 0, heap = 0;
  uint64_t accounts = 0;
  for (auto _ : state) {
    state.PauseTiming();
    malloc_trim(0);
    const int64_t rss0 = resident_bytes(), heap0 = heap_bytes();
    state.ResumeTiming();
    auto kept = make(d, n);
    benchmark::DoNotOptimize(kept);
    state.PauseTiming();
    malloc_trim(0);  // What was freed (a population once placed) is not kept.
    rss += resident_bytes() - rss0;
    heap += heap_bytes() - heap0;
    accounts += kept.second;
    kept = {};
    state.ResumeTiming();
  }
  const double debtors = static_cast<double>(n) * static_cast<double>(state.iterations());
  state.SetItemsProcessed(static_cast<int64_t>(debtors));
  state.counters["ns_per_debtor"] =
      benchmark::Counter(debtors * 1e-9, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["resident_bytes_per_debtor"] = static_cast<double>(rss) / debtors;
  state.counters["heap_bytes_per_debtor"] = static_cast<double>(heap) / debtors;
  state.counters["assets_per_debtor"] = static_cast<double>(accounts) / debtors;
}

// Baseline: the plain form, a `Debtor` struct per debtor with strings.
void BM_MakeDebtorsPlain(benchmark::State& state) {
  generate(state, [](const District& d, uint64_t n) {
    std::vector<sim::Debtor> v = sim::make_debtors(d.config, d.index, 0, n, 1);
    uint64_t assets = 0;
    for (const sim::Debtor& x : v) assets += x.assets.size();
    return std::pair(std::move(v), assets);
  });
}
BENCHMARK(BM_MakeDebtorsPlain)
    ->Apply(bench::sizes<10'000, 1'000'000>)
    ->Unit(benchmark::kMillisecond);

// The simulator's form: sim::Population, compact (no strings), generated with sim::LazyMt64.
void BM_MakePopulation(benchmark::State& state) {
  generate(state, [](const District& d, uint64_t n) {
    sim::Population p = sim::make_population(d.config, d.index, 0, n, 1);
    uint64_t assets = 0;
    for (const sim::Population::Block& b : p.blocks) assets += b.assets.size();
    return std::pair(std::move(p), assets);
  });
}
BENCHMARK(BM_MakePopulation)->Apply(bench::sizes<10'000, 1'000'000>)->Unit(benchmark::kMillisecond);

// Not a generation figure: what a debtor costs once the simulator has placed its assets at the
// institutions (Institution::add_asset, the ground truth the run keeps) and noted its accounts
// (16 bytes each), the way Run::build_institutions does. The population itself is freed.
void BM_PlacePopulation(benchmark::State& state) {
  generate(state, [](const District& d, uint64_t n) {
    struct Placed {
      std::vector<std::unique_ptr<institution::Institution>> institutions;
      std::vector<std::array<uint64_t, 2>> accounts;
    } placed;
    for (const sim::GroupConfig& g : d.config.groups) {
      for (int k = 0; k < g.count; ++k) {
        placed.institutions.push_back(std::make_unique<institution::Institution>(
            g.kind + "." + std::to_string(k), connectors::Capabilities::all()));
      }
    }
    uint64_t assets = 0;
    {
      const sim::Population p = sim::make_population(d.config, d.index, 0, n, 1);
      // Sized as the simulator sizes them (Run::reserve_for), from the population's counts.
      std::vector<size_t> count(placed.institutions.size());
      for (const sim::Population::Block& b : p.blocks) {
        for (const sim::GenAsset& a : b.assets) ++count[a.place];
      }
      for (size_t i = 0; i < count.size(); ++i) placed.institutions[i]->reserve(count[i], count[i]);
      Asset asset;
      for (uint64_t k = 0; k < n; ++k) {
        const std::span<const sim::GenAsset> mine = p.assets_of(k);
        if (mine.empty()) continue;
        const std::string holder = sim::debtor_id(k, p.organisation(k));
        for (const sim::GenAsset& a : mine) {
          a.to_asset(k, holder, asset);
          if (!placed.institutions[a.place]->add_asset(asset).ok()) std::abort();
          placed.accounts.push_back({k, uint64_t{a.place} << 32 | a.serial});
          ++assets;
        }
      }
    }
    return std::pair(std::move(placed), assets);
  });
}
BENCHMARK(BM_PlacePopulation)
    ->Apply(bench::sizes<10'000, 1'000'000>)
    ->Unit(benchmark::kMillisecond);

// The simulator's invariant checks: CPU time in them per simulated day, over a district year
// (scenarios/district.yaml with its 4,500-case library) and over the city's first 30 days
// (scenarios/city.yaml: 600,000 debtors, ~25,000 cases). /0 is how the simulator checks
// (incremental: the cases and assets whose measures or budget changed, and a full pass at the
// end); the same-run baseline /1 also makes the full pass every day (audit_daily): what the
// daily over-seizure check did up to 2026-12-01, plus the duplicate pass every day instead of
// weekly and the comparison with the incremental figures. A smoke run simulates 3 days of the
// district and 2 of the city at a hundredth of its population.
void run_checks(benchmark::State& state, const sim::SimulationConfig& c) {
  sim::SimulationOptions o;
  o.audit_daily = state.range(0) != 0;
  double checks = 0, wall = 0;
  for (auto _ : state) {
    StatusOr<sim::SimulationReport> r = sim::run_simulation(c, o);
    if (!r.ok()) {
      state.SkipWithError(r.status().to_string().c_str());
      return;
    }
    checks += r->checks_seconds;
    wall += r->wall_seconds;
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["checks_us_per_day"] = checks / n / c.days * 1e6;
  state.counters["checks_s"] = checks / n;
  state.counters["run_s"] = wall / n;
}

void BM_DistrictYearChecks(benchmark::State& state) {
  sim::SimulationConfig c = district().config;
  c.days = static_cast<int>(bench::smoke_or(3, 365));
  run_checks(state, c);
}
BENCHMARK(BM_DistrictYearChecks)
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime()
    ->Iterations(1);

void BM_CityMonthChecks(benchmark::State& state) {
  StatusOr<v1::Scenario> s =
      sim::load_scenario_file(std::string(CHAKONG_SOURCE_DIR) + "/scenarios/city.yaml");
  StatusOr<sim::SimulationConfig> c =
      s.ok() ? sim::compile_scenario(*s, "city.yaml") : StatusOr<sim::SimulationConfig>(s.status());
  if (!c.ok()) {
    state.SkipWithError(c.status().to_string().c_str());
    return;
  }
  c->days = static_cast<int>(bench::smoke_or(2, 30));
  if (bench::smoke_run()) {
    c->debtors /= 100;
    c->cases_per_year /= 100;
  }
  run_checks(state, *c);
}
BENCHMARK(BM_CityMonthChecks)
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime()
    ->Iterations(1);

}  // namespace
}  // namespace chakong
