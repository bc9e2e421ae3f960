// The simulator end to end: a short district run keeps every invariant, and is byte-identical
// (but for the `run` object) whatever the thread count.
#include "chakong/sim/simulation.h"

#include <gtest/gtest.h>

#include <regex>

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

std::string without_run(std::string json) {
  return std::regex_replace(json, std::regex("\"run\": \\{[^}]*\\}"), "\"run\": {}");
}

TEST(SimulationTest, DistrictQuarterKeepsEveryInvariant) {
  SimulationOptions o;
  StatusOr<SimulationReport> r = run_simulation(district(120), o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_GT(r->stats.cases_filed, 500u);
  EXPECT_GT(r->stats.control_met, 300u);
  EXPECT_EQ(r->over_seizure + r->stats.over_seizure, 0u);
  EXPECT_EQ(r->duplicate_measures, 0u);
  EXPECT_EQ(r->institution_lapses, 0u);
  EXPECT_EQ(r->stats.unauthorized, 0u);
  EXPECT_EQ(r->lost_requests, 0u);
  const double compliance = static_cast<double>(r->stats.control_met) /
                            static_cast<double>(r->stats.control_met + r->stats.control_missed);
  EXPECT_GE(compliance, 0.99);
  const std::string html = report_html(*r);
  EXPECT_NE(html.find("new Chart(document.getElementById('c1')"), std::string::npos);
  EXPECT_NE(html.find("Chart.js v3"), std::string::npos);  // Inlined, no network needed.
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

}  // namespace
}  // namespace chakong::sim
