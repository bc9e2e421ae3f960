// The simulator end to end: a short district run keeps every invariant, and is byte-identical
// (but for the `run` object) whatever the thread count.
#include "chakong/sim/simulation.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <regex>

#include "../../sim/src/population.h"  // The simulator's internal population generator.
#include "chakong/base/histogram.h"
#include "chakong/institution/institution.h"

namespace chakong::sim {
namespace {

SimulationConfig district(int days) {
  StatusOr<v1::Scenario> s =
      load_scenario_file(std::string(CHAKONG_SOURCE_DIR) + "/scenarios/district.yaml");
  EXPECT_TRUE(s.ok()) << s.status();
  s->set_days(days);
  StatusOr<SimulationConfig> c = compile_scenario(*s, "district.yaml");
  EXPECT_TRUE(c.ok()) << c.status();
  return *c;
}

// LazyMt64 gives std::mt19937_64's outputs, through the first 156 (lazy), past them (a
// std::mt19937_64 takes over) and past the first full twist, also when seeded four at a time.
TEST(PopulationTest, LazyMt64IsMt19937_64) {
  for (uint64_t seed : {0ull, 1ull, 5489ull, 0x9e3779b97f4a7c15ull, ~0ull}) {
    std::mt19937_64 want(seed);
    LazyMt64 got(seed);
    for (int k = 0; k < 700; ++k) ASSERT_EQ(got(), want()) << "seed " << seed << ", output " << k;
  }
  LazyMt64 four[4];
  for (uint64_t q = 0; q < 4; ++q) four[q].reset(1000 + q);
  LazyMt64::make_four(four, 180);
  for (uint64_t q = 0; q < 4; ++q) {
    std::mt19937_64 want(1000 + q);
    for (int k = 0; k < 400; ++k) ASSERT_EQ(four[q](), want()) << "seed " << 1000 + q << ", " << k;
  }
}

// The compact population is the plain one, debtor for debtor: same organisations, same assets
// (places, serials, values, securities' units), same late accounts; whatever the thread count
// and the block boundaries, and for debtors with so many accounts that their generators go
// past the lazy part.
TEST(PopulationTest, CompactPopulationIsThePlainOne) {
  StatusOr<v1::Scenario> s =
      load_scenario_file(std::string(CHAKONG_SOURCE_DIR) + "/scenarios/district.yaml");
  ASSERT_TRUE(s.ok()) << s.status();
  StatusOr<SimulationConfig> district = compile_scenario(*s, "district.yaml");
  ASSERT_TRUE(district.ok()) << district.status();
  SimulationConfig many = *district;
  many.accounts_per_debtor = 50;
  many.securities_share = 0.9;
  for (const SimulationConfig* c : {&*district, &many}) {
    InstitutionIndex idx;
    uint32_t place = 0;
    for (const GroupConfig& g : c->groups) {
      for (int k = 0; k < g.count; ++k, ++place) {
        idx.by_category[static_cast<int>(g.category)].push_back(place);
        if (g.category == AssetCategory::kDeposit) {
          idx.bank_weights.push_back((idx.bank_weights.empty() ? 0 : idx.bank_weights.back()) +
                                     1.0 / static_cast<double>(k + 1));
        }
      }
    }
    const uint64_t first = 12'345, n = 3 * Population::kBlock + 7;
    const std::vector<Debtor> plain = make_debtors(*c, idx, first, n, 1);
    const Population compact = make_population(*c, idx, first, n, 2);
    ASSERT_EQ(compact.size(), n);
    size_t late = 0, securities = 0;
    for (uint64_t k = 0; k < n; ++k) {
      const Debtor& d = plain[k];
      const uint64_t owner = first + k;
      ASSERT_EQ(compact.organisation(k), d.organisation) << owner;
      EXPECT_EQ(debtor_id(owner, compact.organisation(k)), d.id);
      const std::span<const GenAsset> assets = compact.assets_of(k);
      ASSERT_EQ(assets.size(), d.assets.size()) << owner;
      for (size_t a = 0; a < assets.size(); ++a) {
        const PlacedAsset& p = d.assets[a];
        Asset made;
        assets[a].to_asset(owner, d.id, made);
        EXPECT_EQ(assets[a].place, p.institution);
        EXPECT_EQ(assets[a].serial, p.serial);
        EXPECT_EQ(made.category, p.asset.category);
        EXPECT_EQ(made.reference, p.asset.reference);
        EXPECT_EQ(made.holder_id, p.asset.holder_id);
        EXPECT_EQ(made.value, p.asset.value) << owner << " asset " << a;
        EXPECT_EQ(made.quantity, p.asset.quantity);
        EXPECT_EQ(made.unit_price, p.asset.unit_price);
        securities += made.category == AssetCategory::kSecurities;
      }
      if (d.late_day < 0) continue;
      ASSERT_LT(late, compact.late.size());
      const Population::Late& l = compact.late[late++];
      EXPECT_EQ(l.debtor, owner);
      EXPECT_EQ(l.day, d.late_day);
      Asset made;
      l.asset.to_asset(owner, d.id, made);
      EXPECT_EQ(made.reference, d.late_asset.asset.reference);
      EXPECT_EQ(made.value, d.late_asset.asset.value);
      // Regenerated alone, as the simulator does on its day, it is the same.
      const Population one = make_population_of(*c, idx, owner);
      ASSERT_EQ(one.late.size(), 1u);
      EXPECT_EQ(one.late[0].asset.packed, l.asset.packed);
      EXPECT_EQ(one.late[0].asset.place, l.asset.place);
    }
    EXPECT_EQ(late, compact.late.size());
    EXPECT_GT(late, 0u);
    EXPECT_GT(securities, 100u);
    if (c == &*district) {
      EXPECT_LT(compact.bytes(), 40 * n);  // ~32 bytes a debtor.
    }
  }
}

std::string without_run(std::string json) {
  return std::regex_replace(json, std::regex("\"run\": \\{[^}]*\\}"), "\"run\": {}");
}

// The report's invariants, each 0 in a healthy run.
void expect_every_invariant_zero(const SimulationReport& r) {
  EXPECT_EQ(r.over_seizure + r.stats.over_seizure, 0u);
  EXPECT_EQ(r.duplicate_measures, 0u);
  EXPECT_EQ(r.institution_lapses, 0u);
  EXPECT_EQ(r.stats.unauthorized, 0u);
  EXPECT_EQ(r.lost_requests, 0u);
  EXPECT_EQ(r.ledger_disagreements, 0u);
}

TEST(SimulationTest, DistrictQuarterKeepsEveryInvariant) {
  SimulationOptions o;
  StatusOr<SimulationReport> r = run_simulation(district(120), o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_GT(r->stats.cases_filed, 500u);
  EXPECT_GT(r->stats.control_met, 300u);
  expect_every_invariant_zero(*r);
  const double compliance = static_cast<double>(r->stats.control_met) /
                            static_cast<double>(r->stats.control_met + r->stats.control_missed);
  EXPECT_GE(compliance, 0.99);
  const std::string html = report_html(*r);
  EXPECT_NE(html.find("new Chart(document.getElementById('c1')"), std::string::npos);
  EXPECT_NE(html.find("Chart.js v3"), std::string::npos);  // Inlined, no network needed.
}

// Regression: an undecodable freeze reply was taken as a refusal and the planner froze another
// asset, so the institutions held twice the budget. A district year with 5 % of replies
// corrupted and 5 % delivered twice at every institution, and one dispatcher attempt (so every
// corrupted reply reaches the engine's in-doubt rule): every invariant 0, and what the
// institutions hold agrees with the engine's ledger.
TEST(SimulationTest, DistrictYearUnderMalformedAndDuplicatedRepliesKeepsEveryInvariant) {
  StatusOr<v1::Scenario> s =
      load_scenario_file(std::string(CHAKONG_SOURCE_DIR) + "/scenarios/district.yaml");
  ASSERT_TRUE(s.ok()) << s.status();
  for (v1::InstitutionGroup& g : *s->mutable_institutions()) {
    g.set_malformed_rate(0.05);
    g.set_duplicate_rate(0.05);
  }
  s->mutable_engine()->set_max_attempts(1);
  StatusOr<SimulationConfig> c = compile_scenario(*s, "district.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  StatusOr<SimulationReport> r = run_simulation(*c, SimulationOptions());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_GT(r->faults.malformed, 1000u);
  EXPECT_GT(r->faults.duplicated, 1000u);
  EXPECT_GT(r->stats.in_doubt_resent, 1000u);
  EXPECT_EQ(r->stats.in_doubt_unresolved, 0u);
  expect_every_invariant_zero(*r);
  const std::string json = report_json(*r);
  EXPECT_NE(json.find("\"faults\": {\"refused\": 0, \"malformed\": " +
                      std::to_string(r->faults.malformed)),
            std::string::npos);
}

// The fault-injected district year of the test above, checked in full every day as well
// (audit_daily): the full check never finds what the incremental one missed (the run would
// fail), and the report is the same as with the incremental checks alone.
TEST(SimulationTest, IncrementalChecksAgreeWithTheFullCheckEveryDay) {
  StatusOr<v1::Scenario> s =
      load_scenario_file(std::string(CHAKONG_SOURCE_DIR) + "/scenarios/district.yaml");
  ASSERT_TRUE(s.ok()) << s.status();
  for (v1::InstitutionGroup& g : *s->mutable_institutions()) {
    g.set_malformed_rate(0.05);
    g.set_duplicate_rate(0.05);
  }
  s->mutable_engine()->set_max_attempts(1);
  s->set_days(200);
  StatusOr<SimulationConfig> c = compile_scenario(*s, "district.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  SimulationOptions incremental, audited;
  incremental.audit_daily = false;
  audited.audit_daily = true;
  StatusOr<SimulationReport> a = run_simulation(*c, incremental);
  ASSERT_TRUE(a.ok()) << a.status();
  StatusOr<SimulationReport> b = run_simulation(*c, audited);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_GT(a->faults.malformed, 500u);
  EXPECT_EQ(without_run(report_json(*a)), without_run(report_json(*b)));
}

// An over-seizure made mid-run at an institution (a second freeze of the same account for the
// same case, far over any budget) is found by the incremental check on the day it is made, and
// the duplicate measure it makes by the week's check; the end-of-run audit agrees (or the run
// would fail), and the ledger check sees the measure the engine does not know of.
TEST(SimulationTest, AnOverSeizureMadeMidRunIsFoundOnTheDayItHappens) {
  constexpr int kDay = 45;  // The next weekly duplicate check is on day 48 (48 % 7 == 6).
  const SimulationConfig c = district(120);
  for (bool audit_daily : {false, true}) {
    SimulationOptions o;
    o.audit_daily = audit_daily;
    std::string victim;
    o.before_checks = [&](int day, const std::vector<institution::Institution*>& institutions) {
      if (day != kDay) return;
      const Date today = c.start.plus_days(day);
      const Fen much(2 * kMaxClaim.value());
      for (institution::Institution* in : institutions) {
        // The newest freeze: its deduction (10 days on) is not due before the weekly check.
        for (uint32_t i = static_cast<uint32_t>(in->measure_count()); i-- > 0;) {
          const institution::MeasureRecord& m = in->measure_at(i);
          if (m.state != institution::MeasureState::kActive || !is_divisible(m.category)) continue;
          const std::string reference = m.reference, number = m.case_number;
          ASSERT_TRUE(in->credit(reference, much, today).ok());
          ASSERT_TRUE(
              in->add_foreign_measure(reference, number, much, today, today.plus_days(400)).ok());
          victim = number;
          return;
        }
      }
    };
    std::vector<Progress> days;
    o.on_progress = [&](const Progress& p) { days.push_back(p); };
    StatusOr<SimulationReport> r = run_simulation(c, o);
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_FALSE(victim.empty());
    ASSERT_EQ(days.size(), 120u);
    EXPECT_EQ(days[kDay - 1].over_seizure, 0u);
    EXPECT_EQ(days[kDay].over_seizure, 1u) << "audit_daily " << audit_daily;
    EXPECT_EQ(days[47].duplicate_measures, 0u);
    EXPECT_EQ(days[48].duplicate_measures, 1u);
    EXPECT_EQ(days.back().over_seizure, 1u);
    EXPECT_EQ(r->over_seizure, 1u);
    EXPECT_EQ(r->stats.over_seizure, 0u);
    EXPECT_EQ(r->duplicate_measures, 1u);
    EXPECT_EQ(r->ledger_disagreements, 1u);
    EXPECT_EQ(r->institution_lapses, 0u);
    EXPECT_EQ(r->stats.unauthorized, 0u);
    EXPECT_EQ(r->lost_requests, 0u);
  }
}

double new_case_compliance(const SimulationReport& r) {
  const uint64_t met = r.stats.control_met - r.restored_control_met;
  const uint64_t missed = r.stats.control_missed - r.restored_control_missed;
  return static_cast<double>(met) / static_cast<double>(met + missed);
}

// Two years of the district with its library of 4,500 cases, against the same two years with
// no library and no sweep.
TEST(SimulationTest, TwoYearsOfSweepsCoverTheLibraryWithoutCrowdingOutNewCases) {
  SimulationOptions o;
  StatusOr<SimulationReport> with = run_simulation(district(730), o);
  ASSERT_TRUE(with.ok()) << with.status();
  SimulationConfig bare = district(730);
  bare.library_cases = 0;
  bare.sweep.enabled = false;
  StatusOr<SimulationReport> without = run_simulation(bare, o);
  ASSERT_TRUE(without.ok()) << without.status();

  // Every half-year run swept every due case, within its 30-day window.
  ASSERT_EQ(with->sweep_runs.size(), 4u);
  const char* starts[] = {"2025-01-01", "2025-07-01", "2026-01-01", "2026-07-01"};
  for (size_t k = 0; k < 4; ++k) {
    const engine::SweepRunReport& run = with->sweep_runs[k];
    EXPECT_EQ(run.start.to_string(), starts[k]);
    EXPECT_GT(run.due, 3'000u) << starts[k];
    EXPECT_EQ(run.swept, run.due) << starts[k];
    EXPECT_TRUE(run.fit()) << starts[k];
  }
  // Hits restore cases at once, and their property is frozen under the 48-hour clock.
  EXPECT_GT(with->stats.sweep_hits, 50u);
  EXPECT_EQ(with->stats.sweep_restored, with->stats.sweep_hits);
  EXPECT_GT(with->restored_control_met, 50u);
  EXPECT_EQ(without->stats.sweep_hits, 0u);
  EXPECT_TRUE(without->sweep_runs.empty());
  // New cases fare the same with the sweep running (BULK lane, leftover capacity): within
  // half a percentage point, and both at or above 99 %.
  const double a = new_case_compliance(*with), b = new_case_compliance(*without);
  EXPECT_GE(a, 0.99);
  EXPECT_GE(b, 0.99);
  EXPECT_NEAR(a, b, 0.005);
  EXPECT_EQ(with->over_seizure + with->stats.over_seizure, 0u);
  EXPECT_EQ(with->duplicate_measures, 0u);
  EXPECT_EQ(with->lost_requests, 0u);
  const std::string json = report_json(*with);
  EXPECT_NE(json.find("\"coverage\": 1.000000, \"closed_runs\": 4"), std::string::npos);
  EXPECT_NE(report_html(*with).find("new Chart(document.getElementById('c4')"), std::string::npos);
}

// Regression: the progress line said "0.00 M events/s" all run long: the executor counted the
// events of a run_until() only when it returned, and the whole simulation is one run_until().
TEST(SimulationTest, ProgressCountsTheEventsRunSoFar) {
  SimulationOptions o;
  std::vector<uint64_t> events;
  o.on_progress = [&](const Progress& p) { events.push_back(p.events); };
  StatusOr<SimulationReport> r = run_simulation(district(20), o);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(events.size(), 20u);
  // A day's own work and checks run before its events, between windows: nothing has run at
  // the first day's report, and every day's events show in the next day's.
  EXPECT_EQ(events.front(), 0u);
  for (size_t i = 1; i < events.size(); ++i) EXPECT_GT(events[i], events[i - 1]) << i;
  EXPECT_LE(events.back(), r->events);
}

TEST(SimulationTest, SameSeedSameReportWhateverTheThreadCount) {
  SimulationOptions one, two;
  two.threads = 2;
  StatusOr<SimulationReport> a = run_simulation(district(60), one);
  StatusOr<SimulationReport> b = run_simulation(district(60), two);
  ASSERT_TRUE(a.ok() && b.ok());
  const std::string ja = report_json(*a), jb = report_json(*b);
  EXPECT_NE(ja.find("\"threads\": 1"), std::string::npos);
  EXPECT_NE(jb.find("\"threads\": 2"), std::string::npos);
  EXPECT_EQ(without_run(ja), without_run(jb));
  // And a different seed gives a different run.
  SimulationConfig other = district(60);
  other.seed += 1;
  StatusOr<SimulationReport> c = run_simulation(other, one);
  ASSERT_TRUE(c.ok());
  EXPECT_NE(without_run(report_json(*c)), without_run(ja));
}

SimulationConfig scenario_file(const std::string& name, int days, const std::string& start = "") {
  StatusOr<v1::Scenario> s =
      load_scenario_file(std::string(CHAKONG_SOURCE_DIR) + "/scenarios/" + name + ".yaml");
  EXPECT_TRUE(s.ok()) << s.status();
  s->set_days(days);
  if (!start.empty()) s->set_start(start);
  StatusOr<SimulationConfig> c = compile_scenario(*s, name + ".yaml");
  EXPECT_TRUE(c.ok()) << c.status();
  return *c;
}

// Parallel virtual time: the same report, byte for byte outside `run`, on 1, 2 and 3 threads;
// and the windows the run object counts.
void expect_same_whatever_the_threads(const SimulationConfig& config) {
  std::string first;
  for (int threads : {1, 2, 3}) {
    SimulationOptions o;
    o.threads = threads;
    StatusOr<SimulationReport> r = run_simulation(config, o);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->threads, threads);
    EXPECT_EQ(r->ranks, 1);
    EXPECT_EQ(r->lps, static_cast<uint32_t>(config.shards) + r->connectors.size() -
                          static_cast<uint32_t>(std::count_if(
                              r->connectors.begin(), r->connectors.end(),
                              [](const ConnectorReport& c) { return !c.via.empty(); })));
    EXPECT_GT(r->windows, 0u);
    EXPECT_LE(r->windows, r->events);
    EXPECT_DOUBLE_EQ(r->events_per_window,
                     static_cast<double>(r->events) / static_cast<double>(r->windows));
    EXPECT_GE(r->barrier_wait_share, 0.0);
    EXPECT_LE(r->barrier_wait_share, 1.0);
    // One rank: it has every LP and event, one wait share per thread, no collectives.
    ASSERT_EQ(r->per_rank.size(), 1u);
    const RankReport& k = r->per_rank[0];
    EXPECT_EQ(k.rank, 0);
    EXPECT_EQ(k.lps, r->lps);
    EXPECT_EQ(k.events, r->events);
    EXPECT_EQ(k.barrier_wait_share, r->barrier_wait_share);
    EXPECT_EQ(k.collective_wait_share, 0.0);
    ASSERT_EQ(k.thread_wait_share.size(), static_cast<size_t>(threads));
    for (double t : k.thread_wait_share) {
      EXPECT_GE(t, 0.0);
      EXPECT_LE(t, 1.0);
    }
    const std::string json = report_json(*r);
    EXPECT_NE(json.find("\"windows\": " + std::to_string(r->windows)), std::string::npos);
    if (threads == 1) {
      first = without_run(json);
      EXPECT_GT(r->stats.cases_filed, 0u);
    } else {
      EXPECT_EQ(without_run(json), first) << threads << " threads";
    }
  }
}

TEST(ParallelSimulationTest, DistrictOnTwoShardsIsTheSameWhateverTheThreads) {
  SimulationConfig c = scenario_file("district", 30);
  c.shards = 2;  // Restorations cross shards as messages.
  expect_same_whatever_the_threads(c);
}

TEST(ParallelSimulationTest, OutageIsTheSameWhateverTheThreads) {
  // The 30-hour outage of its largest bank from 10 March 09:00, and the days after.
  SimulationConfig c = scenario_file("outage", 12, "2025-03-06");
  ASSERT_EQ(c.groups.front().outages.size(), 1u);
  expect_same_whatever_the_threads(c);
}

TEST(ParallelSimulationTest, NationalSliceIsTheSameWhateverTheThreads) {
  SimulationConfig c = scenario_file("national_slice", 3);
  c.debtors /= 20;
  c.cases_per_year /= 20;
  c.library_cases /= 20;
  expect_same_whatever_the_threads(c);
}

// The sweep's restorations land on the restored number's shard a transit later: on 4 shards
// the library's hits restore cases across shards, and the run is still the same.
TEST(ParallelSimulationTest, RestorationsAcrossShardsAreTheSameWhateverTheThreads) {
  SimulationConfig c = scenario_file("district", 3);
  c.shards = 4;
  c.library_hit_share = 0.2;
  SimulationOptions one, two;
  two.threads = 2;
  StatusOr<SimulationReport> a = run_simulation(c, one);
  StatusOr<SimulationReport> b = run_simulation(c, two);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_GT(a->stats.sweep_restored, 0u);
  EXPECT_EQ(without_run(report_json(*a)), without_run(report_json(*b)));
}

// Every answer comes back two transits after the request left, on top of the institution's
// latency: a longer transit shows in every connector's latency.
TEST(ParallelSimulationTest, TransitIsAddedBothWays) {
  SimulationConfig c = scenario_file("district", 20);
  SimulationOptions o;
  StatusOr<SimulationReport> fast = run_simulation(c, o);
  c.transit = 10 * kMicrosPerMinute;
  StatusOr<SimulationReport> slow = run_simulation(c, o);
  ASSERT_TRUE(fast.ok() && slow.ok());
  ASSERT_EQ(fast->connectors.size(), slow->connectors.size());
  // Fewer, longer windows: the lookahead is the transit.
  EXPECT_LT(slow->windows, fast->windows);
  ASSERT_GT(slow->connectors.front().requests, 0u);
  EXPECT_GT(slow->connectors.front().latency_p50_ms, fast->connectors.front().latency_p50_ms);
}

// Three banks behind a hub, every latency fixed (median = p99), so that what the members did
// can be checked exactly.
SimulationConfig hub_scenario(const std::string& outages, const std::string& hub = "true") {
  const std::string yaml = R"(
name: hub
seed: 7
start: 2025-03-03
days: 40
population: {debtors: 3000}
cases: {per_year: 4000, court: "渝0110", officers: 5}
institutions:
  - kind: bank
    name: b
    count: 3
    hub: )" + hub + R"(
    latency: {query: {median: 1h, p99: 1h}, control: {median: 2h, p99: 2h},
              other: {median: 2h, p99: 2h}}
    linger: 5m
)" + outages + R"(
sweep: {disabled: true}
)";
  StatusOr<v1::Scenario> s = parse_scenario_yaml(yaml, "hub.yaml");
  EXPECT_TRUE(s.ok()) << s.status();
  StatusOr<SimulationConfig> c = compile_scenario(*s, "hub.yaml");
  EXPECT_TRUE(c.ok()) << c.status();
  return *c;
}

TimeUs midpoint_of(TimeUs d) {  // What a LatencyHistogram reports for samples all equal to d.
  LatencyHistogram h;
  h.record(d);
  return h.quantile(0.5);
}

TEST(SimulationTest, HubAsksEveryMemberAndRoutesControlToTheHolder) {
  SimulationOptions o;
  StatusOr<SimulationReport> r = run_simulation(hub_scenario(""), o);
  ASSERT_TRUE(r.ok()) << r.status();
  // One engine connector, then its three members.
  ASSERT_EQ(r->connectors.size(), 4u);
  const ConnectorReport& hub = r->connectors[0];
  EXPECT_EQ(hub.name, "bank.b");
  EXPECT_EQ(hub.via, "");
  const engine::EngineStats& s = r->stats;
  const auto sent = [&](connectors::RequestKind k) { return s.requests[static_cast<int>(k)]; };
  using connectors::RequestKind;
  const uint64_t queries = sent(RequestKind::kQuery);
  const uint64_t control = sent(RequestKind::kFreeze) + sent(RequestKind::kWaitlistFreeze) +
                           sent(RequestKind::kRenew) + sent(RequestKind::kRelease) +
                           sent(RequestKind::kDeduct);
  EXPECT_GT(queries, 500u);
  EXPECT_GT(control, 100u);
  EXPECT_EQ(hub.requests, queries + control);
  // Every member checked every query; each control request went to exactly one member.
  uint64_t checks = 0;
  for (size_t k = 1; k < 4; ++k) {
    const ConnectorReport& m = r->connectors[k];
    EXPECT_EQ(m.name, "bank.b00" + std::to_string(k));
    EXPECT_EQ(m.via, "bank.b");
    EXPECT_GT(m.requests, queries);
    checks += m.requests;
    // A member's answers took exactly its fixed latencies: 1 h (queries) or 2 h (control).
    EXPECT_EQ(static_cast<TimeUs>(m.latency_p50_ms * 1000), midpoint_of(kMicrosPerHour));
    EXPECT_EQ(static_cast<TimeUs>(m.latency_p99_ms * 1000), midpoint_of(2 * kMicrosPerHour));
  }
  EXPECT_EQ(checks, 3 * queries + control);
  EXPECT_EQ(r->over_seizure + s.over_seizure, 0u);
  EXPECT_EQ(r->duplicate_measures, 0u);
  EXPECT_EQ(r->lost_requests, 0u);
  EXPECT_GE(
      static_cast<double>(s.control_met) / static_cast<double>(s.control_met + s.control_missed),
      0.99);
  EXPECT_NE(report_json(*r).find("\"name\": \"bank.b002\", \"category\": \"deposit\""),
            std::string::npos);
}

TEST(SimulationTest, AMemberDownHoldsEveryHubAnswerUntilItIsBack) {
  SimulationOptions o;
  StatusOr<SimulationReport> r = run_simulation(
      hub_scenario("    outages: [{instance: 1, start: 2025-03-12T09:00, duration: 30h}]\n"), o);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->connectors.size(), 4u);
  // The member that was down answered some checks up to 30 hours late; the others never took
  // more than their 2 hours; the hub's answers (the queries' ends; the other members' findings
  // stream ahead) waited for the slowest member.
  EXPECT_GE(r->connectors[2].latency_p99_ms, 20.0 * 3'600'000);
  EXPECT_EQ(static_cast<TimeUs>(r->connectors[1].latency_p99_ms * 1000),
            midpoint_of(2 * kMicrosPerHour));
  EXPECT_EQ(static_cast<TimeUs>(r->connectors[3].latency_p99_ms * 1000),
            midpoint_of(2 * kMicrosPerHour));
  // (Without the outage the hub's p99 is the 2 hours plus the linger.)
  EXPECT_GE(r->connectors[0].latency_p99_ms, 10.0 * 3'600'000);
  // Nothing was lost or refused: the hub held the work until the member was back.
  EXPECT_EQ(r->lost_requests, 0u);
  EXPECT_EQ(r->stats.timeouts, 0u);
  EXPECT_EQ(r->stats.errors, 0u);
  EXPECT_EQ(r->over_seizure + r->stats.over_seizure, 0u);
}

// A finding's reference names its member: each member reports the 48-hour clocks of the
// findings it answered, and they add up to the hub's. With one server per member the queues
// grow (AMemberWithOneServerQueuesAndTheReportShowsIt), so some clocks run out.
TEST(SimulationTest, EachMemberReportsTheClocksOfItsOwnFindings) {
  SimulationOptions o;
  StatusOr<SimulationReport> r =
      run_simulation(hub_scenario("    members: {capacity: 1}\n", "members"), o);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->connectors.size(), 4u);
  uint64_t started = 0, met = 0, missed = 0;
  std::vector<std::vector<uint64_t>> per_member;
  for (size_t k = 1; k < 4; ++k) {
    const ConnectorReport& m = r->connectors[k];
    ASSERT_TRUE(m.member.has_value());
    per_member.push_back({m.member->control_started, m.control_met, m.control_missed});
    started += m.member->control_started;
    met += m.control_met;
    missed += m.control_missed;
  }
  // Answers stream by member: a finding's clock starts, and its freeze leaves, when its member
  // answers, not when the slowest member has (before: {165, 74, 57}, {82, 52, 12},
  // {42, 29, 3}; the faster members' findings no longer wait for member 0's queue).
  EXPECT_EQ(per_member,
            (std::vector<std::vector<uint64_t>>{{165, 77, 53}, {81, 71, 1}, {40, 35, 0}}));
  EXPECT_EQ(started, r->stats.control_started);
  EXPECT_EQ(met, r->connectors[0].control_met);
  EXPECT_EQ(missed, r->connectors[0].control_missed);
  const std::string csv = members_csv(*r);
  EXPECT_NE(csv.find("\nbank.b001,bank.b,1,"), std::string::npos);
}

// Where no member ever queues (many servers, fixed latencies), the counted approximation and
// the simulated members agree on every total.
TEST(SimulationTest, CountedHubAgreesWithQueuedMembersWhenQueuesAreEmpty) {
  SimulationOptions o;
  StatusOr<SimulationReport> counted = run_simulation(hub_scenario("", "counted"), o);
  ASSERT_TRUE(counted.ok()) << counted.status();
  StatusOr<SimulationReport> members =
      run_simulation(hub_scenario("    members: {capacity: 1000}\n", "members"), o);
  ASSERT_TRUE(members.ok()) << members.status();
  const auto totals = [](const SimulationReport& r) {
    uint64_t checks = 0;
    for (const ConnectorReport& c : r.connectors) checks += c.via.empty() ? 0 : c.requests;
    using connectors::RequestKind;
    return std::vector<uint64_t>{checks,
                                 r.connectors[0].requests,
                                 r.stats.findings,
                                 r.stats.requests[static_cast<int>(RequestKind::kFreeze)],
                                 r.stats.control_met,
                                 r.stats.control_missed,
                                 static_cast<uint64_t>(r.stats.frozen.value())};
  };
  EXPECT_EQ(totals(*counted), totals(*members));
  // Checks, hub requests, findings, freezes, 48-hour clocks met and missed, fen frozen.
  EXPECT_EQ(totals(*members), (std::vector<uint64_t>{3256, 1790, 887, 584, 582, 0, 327'710'829}));
  for (size_t k = 1; k < 4; ++k) {
    EXPECT_FALSE(counted->connectors[k].member.has_value());
    ASSERT_TRUE(members->connectors[k].member.has_value());
    EXPECT_EQ(members->connectors[k].max_queue, 0u);
    EXPECT_EQ(members->connectors[k].latency_p99_ms, counted->connectors[k].latency_p99_ms);
  }
}

// One server per member, a batch every few minutes and an hour each: the members queue, and
// the report says by how much.
TEST(SimulationTest, AMemberWithOneServerQueuesAndTheReportShowsIt) {
  SimulationOptions o;
  StatusOr<SimulationReport> r =
      run_simulation(hub_scenario("    members: {capacity: 1}\n", "members"), o);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->connectors.size(), 4u);
  const ConnectorReport& m = r->connectors[1];
  ASSERT_TRUE(m.member.has_value());
  EXPECT_EQ(m.member->capacity, 1);
  // More work than time (a batch every ~45 minutes, an hour or two each): the queue grows over
  // the 40 days.
  // (Freezes now leave at each member's answer, so the members' control batches come at other
  // times and in other groups than when the hub's answer was whole: before, 691, 672, 1,306.)
  EXPECT_EQ(m.max_queue, 759u);
  EXPECT_EQ(m.member->queue_p99, 736u);
  EXPECT_EQ(m.member->batches, 1381u);
  EXPECT_GT(m.latency_p99_ms, 2.0 * 3'600'000);  // Queueing on top of the 1-2 hours.
  EXPECT_EQ(r->lost_requests, 0u);
  const std::string json = report_json(*r);
  EXPECT_NE(json.find("\"member\": {\"capacity\": 1, \"batches\": "), std::string::npos);
  const std::string csv = members_csv(*r);
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "name,hub,capacity,checks,batches,utilization,queue_p50,queue_p99,queue_max,"
            "latency_p50_hours,latency_p99_hours,timeouts,control_started,control_met,"
            "control_missed");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 4);
}

}  // namespace
}  // namespace chakong::sim
