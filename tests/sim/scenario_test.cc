// Scenario files: bad input is refused whole with the file, the field path and the value.
#include "chakong/sim/scenario.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

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
  // Decimal, as integers are: std::stod alone read "0x2d" as two days.
  EXPECT_EQ(parse_duration("0x2d").status(),
            invalid_argument_error("'0x2d' is not a duration (use 90s, 30m, 6h or 2d)"));
  EXPECT_EQ(parse_duration("0x1p3h").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(parse_duration("infd").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(*parse_duration("010d"), 10 * kMicrosPerDay);  // A duration is never octal.
  EXPECT_EQ(*parse_duration("1e2s"), 100 * kMicrosPerSecond);
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
            "cases, institutions, engine, library, sweep, calendar, network)"},
        Bad{"name: x\npopulation: {debtors: many}\n",
            "t.yaml: population.debtors: 'many' is not a valid int64"},
        Bad{"name: x\npopulation: {debtors: 0}\ninstitutions: [{kind: bank, name: b}]\n",
            "t.yaml: population.debtors: 0 must be in 1..100000000"},
        Bad{"population: {debtors: 5}\ninstitutions: [{kind: bank, name: b}]\n",
            "t.yaml: name: is required"},
        Bad{"name: x\npopulation: {debtors: 5, no_property_share: 1.5}\n"
            "institutions: [{kind: bank, name: b}]\n",
            "t.yaml: population.no_property_share: 1.5 must be a share in [0, 1]"},
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
        Bad{"name: x\npopulation: {debtors: 5}\ninstitutions: [{kind: bank, name: b}]\n"
            "cases: {court: ABC}\n",
            "t.yaml: cases.court: 'ABC' is not a court code (a province abbreviation, alone or "
            "with 2 or 4 digits: 渝, 渝01, 渝0110; or 最高法)"},
        Bad{"name: x\npopulation: {debtors: 5}\ninstitutions: [{kind: bank, name: b}]\n"
            "cases: {court: 渝011}\n",
            "t.yaml: cases.court: '渝011' is not a court code (a province abbreviation, alone or "
            "with 2 or 4 digits: 渝, 渝01, 渝0110; or 最高法)"},
        Bad{"name: x\npopulation: {debtors: 5}\ninstitutions: [{kind: bank, name: b}]\n"
            "calendar: no-such-calendar.txt\n",
            "t.yaml: calendar: 'no-such-calendar.txt': cannot read calendar file "
            "'no-such-calendar.txt'"},
        Bad{"name: x\nstart: 2023-12-01\ndays: 30\npopulation: {debtors: 5}\n"
            "institutions: [{kind: bank, name: b}]\n",
            "t.yaml: start: the run, 2023-12-01 to 2023-12-30, is not all in the working-day "
            "calendar (2024-01-01..2026-12-31): 2023-12-01 is the first day not covered"},
        Bad{"name: x\ndays: 30\npopulation: {debtors: 5}\ninstitutions:\n  - kind: bank\n"
            "    name: b\n    outages: [{instance: 0, start: 2025-03-03T08:00, duration: 30h}]\n",
            "t.yaml: institutions[0].outages[0].start: '2025-03-03T08:00' for 30h is outside the "
            "run (2025-01-01 for 30 days)"},
        // The outage's length as given (a 30-minute one read "for 0h" before).
        Bad{"name: x\ndays: 30\npopulation: {debtors: 5}\ninstitutions:\n  - kind: bank\n"
            "    name: b\n    outages: [{instance: 0, start: 2024-12-31T23:00, duration: 30m}]\n",
            "t.yaml: institutions[0].outages[0].start: '2024-12-31T23:00' for 30m is outside the "
            "run (2025-01-01 for 30 days)"},
        Bad{"name: x\npopulation: {debtors: 5}\ninstitutions:\n  - kind: bank\n    name: b\n"
            "    outages: [{instance: 0, start: 2025-03-03T08:00, duration: 0m}]\n",
            "t.yaml: institutions[0].outages[0].duration: '0m' must be positive"},
        // Rates the dispatcher's token bucket cannot hold: both made a run spin forever.
        Bad{"name: x\npopulation: {debtors: 5}\n"
            "institutions: [{kind: bank, name: b, rate_per_second: 3e9}]\n",
            "t.yaml: institutions[0].rate_per_second: 3000000000 must be 0 (unlimited) or in "
            "0.00001..1000000 calls a second"},
        Bad{"name: x\npopulation: {debtors: 5}\n"
            "institutions: [{kind: bank, name: b, rate_per_second: 1e-300}]\n",
            "t.yaml: institutions[0].rate_per_second: 1e-300 must be 0 (unlimited) or in "
            "0.00001..1000000 calls a second"},
        Bad{"name: x\npopulation: {debtors: 5}\n"
            "institutions: [{kind: bank, name: b, rate_per_second: .inf}]\n",
            "t.yaml: institutions[0].rate_per_second: '.inf' is not a finite number"},
        Bad{"name: x\npopulation: {debtors: 5}\ninstitutions: [{kind: bank, name: b, capacity: "
            "-3}]\n",
            "t.yaml: institutions[0].capacity: -3 must be >= 0"},
        Bad{"name: x\npopulation: {debtors: 5}\ninstitutions: [{kind: bank, name: b, zipf: 9.5}]\n",
            "t.yaml: institutions[0].zipf: 9.5 must be in 0..5"},
        Bad{"name: x\npopulation: {debtors: 5}\ninstitutions:\n  - kind: bank\n    name: b\n"
            "    latency: {query: {median: 3h, p99: 1h}}\n",
            "t.yaml: institutions[0].latency.query.p99: '1h' must not be below the median '3h'"},
        Bad{"name: x\npopulation: {debtors: 5}\ninstitutions:\n  - kind: bank\n    name: b\n"
            "    latency: {query: {median: 30h}}\n",
            "t.yaml: institutions[0].latency.query.p99: '(default)' must not be below the median "
            "'30h'"},
        Bad{"name: x\npopulation: {debtors: 5, balance: {median: '1000', p99: '10'}}\n"
            "institutions: [{kind: bank, name: b}]\n",
            "t.yaml: population.balance.p99: '10' must not be below the median '1000'"},
        Bad{"name: x\npopulation: {debtors: 5}\ninstitutions: [{kind: bank, name: b}]\n"
            "cases: {per_year: 1e30}\n",
            "t.yaml: cases.per_year: 1e+30 must be in 0..20000000"},
        Bad{"name: x\npopulation: {debtors: 5}\ninstitutions: [{kind: bank, name: b}]\n"
            "engine: {timeout: 0s}\n",
            "t.yaml: engine.timeout: '0s' must be positive"},
        // An empty text is not "the default": a value given must be one.
        Bad{"name: x\npopulation: {debtors: 5}\ninstitutions: [{kind: bank, name: b}]\n"
            "engine: {timeout: ''}\n",
            "t.yaml: engine.timeout: '' is empty (leave the field out for its default)"},
        Bad{"name: x\npopulation: {debtors: 5}\ninstitutions: [{kind: bank, name: b, hours: "
            "\"\"}]\n",
            "t.yaml: institutions[0].hours: '' is empty (leave the field out for its default)"},
        Bad{"name: x\npopulation: {debtors: 5}\ninstitutions: [{kind: bank, name: b}]\n"
            "sweep: {spread: 0d}\n",
            "t.yaml: sweep.spread: '0d' must be at least 1d (a batch is released over one day at "
            "the least)"},
        Bad{"name: x\npopulation: {debtors: 5}\ninstitutions: [{kind: bank, name: b}]\n"
            "sweep: {starts: []}\n",
            "t.yaml: sweep.starts: [] is an empty list: give items, or leave the field out for its "
            "default"},
        Bad{"name: x\nseed: -1\npopulation: {debtors: 5}\ninstitutions: [{kind: bank, name: b}]\n",
            "t.yaml: seed: '-1' is not a valid uint64"}));

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

TEST(ScenarioTest, HubTakesMembersCountedOrFalse) {
  const auto hub = [](const std::string& fields) {
    return compile(
        "name: h\npopulation: {debtors: 100}\ninstitutions:\n"
        "  - {kind: bank, name: b, count: 4, capacity: 3" +
        fields + "}\n");
  };
  StatusOr<SimulationConfig> c = hub("");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->groups[0].hub, GroupConfig::Hub::kNone);
  EXPECT_TRUE(c->groups[0].member_capacity.empty());
  // `true` is `members`: each member a queued server with the group's capacity by default.
  for (const char* v : {"true", "members"}) {
    c = hub(std::string(", hub: ") + v);
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(c->groups[0].hub, GroupConfig::Hub::kMembers);
    EXPECT_EQ(c->groups[0].member_capacity, (std::vector<int>{3, 3, 3, 3}));
    EXPECT_EQ(c->groups[0].member_timeout, 0);
  }
  c = hub(", hub: counted");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->groups[0].hub, GroupConfig::Hub::kCounted);
  c = hub(", hub: false");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->groups[0].hub, GroupConfig::Hub::kNone);
  c = hub(", hub: members, members: {capacity: 0, timeout: 36h}");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->groups[0].member_capacity, (std::vector<int>{0, 0, 0, 0}));
  EXPECT_EQ(c->groups[0].member_timeout, 36 * kMicrosPerHour);
  // Shared out by market share, w_k = 1/(k+1): 100 x (0.48, 0.24, 0.16, 0.12).
  c = hub(", hub: members, zipf: 1, members: {capacity_by_share: 100}");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->groups[0].member_capacity, (std::vector<int>{48, 24, 16, 12}));

  const auto refused = [&](const std::string& fields) { return hub(fields).status().message(); };
  EXPECT_EQ(refused(", hub: maybe"),
            "t.yaml: institutions[0].hub: 'maybe' is not members, counted, true or false");
  EXPECT_EQ(refused(", members: {capacity: 2}"),
            "t.yaml: institutions[0].members: only a group with hub: members has members (this "
            "one has hub: false)");
  EXPECT_EQ(refused(", hub: counted, members: {capacity: 2}"),
            "t.yaml: institutions[0].members: only a group with hub: members has members (this "
            "one has hub: counted)");
  EXPECT_EQ(refused(", hub: members, members: {capacity: -1}"),
            "t.yaml: institutions[0].members.capacity: -1 must be in 0..100000 (0: unlimited)");
  EXPECT_EQ(refused(", hub: members, members: {capacity: 2, capacity_by_share: 10}"),
            "t.yaml: institutions[0].members.capacity_by_share: give capacity or "
            "capacity_by_share, not both (capacity is 2)");
  EXPECT_EQ(refused(", hub: members, members: {capacity_by_share: 3}"),
            "t.yaml: institutions[0].members.capacity_by_share: 3 must be in 4..10000000 (at "
            "least one server for each of the group's 4 members)");
  EXPECT_EQ(refused(", hub: members, members: {timeout: 0s}"),
            "t.yaml: institutions[0].members.timeout: '0s' must be positive");
  EXPECT_EQ(refused(", hub: members, members: {timeout: soon}"),
            "t.yaml: institutions[0].members.timeout: 'soon' is not a duration (use 90s, 30m, 6h "
            "or 2d)");
  EXPECT_EQ(refused(", hub: members, members: {servers: 2}"),
            "t.yaml: institutions[0].members.servers: unknown field (known here: capacity, "
            "capacity_by_share, timeout)");
}

TEST(ScenarioTest, CapacityByShareHasAFloorOfOneServer) {
  // 3,900 banks sharing 20,000 servers with zipf 1.1: the largest gets 3,220, the tail 1 each.
  const std::vector<int> c = capacity_by_share(20'000, 3'900, 1.1);
  ASSERT_EQ(c.size(), 3'900u);
  EXPECT_EQ(c[0], 3220);
  EXPECT_EQ(c[1], 1502);
  EXPECT_EQ(c[3899], 1);
  EXPECT_EQ(capacity_by_share(5, 5, 2.0), (std::vector<int>{3, 1, 1, 1, 1}));
  EXPECT_EQ(capacity_by_share(6, 3, 0.0), (std::vector<int>{2, 2, 2}));
}

TEST(ScenarioTest, NetworkTransitDefaultsToOneSecondAndIsBounded) {
  StatusOr<SimulationConfig> d = compile(kMinimal);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->transit, kMicrosPerSecond);
  StatusOr<SimulationConfig> c = compile(std::string(kMinimal) + "network: {transit: 0.25s}\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->transit, 250'000);
  const auto refused = [](const std::string& extra) {
    return compile(std::string(kMinimal) + extra).status().message();
  };
  EXPECT_EQ(refused("network: {transit: 0s}\n"),
            "t.yaml: network.transit: '0s' must be in 0.001s..1h (it is the parallel lookahead)");
  EXPECT_EQ(refused("network: {transit: 2h}\n"),
            "t.yaml: network.transit: '2h' must be in 0.001s..1h (it is the parallel lookahead)");
  EXPECT_EQ(refused("network: {transit: fast}\n"),
            "t.yaml: network.transit: 'fast' is not a duration (use 90s, 30m, 6h or 2d)");
}

TEST(ScenarioTest, IntegersAreDecimalNotHexadecimalOrOctal) {
  // yaml-cpp guesses the base (010 would be 8, as in YAML 1.1; YAML 1.2 reads 10): refused,
  // naming what the value would mean, in the file and through --set alike.
  const auto refused = [](const std::string& extra, std::vector<std::string> set = {}) {
    return parse_scenario_yaml(std::string(kMinimal) + extra, "t.yaml", set).status().message();
  };
  EXPECT_EQ(refused("days: 010\n"),
            "t.yaml: days: '010' has a leading zero, which YAML 1.1 reads as octal (8) and YAML "
            "1.2 as decimal (10): write 8 or 10");
  EXPECT_EQ(refused("days: 09\n"), "t.yaml: days: '09' has a leading zero: write 9");
  EXPECT_EQ(refused("seed: 0x10\n"),
            "t.yaml: seed: '0x10' is a hexadecimal integer: write integers in decimal (16)");
  EXPECT_EQ(refused("cases: {officers: 0o17}\n"),
            "t.yaml: cases.officers: '0o17' is an octal integer: write integers in decimal (15)");
  EXPECT_EQ(refused("library: {cases: 0b101}\n"),
            "t.yaml: library.cases: '0b101' is a binary integer: write integers in decimal (5)");
  EXPECT_EQ(refused("", {"institutions[name=b].capacity=0X1f"}),
            "t.yaml: institutions[0].capacity: '0X1f' is a hexadecimal integer: write integers in "
            "decimal (31)");
  EXPECT_EQ(refused("", {"population.debtors=-010"}),
            "t.yaml: population.debtors: '-010' has a leading zero, which YAML 1.1 reads as octal "
            "(-8) and YAML 1.2 as decimal (-10): write -8 or -10");
  EXPECT_EQ(refused("days: 0xZZ\n"),
            "t.yaml: days: '0xZZ' is a hexadecimal integer: write integers in decimal");
  // Decimal integers, zero included, are read as written.
  StatusOr<v1::Scenario> s =
      parse_scenario_yaml(std::string(kMinimal) + "days: 10\nseed: 0\ncases: {officers: 100}\n",
                          "t.yaml", {"institutions[name=b].capacity=16"});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->days(), 10);
  EXPECT_EQ(s->seed(), 0u);
  EXPECT_EQ(s->cases().officers(), 100);
  EXPECT_EQ(s->institutions(0).capacity(), 16);
}

TEST(ScenarioTest, OverridesSplitAtTheFirstEqualsOutsideASelector) {
  std::optional<OverrideParts> p = split_override("institutions[name=b].capacity=8");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->path, "institutions[name=b].capacity");
  EXPECT_EQ(p->value, "8");
  p = split_override("name=a=b");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->path, "name");
  EXPECT_EQ(p->value, "a=b");
  EXPECT_FALSE(split_override("institutions[name=b].capacity").has_value());
  EXPECT_FALSE(split_override("=3").has_value());
  // --vary's values: commas inside a YAML value or quotes are not separators.
  EXPECT_EQ(split_values("4,8,16"), (std::vector<std::string>{"4", "8", "16"}));
  EXPECT_EQ(split_values("1,{median: 2h, p99: 4h},[a, b],'x,y'"),
            (std::vector<std::string>{"1", "{median: 2h, p99: 4h}", "[a, b]", "'x,y'"}));
  EXPECT_EQ(split_values("5"), (std::vector<std::string>{"5"}));
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
  // A selector matching several items (a bank and a registry both named cq) names them all.
  EXPECT_EQ(
      parse_scenario_yaml("name: x\ninstitutions:\n  - {kind: bank, name: b}\n"
                          "  - {kind: real_estate, name: cq}\n  - {kind: vehicle, name: cq}\n",
                          "t.yaml", {"institutions[name=cq].capacity=5"})
          .status()
          .message(),
      "t.yaml: --set 'institutions[name=cq].capacity=5': institutions[name=cq] matches items "
      "1 and 2; name one by its index (institutions[1])");
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

TEST(ScenarioTest, CourtCodesAreProvinceAbbreviationsWithTwoOrFourDigits) {
  for (const char* good : {"渝0110", "渝01", "渝", "京0105", "兵0101", "最高法"}) {
    EXPECT_TRUE(is_court_code(good)) << good;
  }
  for (const char* bad : {"", "ABC", "渝011", "渝01100", "渝A110", "0110", "X渝0110", "最高"}) {
    EXPECT_FALSE(is_court_code(bad)) << bad;
  }
}

// A run that cannot fit is refused before anything is allocated, with the estimate.
TEST(ScenarioTest, DebtorsBeyondTheMemoryAreRefusedWithTheEstimate) {
  StatusOr<v1::Scenario> s = parse_scenario_yaml(
      "name: x\npopulation: {debtors: 100000000}\ninstitutions: [{kind: bank, name: b}]\n",
      "t.yaml");
  ASSERT_TRUE(s.ok()) << s.status();
  StatusOr<SimulationConfig> c = compile_scenario(*s, "t.yaml", /*memory_limit=*/1ull << 30);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  // 1e8 x 33.6 B + 5.7e7 accounts x 2 x 40 B + 2,000 cases x 2.8 KB = 7.38 GiB.
  EXPECT_EQ(c.status().message(),
            "t.yaml: population.debtors: 100000000 debtors, 2000 cases and 0 library cases need "
            "an estimated 7.4 GiB (at least), more than the 1.0 GiB of memory here");
  StatusOr<SimulationConfig> fits = compile_scenario(*s, "t.yaml", /*memory_limit=*/8ull << 30);
  ASSERT_TRUE(fits.ok()) << fits.status();
  EXPECT_EQ(estimated_memory_bytes(*fits), 7'925'600'000u);
  EXPECT_GT(machine_memory_bytes(), 0u);
  // Named after the field that needs the most: here the library (50e6 x 104 B = 4.8 GiB).
  StatusOr<v1::Scenario> lib = parse_scenario_yaml(
      "name: x\npopulation: {debtors: 1000}\ninstitutions: [{kind: bank, name: b}]\n"
      "library: {cases: 50000000}\n",
      "t.yaml");
  ASSERT_TRUE(lib.ok()) << lib.status();
  EXPECT_EQ(compile_scenario(*lib, "t.yaml", 1ull << 30).status().message(),
            "t.yaml: library.cases: 1000 debtors, 2000 cases and 50000000 library cases need an "
            "estimated 4.8 GiB (at least), more than the 1.0 GiB of memory here");
}

// Another year's official table, in the shipped format, read relative to the scenario file.
TEST(ScenarioTest, ACalendarFileExtendsTheRunPastTheBuiltInTable) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "chakong_cal_test";
  std::filesystem::create_directories(dir);
  {
    std::ofstream f(dir / "cn_2027.txt");
    f << "# 2027, for the test\nrange 2027-01-01 2027-12-31\n"
         "holiday 2027-01-01 元旦\nholiday 2027-02-06..2027-02-12 春节\n"
         "workday 2027-02-14 春节调休\n";
  }
  {
    std::ofstream f(dir / "s.yaml");
    f << "name: y2027\nstart: 2027-01-01\ndays: 60\ncalendar: cn_2027.txt\n"
         "population: {debtors: 300}\ncases: {per_year: 500}\n"
         "institutions: [{kind: bank, name: b, count: 2}]\nlibrary: {cases: 0}\n";
  }
  StatusOr<v1::Scenario> s = load_scenario_file((dir / "s.yaml").string());
  ASSERT_TRUE(s.ok()) << s.status();
  StatusOr<SimulationConfig> c = compile_scenario(*s, (dir / "s.yaml").string());
  ASSERT_TRUE(c.ok()) << c.status();
  const WorkCalendar& cal = c->working_days();
  EXPECT_EQ(cal.first().to_string(), "2027-01-01");
  EXPECT_EQ(*cal.is_working_day(*Date::parse("2027-02-08")), false);  // 春节, a Monday.
  EXPECT_EQ(*cal.is_working_day(*Date::parse("2027-02-14")), true);   // 调休, a Sunday.
  // Without the file the same dates are refused, naming the first day not covered.
  s->clear_calendar();
  StatusOr<SimulationConfig> builtin = compile_scenario(*s, (dir / "s.yaml").string());
  ASSERT_FALSE(builtin.ok());
  EXPECT_NE(builtin.status().message().find("2027-01-01 is the first day not covered"),
            std::string::npos)
      << builtin.status();
  // A bad line in the table is refused with the file and the line.
  {
    std::ofstream f(dir / "cn_2027.txt", std::ios::app);
    f << "holiday 2027-13-01 bad\n";
  }
  s->set_calendar("cn_2027.txt");
  StatusOr<SimulationConfig> bad = compile_scenario(*s, (dir / "s.yaml").string());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(
      bad.status().message().rfind((dir / "s.yaml").string() + ": calendar: 'cn_2027.txt': ", 0),
      0u)
      << bad.status();
  EXPECT_NE(bad.status().message().find("2027-13-01"), std::string::npos) << bad.status();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace chakong::sim
