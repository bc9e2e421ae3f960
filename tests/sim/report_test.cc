// report.json: the proportionate-control figures, the share of cases wholly secured and the mean
// query turnaround per connector (issue 24), on a report built by hand.
#include <gtest/gtest.h>

#include "chakong/sim/simulation.h"

namespace chakong::sim {
namespace {

TEST(ReportTest, JsonHasControlFiguresAndQueryTurnaroundPerConnector) {
  SimulationReport r;
  r.name = "t";
  r.stats.cases_filed = 8;
  r.stats.cases_secured = 6;
  r.stats.indivisible_sealed = 3;
  r.stats.seals_avoided = 2;
  r.stats.remainders_uncovered = 2;
  r.stats.uncovered = Fen(1'234);
  ConnectorReport bank;
  bank.name = "bank.b";
  bank.category = "deposit";
  bank.query_turnaround_mean_ms = 7'200'000.04;
  ConnectorReport member = bank;
  member.name = "bank.b001";
  member.via = "bank.b";
  member.query_turnaround_mean_ms.reset();
  r.connectors = {bank, member};
  const std::string json = report_json(r);
  EXPECT_NE(json.find("\"control\": {\"indivisible_sealed\": 3, "
                      "\"seals_avoided_by_proportionality\": 2, \"remainders_uncovered\": 2, "
                      "\"uncovered_fen\": 1234, \"cases_fully_secured\": 6, "
                      "\"fully_secured_share\": 0.750000}"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"name\": \"bank.b\", \"category\": \"deposit\", \"requests\": 0, "
                      "\"utilization\": 0.000000, \"latency_ms\": {\"p50\": 0.0, \"p99\": 0.0}, "
                      "\"query_turnaround_mean_ms\": 7200000.0,"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"query_turnaround_mean_ms\": null"), std::string::npos) << json;
  EXPECT_NE(report_html(r).find("6 wholly secured; 2 seals avoided by proportionality, 2 "
                                "remainders left uncovered"),
            std::string::npos);
}

}  // namespace
}  // namespace chakong::sim
