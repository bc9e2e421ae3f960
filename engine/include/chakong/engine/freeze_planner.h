// FreezePlanner: decides which found assets to freeze, and for how much, within a case's
// remaining budget.
//
// Order (DESIGN.md "Plan and freeze"): liquid first — deposits, provident fund, securities —
// then vehicles, then real estate; within a category the larger value first, so fewer
// freezes cover the claim. Divisible assets get min(value, remaining). Indivisible assets
// are planned only when `allow_indivisible` (the caller knows every query has answered, or a
// control clock is running out) and the divisible ones cannot cover the budget; then the
// smallest asset that covers the rest is sealed, else the largest, and so on, each with the
// reason recorded. An asset known to be under another authority's measure gets a
// waiting-list freeze.
//
// Pure function of its inputs: no time, no I/O.
#ifndef CHAKONG_ENGINE_FREEZE_PLANNER_H_
#define CHAKONG_ENGINE_FREEZE_PLANNER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "chakong/connectors/connector.h"
#include "chakong/engine/money.h"

namespace chakong::engine {

struct Candidate {
  uint32_t finding = 0;  // Caller's index.
  connectors::AssetCategory category = connectors::AssetCategory::kDeposit;
  Fen value;                    // Free balance (divisible) or value (indivisible).
  bool held_by_others = false;  // Known to be under another authority's measure.
};

struct PlannedFreeze {
  uint32_t finding = 0;
  Fen amount;  // To reserve (divisible) or the value covered (indivisible).
  bool waitlist = false;
  std::string reason;  // Why an indivisible asset is sealed; empty otherwise.
};

// Plans freezes for `remaining` of the budget over `candidates`.
std::vector<PlannedFreeze> plan_freezes(std::vector<Candidate> candidates, Fen remaining,
                                        bool allow_indivisible);

}  // namespace chakong::engine

#endif  // CHAKONG_ENGINE_FREEZE_PLANNER_H_
