// Experiments: the interval arithmetic on known samples, replications that are exactly the
// single runs of their seeds, output independent of the thread count, paired differences that
// tell an effect from noise, the capacity search, and `compare`.
#include "chakong/sim/experiment.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "chakong/sim/scenario.h"

namespace chakong::sim {
namespace {

const std::string kDistrict = std::string(CHAKONG_SOURCE_DIR) + "/scenarios/district.yaml";
// A small district: a month, 400 cases a year.
const std::vector<std::string> kSmall = {"population.debtors=1500", "cases.per_year=400",
                                         "library.cases=200"};

Variant small(std::string name, std::vector<std::string> extra = {}) {
  std::vector<std::string> o = kSmall;
  o.insert(o.end(), extra.begin(), extra.end());
  return {std::move(name), kDistrict, o};
}

TEST(ExperimentTest, StudentQuantilesAndIntervalOfAKnownSample) {
  EXPECT_DOUBLE_EQ(t_quantile_975(1), 12.706205);
  EXPECT_DOUBLE_EQ(t_quantile_975(4), 2.776445);
  EXPECT_DOUBLE_EQ(t_quantile_975(30), 2.042272);
  EXPECT_NEAR(t_quantile_975(40), 2.021075, 2e-6);
  EXPECT_NEAR(t_quantile_975(120), 1.979930, 2e-6);
  const Estimate e = estimate({1, 2, 3, 4, 5});
  EXPECT_EQ(e.n, 5u);
  EXPECT_DOUBLE_EQ(e.mean, 3);
  EXPECT_NEAR(e.stddev, 1.5811388, 1e-7);
  EXPECT_NEAR(e.half_width, 1.9632432, 1e-6);  // 2.776445 x 1.5811388 / sqrt(5).
  EXPECT_TRUE(e.interval);
  const Estimate one = estimate({7});
  EXPECT_FALSE(one.interval);
  EXPECT_DOUBLE_EQ(one.mean, 7);
  EXPECT_DOUBLE_EQ(one.half_width, 0);
}

TEST(ExperimentTest, FiguresAreFormattedByTheirName) {
  // One formatter for experiment.html, compare and the command's tables (the command's own
  // printed ¥35504742 +- ¥2996727 where the others gave separators).
  EXPECT_EQ(format_metric("money.frozen_fen", 3550474200.0), "¥35,504,742");
  EXPECT_EQ(format_metric("money.frozen_fen", -38906000.0), "-¥389,060");
  EXPECT_EQ(format_metric("money.frozen_fen", 99900.0), "¥999");
  EXPECT_EQ(format_metric("deadlines.control_48h.compliance", 0.99214), "99.21 %");
  EXPECT_EQ(format_metric("sweep.coverage", 1.0), "100.00 %");
  EXPECT_EQ(format_metric("deadlines.query_start.score", 99.794), "99.79");
  EXPECT_EQ(format_metric("sweep.max_run_days", 12.0), "12.00");
  EXPECT_EQ(format_metric("deadlines.control_48h.missed", 73.84), "73.8");
}

TEST(ExperimentTest, TargetsParseOrAreRefusedWithTheText) {
  StatusOr<Target> t = parse_target("deadlines.control_48h.compliance>=0.99");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->metric, "deadlines.control_48h.compliance");
  EXPECT_TRUE(t->at_least);
  EXPECT_DOUBLE_EQ(t->value, 0.99);
  EXPECT_TRUE(t->met_by(0.99));
  EXPECT_FALSE(t->met_by(0.9899));
  StatusOr<Target> le = parse_target("deadlines.control_48h.missed<=3");
  ASSERT_TRUE(le.ok());
  EXPECT_FALSE(le->at_least);
  for (const char* bad : {"compliance>0.99", ">=0.9", "x>=", "x>=0.9z", "x>=nan"}) {
    StatusOr<Target> b = parse_target(bad);
    ASSERT_FALSE(b.ok()) << bad;
    EXPECT_EQ(b.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(b.status().message().find(std::string("'") + bad + "'"), std::string::npos)
        << b.status().message();
  }
}

TEST(ExperimentTest, ReplicationsAreTheSingleRunsOfTheirSeedsWhateverTheThreads) {
  ExperimentSpec spec;
  spec.variants = {small("a")};
  spec.replications = 3;
  spec.seed = 11;
  spec.days = 30;
  std::vector<int> seen;
  spec.on_run = [&](int done, int total, const std::string& v, uint64_t) {
    EXPECT_EQ(total, 3);
    EXPECT_EQ(v, "a");
    seen.push_back(done);
  };
  spec.threads = 1;
  StatusOr<ExperimentResult> one = run_experiment(spec);
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(seen, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(one->seeds, (std::vector<uint64_t>{11, 12, 13}));
  spec.threads = 3;
  StatusOr<ExperimentResult> three = run_experiment(spec);
  ASSERT_TRUE(three.ok()) << three.status();
  EXPECT_EQ(experiment_json(spec, *one), experiment_json(spec, *three));
  EXPECT_EQ(experiment_html(spec, *one), experiment_html(spec, *three));

  // Each replication is exactly the plain run of its seed.
  const VariantResult& v = one->variants.front();
  ASSERT_EQ(v.metrics.front(), "deadlines.control_48h.compliance");
  for (int rep = 0; rep < 3; ++rep) {
    StatusOr<v1::Scenario> s = load_scenario_file(kDistrict, kSmall);
    ASSERT_TRUE(s.ok());
    s->set_days(30);
    s->set_seed(11 + rep);
    StatusOr<SimulationConfig> c = compile_scenario(*s, "district.yaml");
    ASSERT_TRUE(c.ok());
    StatusOr<SimulationReport> r = run_simulation(*c, SimulationOptions{});
    ASSERT_TRUE(r.ok());
    const std::vector<Metric> m = headline_metrics(*r);
    ASSERT_EQ(m.size(), v.metrics.size());
    for (size_t k = 0; k < m.size(); ++k) {
      EXPECT_EQ(m[k].name, v.metrics[k]);
      EXPECT_EQ(m[k].value, v.values[k][rep]) << m[k].name << " seed " << 11 + rep;
    }
  }
  // The estimate is of those values.
  const Estimate missed = estimate(v.values[2]);
  EXPECT_EQ(v.metrics[2], "deadlines.control_48h.missed");
  EXPECT_EQ(v.estimates[2].mean, missed.mean);
  EXPECT_EQ(v.estimates[2].half_width, missed.half_width);
}

TEST(ExperimentTest, PairedDifferencesTellAnEffectFromNoise) {
  ExperimentSpec spec;
  // The same scenario twice (an override to its own value) differs by exactly nothing; one
  // bank slot and five-day freezes at every bank miss many more 48-hour clocks.
  spec.variants = {small("base"), small("same", {"engine.max_attempts=5"}),
                   small("slow", {"institutions[name=b].latency.control={median: 3d, p99: 5d}"})};
  spec.replications = 3;
  spec.seed = 5;
  spec.days = 30;
  spec.threads = 2;
  StatusOr<ExperimentResult> r = run_experiment(spec);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->differences.size(), 2u);
  for (const Difference& d : r->differences[0]) {
    EXPECT_EQ(d.diff.mean, 0) << d.metric;
    EXPECT_EQ(d.diff.half_width, 0) << d.metric;
    EXPECT_FALSE(d.distinguishable) << d.metric;
  }
  const Difference& missed = r->differences[1][2];
  ASSERT_EQ(missed.metric, "deadlines.control_48h.missed");
  EXPECT_GT(missed.diff.lo(), 0);
  EXPECT_TRUE(missed.distinguishable);
  const std::string json = experiment_json(spec, *r);
  EXPECT_NE(json.find("\"seeds\": [\n      5,\n      6,\n      7\n    ]"), std::string::npos)
      << json.substr(0, 400);
  const std::string html = experiment_html(spec, *r);
  EXPECT_NE(html.find("(real)"), std::string::npos);
  EXPECT_NE(html.find("(noise)"), std::string::npos);
}

TEST(ExperimentTest, UnknownFieldInAVariantIsRefusedBeforeAnyRun) {
  ExperimentSpec spec;
  spec.variants = {small("a"), small("b", {"engine.no_such=1"})};
  int runs = 0;
  spec.on_run = [&](int, int, const std::string&, uint64_t) { ++runs; };
  StatusOr<ExperimentResult> r = run_experiment(spec);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("engine.no_such"), std::string::npos) << r.status();
  EXPECT_EQ(runs, 0);
  spec.variants.resize(1);
  spec.replications = 1;
  r = run_experiment(spec);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "--replications: 1 (at least 2 for a confidence interval)");
}

// A search of the banks' capacity in lo..hi on the small district (seeds 3 and 4, 30 days),
// the banks' freezes taking `control` ({median, p99}).
SearchSpec bank_capacity_search(const std::string& control, int64_t lo, int64_t hi,
                                const std::string& target) {
  SearchSpec s;
  s.base.variants = {small("a", {"institutions[name=b].latency.control=" + control})};
  s.base.replications = 2;
  s.base.seed = 3;
  s.base.days = 30;
  s.base.threads = 2;
  s.path = "institutions[name=b].capacity";
  s.lo = lo;
  s.hi = hi;
  s.target = *parse_target(target);
  return s;
}

TEST(ExperimentTest, SearchFindsTheSmallestCapacityThatMeetsTheTarget) {
  // With one slot per bank and a freeze needing minutes, misses fall with capacity; "missed
  // <= 1e9" is met everywhere, so the answer is the bottom of the range after two probes.
  SearchSpec s = bank_capacity_search("{median: 2h, p99: 4h}", 1, 8,
                                      "deadlines.control_48h.missed<=1000000000");
  StatusOr<SearchResult> r = run_search(s);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->probes.size(), 2u);
  EXPECT_EQ(r->probes[0].value, 8);
  EXPECT_EQ(r->probes[1].value, 1);
  EXPECT_EQ(r->smallest, 1);
  // Impossible: nothing meets it, after probing the top alone.
  s.target = *parse_target("deadlines.control_48h.compliance>=1.5");
  r = run_search(s);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->probes.size(), 1u);
  EXPECT_FALSE(r->smallest.has_value());
  EXPECT_FALSE(r->probes[0].met);
  EXPECT_TRUE(r->probes[0].confident);
  EXPECT_NE(search_json(s, *r).find("\"smallest\": null"), std::string::npos);
  // A metric that does not exist.
  s.target = *parse_target("deadlines.nothing>=1");
  r = run_search(s);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no metric 'deadlines.nothing'"), std::string::npos);
}

TEST(ExperimentTest, SearchBisectsRealRunsToTheExactCapacity) {
  // Freezes at the 40 banks take 12 h (p99 20 h) and each bank serves `capacity` calls at once:
  // one slot misses about a quarter of the 48-hour clocks, two miss 1 of 80 on seed 3, three
  // miss none. For 99.5 % the search must pass over 2 (99.38 %) and answer 3, from real runs.
  StatusOr<SearchResult> r = run_search(bank_capacity_search(
      "{median: 12h, p99: 20h}", 1, 16, "deadlines.control_48h.compliance>=0.995"));
  ASSERT_TRUE(r.ok()) << r.status();
  std::vector<int64_t> values;
  for (const Probe& p : r->probes) values.push_back(p.value);
  EXPECT_EQ(values, (std::vector<int64_t>{16, 1, 8, 4, 2, 3}));
  EXPECT_EQ(r->smallest, 3);
  EXPECT_TRUE(r->monotonic);
  ASSERT_EQ(r->probes.size(), 6u);
  // Seeds 3 and 4: 13/18 and 4/5 of the clocks met with one slot, 79/80 and all with two.
  EXPECT_DOUBLE_EQ(r->probes[1].estimate.mean, (13.0 / 18 + 0.8) / 2);
  EXPECT_FALSE(r->probes[1].met);
  EXPECT_DOUBLE_EQ(r->probes[4].estimate.mean, (79.0 / 80 + 1) / 2);
  EXPECT_FALSE(r->probes[4].met);
  EXPECT_FALSE(r->probes[4].confident);  // 99.38 %: the interval straddles 99.5 %.
  EXPECT_DOUBLE_EQ(r->probes[5].estimate.mean, 1.0);
  EXPECT_TRUE(r->probes[5].met);
  EXPECT_TRUE(r->probes[5].confident);  // Both seeds meet every clock: no spread at all.
}

TEST(ExperimentTest, BisectionProbesTopBottomThenMidpoints) {
  std::vector<int64_t> probes;
  auto at_least_13 = [&](int64_t v) -> StatusOr<bool> {
    probes.push_back(v);
    return v >= 13;
  };
  StatusOr<std::optional<int64_t>> r = bisect_smallest(1, 64, at_least_13);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 13);
  EXPECT_EQ(probes, (std::vector<int64_t>{64, 1, 32, 16, 8, 12, 14, 13}));
  probes.clear();
  r = bisect_smallest(14, 20, at_least_13);
  EXPECT_EQ(*r, 14);
  EXPECT_EQ(probes, (std::vector<int64_t>{20, 14}));
  probes.clear();
  r = bisect_smallest(1, 12, at_least_13);
  EXPECT_FALSE(r->has_value());
  EXPECT_EQ(probes, (std::vector<int64_t>{12}));
  auto p = [](int64_t v, bool met) { return Probe{v, Estimate{}, met, false}; };
  EXPECT_TRUE(probes_monotonic({p(64, true), p(1, false), p(32, true), p(16, false)}));
  EXPECT_FALSE(probes_monotonic({p(64, true), p(1, false), p(32, false), p(16, true)}));
  SearchSpec s;
  s.base.variants = {small("a")};
  s.path = "institutions[name=b].capacity";
  s.lo = 5;
  s.hi = 4;
  StatusOr<SearchResult> empty = run_search(s);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().message(), "--range: 5:4 is empty");
}

TEST(ExperimentTest, CompareSaysNoiseOrRealOnlyWithReplications) {
  const std::string a = R"({"experiment": {"replications": 3, "seeds": [1, 2, 3]},
    "variants": [{"name": "a", "metrics": {
      "deadlines.control_48h.missed": {"values": [10, 12, 14]},
      "deadlines.control_48h.compliance": {"values": [0.99, 0.98, 0.97]}}}]})";
  const std::string b = R"({"experiment": {"replications": 3, "seeds": [1, 2, 3]},
    "variants": [{"name": "b", "metrics": {
      "deadlines.control_48h.missed": {"values": [11, 13, 15]},
      "deadlines.control_48h.compliance": {"values": [0.97, 0.99, 0.98]}}}]})";
  StatusOr<std::string> text = compare_reports("a.json", a, "b.json", b);
  ASSERT_TRUE(text.ok()) << text.status();
  // Misses: +1 in every pair (real); compliance: differences -0.02, +0.01, +0.01 (noise).
  EXPECT_NE(text->find("paired seeds"), std::string::npos) << *text;
  EXPECT_NE(text->find("1.0 +- 0.0 real"), std::string::npos) << *text;
  EXPECT_NE(text->find("noise"), std::string::npos) << *text;
  const std::string r1 = R"({"scenario": {"name": "x", "seed": 1, "days": 3},
    "deadlines": {"control_48h": {"compliance": 0.5, "met": 1, "missed": 1}},
    "money": {"frozen_fen": 123456789},
    "sweep": {"coverage": null}, "connectors": [{"name": "bank.b", "control_missed": 1}]})";
  const std::string r2 = R"({"scenario": {"name": "x", "seed": 1, "days": 3},
    "deadlines": {"control_48h": {"compliance": 1.0, "met": 2, "missed": 0}},
    "money": {"frozen_fen": 100000000},
    "sweep": {"coverage": null}, "connectors": [{"name": "bank.b", "control_missed": 0}]})";
  text = compare_reports("r1.json", r1, "r2.json", r2);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_NE(text->find("single runs: no replications"), std::string::npos) << *text;
  EXPECT_NE(text->find("connectors[name=bank.b].control_missed"), std::string::npos) << *text;
  EXPECT_EQ(text->find("real"), std::string::npos) << *text;
  EXPECT_NE(text->find("50.00 %"), std::string::npos) << *text;
  // Money in whole yuan with separators, the sign before the ¥ (was "¥-234568").
  EXPECT_NE(text->find(" ¥1,234,568 "), std::string::npos) << *text;
  EXPECT_NE(text->find(" ¥1,000,000 "), std::string::npos) << *text;
  EXPECT_NE(text->find(" -¥234,568\n"), std::string::npos) << *text;
  text = compare_reports("bad.json", "{\"x\": 1}", "r2.json", r2);
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.status().message(), "bad.json: not a Chakong report.json or experiment.json");
}

// A variant's name comes from a file name or a --vary value the user typed: a tab, a quote or a
// <script> in it stays data in experiment.json (valid JSON) and in experiment.html (escaped in
// the text, the data island unable to close early).
TEST(ExperimentTest, VariantNamesWithTabsAndScriptsStayData) {
  const std::string evil = "v\t\"q\" </script><script>alert(1)</script>";
  ExperimentSpec spec;
  spec.replications = 2;
  spec.variants = {{"base", "a.yaml", {}}, {evil, "b<&>.yaml", {"name=</script>"}}};
  ExperimentResult r;
  r.seeds = {1, 2};
  for (const Variant& v : spec.variants) {
    VariantResult vr;
    vr.variant = v;
    vr.metrics = {"deadlines.control_48h.missed", "connectors[name=bank.<b>].control_missed"};
    vr.values = {{3, 5}, {1, 1}};
    for (const auto& values : vr.values) vr.estimates.push_back(estimate(values));
    r.variants.push_back(vr);
  }
  r.differences = {{{"deadlines.control_48h.missed", estimate({1, 1}), true},
                    {"connectors[name=bank.<b>].control_missed", estimate({0, 0}), false}}};
  nlohmann::json doc;
  ASSERT_NO_THROW(doc = nlohmann::json::parse(experiment_json(spec, r)));
  EXPECT_EQ(doc["variants"][1]["name"], evil);
  EXPECT_EQ(doc["variants"][1]["scenario"], "b<&>.yaml");
  EXPECT_EQ(doc["variants"][1]["set"][0], "name=</script>");
  EXPECT_EQ(doc["variants"][1]["metrics"]["deadlines.control_48h.missed"]["values"],
            nlohmann::json::parse("[3.0, 5.0]"));
  const std::string html = experiment_html(spec, r);
  EXPECT_EQ(html.find("<script>alert"), std::string::npos);
  EXPECT_EQ(html.find("bank.<b>"), std::string::npos);
  EXPECT_NE(html.find("v\t&quot;q&quot; &lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;"),
            std::string::npos);
  const size_t at = html.find("<script type=\"application/json\" id=\"data\">");
  ASSERT_NE(at, std::string::npos);
  const size_t from = html.find('>', at) + 1, to = html.find("</script>", from);
  EXPECT_EQ(nlohmann::json::parse(html.substr(from, to - from)), doc);
}

}  // namespace
}  // namespace chakong::sim
