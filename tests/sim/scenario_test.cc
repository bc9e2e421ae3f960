// Scenario files: bad input is refused whole with the file, the field path and the value.
#include "chakong/sim/scenario.h"

#include <gtest/gtest.h>

namespace chakong::sim {
namespace {

constexpr char kMinimal[] = R"(
name: tiny
population: {debtors: 100}
institutions:
  - {kind: bank, name: b, count: 3}
)";

StatusOr<SimulationConfig> compile(const std::string& yaml) {
  StatusOr<v1::Scenario> s = parse_scenario_yaml(yaml, "t.yaml");
  if (!s.ok()) return s.status();
  return compile_scenario(*s, "t.yaml");
}

TEST(ScenarioTest, MinimalScenarioGetsDefaults) {
  StatusOr<SimulationConfig> c = compile(kMinimal);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->name, "tiny");
  EXPECT_EQ(c->start.to_string(), "2025-01-01");
  EXPECT_EQ(c->days, 365);
  EXPECT_EQ(c->seed, 1u);
  EXPECT_DOUBLE_EQ(c->no_property_share, 0.43);
  EXPECT_EQ(c->balance.median, Fen::from_yuan(8'000));
  ASSERT_EQ(c->groups.size(), 1u);
  EXPECT_EQ(c->groups[0].count, 3);
  EXPECT_EQ(c->groups[0].query.median, 2 * kMicrosPerHour);
  EXPECT_EQ(c->timeout, 2 * kMicrosPerDay);
}

TEST(ScenarioTest, DurationsParseWithUnits) {
  EXPECT_EQ(*parse_duration("90s"), 90 * kMicrosPerSecond);
  EXPECT_EQ(*parse_duration("1.5h"), 90 * kMicrosPerMinute);
  EXPECT_EQ(*parse_duration("2d"), 2 * kMicrosPerDay);
  EXPECT_EQ(parse_duration("2x").status(),
            invalid_argument_error("'2x' is not a duration (use 90s, 30m, 6h or 2d)"));
  EXPECT_EQ(parse_duration("h").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(parse_duration("-1h").status().code(), StatusCode::kInvalidArgument);
  // Bounded after scaling: these wrapped around to minutes before.
  EXPECT_EQ(parse_duration("300000000d").status(),
            invalid_argument_error(
                "'300000000d' is longer than 3650d, the longest duration a scenario takes"));
  EXPECT_EQ(parse_duration("3651d").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(*parse_duration("3650d"), 3650 * kMicrosPerDay);
  EXPECT_EQ(parse_duration("1e300s").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(parse_duration("nans").status().code(), StatusCode::kInvalidArgument);
}

struct Bad {
  const char* yaml;
  const char* message;
};

class BadScenarioTest : public ::testing::TestWithParam<Bad> {};

TEST_P(BadScenarioTest, RefusedWithFileFieldAndValue) {
  StatusOr<SimulationConfig> c = compile(GetParam().yaml);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(c.status().message(), GetParam().message);
}

void PrintTo(const Bad& b, std::ostream* os) { *os << b.message; }

INSTANTIATE_TEST_SUITE_P(
    Inputs, BadScenarioTest,
    ::testing::Values(
        Bad{"name: [",
            "t.yaml: not valid YAML: yaml-cpp: error at line 1, column 1: end of "
            "sequence flow not found"},
        Bad{"- a\n- b\n", "t.yaml: the file must be a mapping"},
        Bad{"name: x\npopulaton: {debtors: 1}\n",
            "t.yaml: populaton: unknown field (known here: name, seed, start, days, population, "
            "cases, institutions, engine, library, sweep)"},
        Bad{"name: x\npopulation: {debtors: many}\n",
            "t.yaml: population.debtors: 'many' is not a valid int64"},
        Bad{"name: x\npopulation: {debtors: 0}\ninstitutions: [{kind: bank, name: b}]\n",
            "t.yaml: population.debtors: 0 must be in 1..100000000"},
        Bad{"population: {debtors: 5}\ninstitutions: [{kind: bank, name: b}]\n",
            "t.yaml: name: is required"},
        Bad{"name: x\npopulation: {debtors: 5, no_property_share: 1.5}\n"
            "institutions: [{kind: bank, name: b}]\n",
            "t.yaml: population.no_property_share: 1.500000 must be a share in [0, 1]"},
        Bad{"name: x\npopulation: {debtors: 5, balance: {median: '¥8,00'}}\n"
            "institutions: [{kind: bank, name: b}]\n",
            "t.yaml: population.balance.median: amount '¥8,00' has a misplaced ','"},
        Bad{"name: x\npopulation: {debtors: 5}\ninstitutions: [{kind: trust, name: b}]\n",
            "t.yaml: institutions[0].kind: 'trust' is not bank, securities, real_estate, vehicle "
            "or provident_fund"},
        Bad{"name: x\npopulation: {debtors: 5}\ninstitutions:\n  - kind: bank\n    name: b\n"
            "    latency: {query: {median: 2x}}\n",
            "t.yaml: institutions[0].latency.query.median: '2x' is not a duration (use 90s, 30m, "
            "6h or 2d)"},
        Bad{"name: x\npopulation: {debtors: 5}\ninstitutions:\n  - {kind: bank, name: b, hours: "
            "'9-5'}\n",
            "t.yaml: institutions[0].hours: '9-5' is not 'always', 'HH:MM-HH:MM' or 'eod HH:MM'"},
        Bad{"name: x\npopulation: {debtors: 5}\ninstitutions:\n  - kind: bank\n    name: b\n"
            "    outages: [{instance: 3, start: 2025-03-03T08:00, duration: 30h}]\n",
            "t.yaml: institutions[0].outages[0].instance: 3 is not an instance of this group "
            "(0..0)"},
        Bad{"name: x\npopulation: {debtors: 5}\ninstitutions:\n  - kind: bank\n    name: b\n"
            "    outages: [{instance: 0, start: 2025-03-03 08:00, duration: 30h}]\n",
            "t.yaml: institutions[0].outages[0].start: '2025-03-03 08:00' is not YYYY-MM-DDTHH:MM"},
        Bad{"name: x\npopulation: {debtors: 5}\ninstitutions: [{kind: vehicle, name: v}]\n",
            "t.yaml: institutions: at least one bank group is required (deposits are where money "
            "is)"},
        Bad{"name: x\npopulation: {debtors: 5}\ncases: {terminate_after_days: 30}\n"
            "institutions: [{kind: bank, name: b}]\n",
            "t.yaml: cases.terminate_after_days: 30 must be in 90..3650 (termination needs 3 "
            "months)"},
        Bad{"name: x\nstart: 2025-02-30\npopulation: {debtors: 5}\n"
            "institutions: [{kind: bank, name: b}]\n",
            "t.yaml: start: date '2025-02-30': date 2025-02-30 does not exist"},
        Bad{"name: x\npopulation: {debtors: 5}\ninstitutions: [{kind: bank, name: b}]\n"
            "sweep: {policy: weekly}\n",
            "t.yaml: sweep.policy: 'weekly' is not half_year or anniversary"},
        Bad{"name: x\npopulation: {debtors: 5}\ninstitutions: [{kind: bank, name: b}]\n"
            "sweep: {starts: ['01-01', '13-01']}\n",
            "t.yaml: sweep.starts[1]: '13-01' is not a day of the year as MM-DD"},
        Bad{"name: x\npopulation: {debtors: 5}\ninstitutions: [{kind: bank, name: b}]\n"
            "sweep: {window: 12h}\n",
            "t.yaml: sweep.window: '12h' must be a whole number of days >= 1d"},
        Bad{"name: x\npopulation: {debtors: 5}\ninstitutions: [{kind: bank, name: b}]\n"
            "library: {cases: -4}\n",
            "t.yaml: library.cases: -4 must be in 0..50000000"},
        Bad{"name: x\npopulation: {debtors: 5}\nname: y\ninstitutions: [{kind: bank, name: b}]\n",
            "t.yaml: name: given twice (lines 1 and 3)"},
        Bad{"name: x\npopulation: {debtors: 5, debtors: 6}\n",
            "t.yaml: population.debtors: given twice (lines 2 and 2)"},
        Bad{"name: x\npopulation: {debtors: 5, no_property_share: .nan}\n"
            "institutions: [{kind: bank, name: b}]\n",
            "t.yaml: population.no_property_share: '.nan' is not a finite number"},
        Bad{"name: x\npopulation: {debtors: 5}\ninstitutions: [{kind: bank, name: b}]\n"
            "cases: {per_year: .inf}\n",
            "t.yaml: cases.per_year: '.inf' is not a finite number"},
        Bad{"name: x\npopulation: {debtors: 5}\ninstitutions: [{kind: bank, name: b}]\n"
            "engine: {timeout: 300000000d}\n",
            "t.yaml: engine.timeout: '300000000d' is longer than 3650d, the longest duration a "
            "scenario takes"},
        Bad{"name: x\nstart: 2026-06-01\npopulation: {debtors: 5}\n"
            "institutions: [{kind: bank, name: b}]\n",
            "t.yaml: days: the run, 2026-06-01 to 2027-05-31, is not all in the working-day "
            "calendar (2024-01-01..2026-12-31): 2027-01-01 is the first day not covered"},
        Bad{"name: x\nstart: 2023-12-01\ndays: 30\npopulation: {debtors: 5}\n"
            "institutions: [{kind: bank, name: b}]\n",
            "t.yaml: start: the run, 2023-12-01 to 2023-12-30, is not all in the working-day "
            "calendar (2024-01-01..2026-12-31): 2023-12-01 is the first day not covered"},
        Bad{"name: x\ndays: 30\npopulation: {debtors: 5}\ninstitutions:\n  - kind: bank\n"
            "    name: b\n    outages: [{instance: 0, start: 2025-03-03T08:00, duration: 30h}]\n",
            "t.yaml: institutions[0].outages[0].start: '2025-03-03T08:00' for 30h is outside the "
            "run (2025-01-01 for 30 days)"}));

TEST(ScenarioTest, AnExplicitZeroIsHonouredNotTheDefault) {
  StatusOr<SimulationConfig> c = compile(std::string(kMinimal) +
                                         "cases: {preservation_share: 0}\n"
                                         "library: {hit_share: 0}\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_DOUBLE_EQ(c->preservation_share, 0.0);  // Left out it would be 0.05.
  EXPECT_DOUBLE_EQ(c->library_hit_share, 0.0);   // And 0.03.
  StatusOr<SimulationConfig> d = compile(
      "name: tiny\npopulation: {debtors: 100, no_property_share: 0, accounts_per_debtor: 0}\n"
      "institutions:\n  - {kind: bank, name: b, count: 3}\n");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_DOUBLE_EQ(d->no_property_share, 0.0);
  EXPECT_DOUBLE_EQ(d->accounts_per_debtor, 0.0);
  const auto refused = [](const std::string& extra) {
    return compile(std::string(kMinimal) + extra).status().message();
  };
  EXPECT_EQ(refused("days: 0\n"), "t.yaml: days: 0 must be in 1..3660");
  EXPECT_EQ(refused("engine: {shards: 0}\n"), "t.yaml: engine.shards: 0 must be in 1..64");
  EXPECT_EQ(refused("engine: {max_attempts: 0}\n"),
            "t.yaml: engine.max_attempts: 0 must be in 1..100");
  EXPECT_EQ(refused("cases: {officers: 0}\n"), "t.yaml: cases.officers: 0 must be in 1..100000");
  EXPECT_EQ(refused("library: {years: 0}\n"), "t.yaml: library.years: 0 must be in 1..5");
}

TEST(ScenarioTest, OverridesApplyBeforeValidation) {
  StatusOr<v1::Scenario> s = parse_scenario_yaml(
      kMinimal, "t.yaml",
      {"engine.timeout=3d", "institutions[name=b].capacity=8", "population.debtors=7",
       "institutions[0].latency={query: {median: 1h, p99: 5h}}", "name=sweep test"});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->engine().timeout(), "3d");  // Added: the file has no engine section.
  EXPECT_EQ(s->institutions(0).capacity(), 8);
  EXPECT_EQ(s->institutions(0).count(), 3);  // Untouched.
  EXPECT_EQ(s->population().debtors(), 7);
  EXPECT_EQ(s->institutions(0).latency().query().median(), "1h");
  EXPECT_EQ(s->name(), "sweep test");
}

TEST(ScenarioTest, BadOverridesAreRefusedNamingThem) {
  const auto refused = [](const std::string& o) {
    return parse_scenario_yaml(kMinimal, "t.yaml", {o}).status().message();
  };
  EXPECT_EQ(refused("engine.timeout"),
            "t.yaml: --set 'engine.timeout': must be path=value, e.g. engine.timeout=2d");
  EXPECT_EQ(refused("institutions[3].capacity=1"),
            "t.yaml: --set 'institutions[3].capacity=1': institutions has 1 items, no [3]");
  EXPECT_EQ(refused("institutions[name=z].capacity=1"),
            "t.yaml: --set 'institutions[name=z].capacity=1': no item of institutions has name z");
  EXPECT_EQ(refused("population[0].debtors=1"),
            "t.yaml: --set 'population[0].debtors=1': population is not a list");
  // The value is validated as the file is.
  EXPECT_EQ(refused("population.debtors=many"),
            "t.yaml: population.debtors: 'many' is not a valid int64");
  EXPECT_EQ(
      refused("population.speed=3"),
      "t.yaml: population.speed: unknown field (known here: debtors, no_property_share, "
      "organisation_share, accounts_per_debtor, balance, real_estate_share, vehicle_share, "
      "securities_share, provident_fund_share, real_estate_value, vehicle_value, "
      "securities_value, provident_fund_balance, late_property_share, balance_churn_per_day)");
}

TEST(ScenarioTest, MissingFileIsNotFound) {
  EXPECT_EQ(load_scenario_file("/nonexistent.yaml").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace chakong::sim
