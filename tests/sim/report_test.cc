// report.json: the proportionate-control figures, the share of cases wholly secured and the mean
// query turnaround per connector (issue 24), on a report built by hand.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

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

// run.per_rank: each rank's LPs, events and where its time waited, in rank order, rounded as
// the run's other shares.
TEST(ReportTest, RunHasEachRanksWaitShares) {
  SimulationReport r;
  r.ranks = 2;
  r.per_rank = {{.rank = 0,
                 .lps = 1,
                 .events = 900,
                 .barrier_wait_share = 0.25,
                 .collective_wait_share = 0.1004,
                 .thread_wait_share = {0.1, 0.4}},
                {.rank = 1,
                 .lps = 44,
                 .events = 1200,
                 .barrier_wait_share = 0.6,
                 .collective_wait_share = 0.7,
                 .thread_wait_share = {0.55, 0.65}}};
  const nlohmann::json doc = nlohmann::json::parse(report_json(r));
  const nlohmann::json want = nlohmann::json::parse(R"([
    {"rank": 0, "logical_processes": 1, "events": 900, "barrier_wait_share": 0.25,
     "thread_wait_share": [0.1, 0.4], "collective_wait_share": 0.1},
    {"rank": 1, "logical_processes": 44, "events": 1200, "barrier_wait_share": 0.6,
     "thread_wait_share": [0.55, 0.65], "collective_wait_share": 0.7}])");
  EXPECT_EQ(doc["run"]["per_rank"], want) << doc["run"].dump();
  EXPECT_EQ(doc["run"]["ranks"], 2);
  // A report built without a run has an empty list, not a missing field.
  EXPECT_EQ(nlohmann::json::parse(report_json(SimulationReport{}))["run"]["per_rank"],
            nlohmann::json::array());
}

// Regression: report.json was concatenated by hand and its escaper let a tab (and every other
// control character) through, so a tab in a scenario name made the file invalid JSON; and
// report.html pasted the name in as it was, so a <script> in it ran.
TEST(ReportTest, NamesWithTabsQuotesAndScriptsStayData) {
  SimulationReport r;
  const std::string name = "a\tb \"q\" back\\slash\nline \x01 </script><script>alert(1)</script>";
  r.name = name;
  ConnectorReport c;
  c.name = "bank.<b>&";
  c.category = "deposit";
  r.connectors = {c};
  r.inputs.file = "x.yaml";
  r.inputs.text = "name: \"</script>\"\n";
  r.inputs.version = "chakong 0.1.0";
  r.inputs.commit = "0123456789ab-dirty";
  const std::string json = report_json(r);
  nlohmann::json doc;
  ASSERT_NO_THROW(doc = nlohmann::json::parse(json)) << json;
  EXPECT_EQ(doc["scenario"]["name"], name);
  EXPECT_EQ(doc["connectors"][0]["name"], "bank.<b>&");
  EXPECT_EQ(doc["inputs"]["text"], "name: \"</script>\"\n");
  EXPECT_EQ(doc["run"]["version"], "chakong 0.1.0");
  EXPECT_EQ(doc["run"]["commit"], "0123456789ab-dirty");
  EXPECT_NE(json.find("\"name\": \"a\\tb \\\"q\\\" back\\\\slash\\nline \\u0001 </script>"),
            std::string::npos)
      << json;
  const std::string html = report_html(r);
  EXPECT_EQ(html.find("<script>alert"), std::string::npos);
  EXPECT_EQ(html.find("<b>&"), std::string::npos);
  EXPECT_NE(html.find("<h1>a\tb &quot;q&quot; back\\slash\nline \x01 &lt;/script&gt;&lt;script&gt;"
                      "alert(1)&lt;/script&gt;</h1>"),
            std::string::npos);
  EXPECT_NE(html.find("<td>bank.&lt;b&gt;&amp;</td>"), std::string::npos);
  EXPECT_NE(html.find(", chakong 0.1.0, commit <code id=\"commit\">0123456789ab-dirty</code>"),
            std::string::npos);
  // The data island: the same document, with no "</script>" that could close it early.
  const size_t at = html.find("<script type=\"application/json\" id=\"report\">");
  ASSERT_NE(at, std::string::npos);
  const size_t from = html.find('>', at) + 1, to = html.find("</script>", from);
  const nlohmann::json island = nlohmann::json::parse(html.substr(from, to - from));
  EXPECT_EQ(island, doc);
}

// A run too short for any case's query window to close has no query score: null and a dash,
// not a score of 0.0 that reads as every case late.
TEST(ReportTest, NoCaseScoredIsNoScoreNotZero) {
  SimulationReport r;
  r.name = "t";
  r.stats.query_unscored = 0;
  nlohmann::json doc = nlohmann::json::parse(report_json(r));
  EXPECT_TRUE(doc["deadlines"]["query_start"]["score"].is_null()) << doc["deadlines"];
  EXPECT_NE(report_html(r).find("Query timeliness score<b>—</b>0 of 0 within 5 working days"),
            std::string::npos);
  r.stats.query_scored = 4;
  r.stats.query_within_5wd = 3;
  r.stats.query_later = 1;
  doc = nlohmann::json::parse(report_json(r));
  EXPECT_EQ(doc["deadlines"]["query_start"]["score"], 75.0);
  EXPECT_NE(report_html(r).find("Query timeliness score<b>75.0</b>3 of 4 within 5 working days"),
            std::string::npos);
}

TEST(ReportTest, InstitutionsTableLeadsWithTheMostMisses) {
  SimulationReport r;
  r.name = "t";
  r.stats.control_met = 86;
  r.stats.control_missed = 14;
  ConnectorReport bank{.name = "bank.b001",
                       .category = "deposit",
                       .requests = 900,
                       .utilization = 0.5,
                       .latency_p50_ms = 7.2e6,
                       .latency_p99_ms = 72e6};
  bank.control_met = 60;
  bank.control_missed = 2;
  ConnectorReport csdc{.name = "securities.csdc",
                       .category = "securities",
                       .requests = 40,
                       .utilization = 0.01,
                       .latency_p50_ms = 3.6e6,
                       .latency_p99_ms = 10.8e6};
  csdc.control_met = 6;
  csdc.control_missed = 9;
  csdc.max_queue = 3;
  ConnectorReport idle{.name = "vehicle.cq", .category = "vehicle", .requests = 5};
  r.connectors = {bank, idle, csdc};
  const std::vector<const ConnectorReport*> order = by_misses(r);
  ASSERT_EQ(order.size(), 3u);
  EXPECT_EQ(order[0]->name, "securities.csdc");
  EXPECT_EQ(order[1]->name, "bank.b001");
  EXPECT_EQ(order[2]->name, "vehicle.cq");
  const std::string html = report_html(r);
  EXPECT_NE(html.find("<tr class=\"miss\"><td>securities.csdc</td><td data-v=\"9\">9</td>"
                      "<td data-v=\"64.28571428571429\">64 %</td><td data-v=\"40\">40.00 %</td>"
                      "<td data-v=\"40\">40</td><td data-v=\"1\">1.0 %</td><td data-v=\"3\">3</td>"
                      "<td data-v=\"1\">1.0</td><td data-v=\"3\">3.0</td></tr>"),
            std::string::npos)
      << html.substr(html.find("<table id=\"institutions\">"), 1500);
  EXPECT_NE(html.find("<b class=\"bad\">securities.csdc</b>9 of 14 misses"), std::string::npos);
  EXPECT_LT(html.find("<td>securities.csdc</td>"), html.find("<td>bank.b001</td>"));
  EXPECT_LT(html.find("<td>bank.b001</td>"), html.find("<td>vehicle.cq</td>"));
  const std::string json = report_json(r);
  EXPECT_NE(json.find("\"control_missed\": 9, \"control_compliance\": 0.400000}"),
            std::string::npos)
      << json;
  const std::string csv = connectors_csv(r);
  EXPECT_EQ(csv.substr(0, csv.find('\n') + 1),
            "name,category,via,requests,utilization,latency_p50_ms,latency_p99_ms,"
            "query_turnaround_mean_ms,max_queue,control_met,control_missed,control_compliance\n");
  EXPECT_NE(connectors_csv(r).find("\nsecurities.csdc,securities,,40,0.010000,3600000.0,"
                                   "10800000.0,,3,6,9,0.400000\n"),
            std::string::npos)
      << connectors_csv(r);
  r.connectors[0].name = "bank, \"b\"";
  EXPECT_NE(connectors_csv(r).find("\n\"bank, \"\"b\"\"\",deposit,"), std::string::npos)
      << connectors_csv(r);
}

}  // namespace
}  // namespace chakong::sim
