// The terminated-case library (终本案件库) as an embedder sees it: what a case server imports
// (LibraryEntry) and the policy of the twice-yearly sweep (SweepConfig). After termination a
// case's debtors are re-queried every six months for five years, and a hit restores the case
// (docs/domain.md, "Terminated cases"). The compact store behind it is internal
// (engine/src/library.h).
#ifndef CHAKONG_ENGINE_LIBRARY_H_
#define CHAKONG_ENGINE_LIBRARY_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "chakong/base/case_number.h"
#include "chakong/base/date.h"
#include "chakong/base/money.h"
#include "chakong/base/status.h"

namespace chakong::engine {

// A debtor of a library case: an 18-character resident ID or credit code and its kind.
struct LibraryDebtor {
  bool organisation = false;
  std::string id;
};

// What a case server imports into the library (the plain form of one record).
struct LibraryEntry {
  std::string case_number;
  std::vector<LibraryDebtor> debtors;  // 1..255, each a valid ID, no repeats
  std::string officer_id;              // The officer on whose authority sweeps query.
  Fen remaining;                       // Claim left to enforce; > 0
  Date terminated;
  bool consumption_restricted = true;  // The standing high-consumption restriction.
  int measures_in_force = 0;           // Freezes kept in force at termination.
};

struct SweepConfig {
  enum class Policy : uint8_t {
    kHalfYearBatch,  // One run over the whole library at each start date.
    kAnniversary,    // Each case on every 6-month anniversary of its termination.
  };
  bool enabled = true;
  Policy policy = Policy::kHalfYearBatch;
  // Batch start dates as (month, day); default 1 January and 1 July. Anniversary runs are
  // reported per half-year period beginning on these dates too.
  std::vector<std::pair<int, int>> starts = {{1, 1}, {7, 1}};
  int interval_months = 6;  // Re-query every 6 months...
  int years = 5;            // ...for 5 years after termination.
  // Every due case must be swept within this many days of its run start (batch) or its
  // anniversary; the report says whether each run fit.
  int window_days = 30;
  // A batch run releases its cases evenly over this many days (0 = three quarters of the
  // window), so the sweep is a steady BULK trickle, not a flood.
  int spread_days = 0;
  // Library cases with queries out at once, over all shards (back-pressure on the BULK
  // lanes; the dispatchers give BULK only leftover capacity plus DispatcherConfig::bulk_floor).
  int max_in_flight_cases = 20'000;
  // How often a run releases its next share of cases.
  TimeUs tick = 10 * kMicrosPerMinute;
  // 执恢 serials the engine gives restored cases: base + n * shards + shard (n = 1, 2, ...),
  // so shards never collide; a case server that numbers them itself calls restore_case().
  int64_t restore_serial_base = 900'000;
};

// Validates a sweep config; kInvalidArgument naming the field and value.
Status validate(const SweepConfig& config);

// The date `months` calendar months after `d`, clamped to the month's last day
// (2026-08-31 + 6 -> 2027-02-28).
Date add_months(Date d, int months);

}  // namespace chakong::engine

#endif  // CHAKONG_ENGINE_LIBRARY_H_
