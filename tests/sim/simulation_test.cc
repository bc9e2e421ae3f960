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
