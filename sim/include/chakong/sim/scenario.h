// Scenarios: the YAML files of `chakong simulate`, their schema (chakong.v1.Scenario) and the
// validated, typed configuration a simulation runs from.
//
// Loading never half-applies: a file with an unknown field, a value of the wrong type, a bad
// duration, amount or date, or an impossible combination is refused whole, with the file, the
// field path and the value: "district.yaml: institutions[1].latency.query.median: '2x' is not
// a duration (use 90s, 30m, 6h or 2d)".
#ifndef CHAKONG_SIM_SCENARIO_H_
#define CHAKONG_SIM_SCENARIO_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chakong/base/calendar.h"
#include "chakong/base/date.h"
#include "chakong/base/money.h"
#include "chakong/connectors/connector.h"
#include "chakong/engine/library.h"
#include "chakong/sim/behaviour.h"
#include "chakong/v1/scenario.pb.h"

namespace chakong::sim {

// "90s", "30m", "6h", "2d" (decimals allowed: "1.5h"); kInvalidArgument naming the text.
[[nodiscard]] StatusOr<TimeUs> parse_duration(std::string_view text);

// Parses YAML text onto the schema. Errors: "<source>: <path>: <what>".
//
// `overrides` ("path=value", as `chakong simulate --set` takes them) are applied to the YAML
// before it is read, so they are validated exactly as the file is. A path is field names
// joined by dots, with [N] for the N-th item of a list or [field=value] for the item whose
// field has that value; the value is YAML ("6h", "0.05", "{median: 2h, p99: 20h}"):
//   engine.timeout=2d   institutions[name=b].capacity=8   institutions[0].outages=[]
// A missing field is added; a list item that does not exist is an error naming the override.
[[nodiscard]] StatusOr<v1::Scenario> parse_scenario_yaml(
    std::string_view text, std::string_view source, const std::vector<std::string>& overrides = {});
[[nodiscard]] StatusOr<v1::Scenario> load_scenario_file(
    const std::string& path, const std::vector<std::string>& overrides = {});

// An override's path and value, split at the first '=' outside brackets, so that a selector's
// own '=' stays in the path: "institutions[name=b].capacity=8" is {"institutions[name=b]
// .capacity", "8"}. Unset when there is no such '=' or the path is empty.
struct OverrideParts {
  std::string path, value;
};
[[nodiscard]] std::optional<OverrideParts> split_override(std::string_view spec);

// The items of a comma-separated list of YAML values, split only at commas outside braces,
// brackets and quotes: "1,{median: 2h, p99: 4h}" is {"1", "{median: 2h, p99: 4h}"}.
[[nodiscard]] std::vector<std::string> split_values(std::string_view list);

struct MoneySpread {
  Fen median;
  Fen p99;
};

struct GroupConfig {
  std::string kind;
  std::string name;
  int count = 1;
  AssetCategory category = AssetCategory::kDeposit;
  LatencyDist query, control, other;
  BusinessHours hours;
  int capacity = 0;
  double rate_per_second = 0;
  int max_in_flight = 64;
  int max_batch = 100;
  TimeUs linger = 5 * kMicrosPerMinute;
  std::vector<std::pair<int, OutageWindow>> outages;  // (instance, window)
  double error_rate = 0;
  double malformed_rate = 0, duplicate_rate = 0;
  double renewal_refusal_rate = 0, drain_share = 0;
  TimeUs drain_window = kMicrosPerDay;
  double zipf = 1.0;
  // Members reached through one network connector (总对总): each member a queued server
  // (kMembers), or the earlier approximation, a latency draw and a counter (kCounted).
  enum class Hub : uint8_t { kNone, kMembers, kCounted } hub = Hub::kNone;
  bool is_hub() const { return hub != Hub::kNone; }
  // kMembers: each member's servers (0 = unlimited), one per member (`members.capacity`, or
  // shared out by `members.capacity_by_share`), and how long the hub waits for a member's
  // answer to a query batch (0: for every member).
  std::vector<int> member_capacity;
  TimeUs member_timeout = 0;
};

// The servers of each of `count` hub members that share `total` by market share
// (`members.capacity_by_share`): member k (0-based) gets max(1, round(total * w_k / sum w)),
// w_k = 1 / (k + 1)^zipf. The floor of 1 means the sum can exceed `total` a little.
std::vector<int> capacity_by_share(int total, int count, double zipf);

// A scenario with every default applied and every unit parsed.
struct SimulationConfig {
  std::string name;
  uint64_t seed = 1;
  Date start;
  int days = 365;
  // The working-day calendar (scenario field `calendar`); null: WorkCalendar::china().
  std::shared_ptr<const WorkCalendar> calendar;
  const WorkCalendar& working_days() const { return calendar ? *calendar : WorkCalendar::china(); }

  int64_t debtors = 0;
  double no_property_share = 0.43, organisation_share = 0.15, accounts_per_debtor = 2.0;
  MoneySpread balance, real_estate_value, vehicle_value, securities_value, provident_fund_balance;
  double real_estate_share = 0.25, vehicle_share = 0.2, securities_share = 0.08,
         provident_fund_share = 0.35, late_property_share = 0.1, balance_churn_per_day = 0.02;

  double cases_per_year = 2000;
  MoneySpread claim;
  double preservation_share = 0.05;
  int max_debtors_per_case = 2;
  LatencyDist officer_delay;
  int terminate_after_days = 100;
  std::string court = "渝0110";
  int officers = 10;

  std::vector<GroupConfig> groups;

  int shards = 1;
  int renewal_lead_days = 30;
  TimeUs deduct_delay = 10 * kMicrosPerDay;
  TimeUs timeout = 2 * kMicrosPerDay;
  int max_attempts = 5;
  // network.transit: one-way transit engine <-> institution, the parallel windows' lookahead.
  TimeUs transit = kMicrosPerSecond;

  // The terminated-case library at the start, and the sweep.
  int64_t library_cases = 0;
  int library_years = 5;
  double library_hit_share = 0.03;
  int library_max_debtors = 1;
  MoneySpread library_remaining;
  engine::SweepConfig sweep;
  double bulk_floor = 0;
};

// A court code as case numbers carry it: a province-level abbreviation (渝, 京, 新, ...; 兵 for
// the Xinjiang Production and Construction Corps' courts) alone (a high court) or followed by
// 2 digits (an intermediate court, 渝01) or 4 (a basic court, 渝0110); or 最高法.
bool is_court_code(std::string_view code);

// A lower bound of the memory a run of `c` needs, in bytes: the population (33.6 B a debtor),
// the institutions' accounts (40 B each), the library (104 B a case) and the engine's state of
// the cases filed (2.8 KB a case), figures measured on the national year (docs/performance.md).
uint64_t estimated_memory_bytes(const SimulationConfig& c);
// The memory of this machine (physical pages), or 0 when unknown.
uint64_t machine_memory_bytes();

// Validates and compiles a scenario. Errors: "<source>: <path>: <what>". A run whose memory
// estimate exceeds `memory_limit` bytes (default: the machine's memory) is refused before
// anything is allocated, naming the estimate. The calendar file (`calendar`) is read relative
// to the directory of `source`.
[[nodiscard]] StatusOr<SimulationConfig> compile_scenario(const v1::Scenario& scenario,
                                                          std::string_view source,
                                                          uint64_t memory_limit = 0);

}  // namespace chakong::sim

#endif  // CHAKONG_SIM_SCENARIO_H_
