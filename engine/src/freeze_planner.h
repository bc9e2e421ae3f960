// FreezePlanner: decides which found assets to freeze, and for how much, within a case's
// remaining budget.
//
// Order (docs/architecture.md, "The ledger and the planner"): liquid first — deposits, provident
// fund, securities — then vehicles, then real estate; within a category the larger value first, so
// fewer freezes cover the claim. Divisible assets get min(value, remaining). Indivisible assets are
// planned only when `allow_indivisible` (the caller knows every query has answered, or a control
// clock is running out) and the divisible ones cannot cover the budget; then the smallest asset
// that covers the rest is sealed, else the largest, and so on, each with the reason recorded. An
// asset known to be under another authority's measure gets a waiting-list freeze.
//
// Whole units: a position with a unit price (securities) is frozen in whole units, and the
// one that ends the fill is rounded up, so it may exceed the remainder by less than one unit
// price (the ledger allows that, and only that: Ledger::reserve). Rounding down instead would
// leave a few yuan uncovered, for which a flat would then be sealed.
//
// Proportionality (比例原则, docs/domain.md): an indivisible asset is sealed only while the
// remainder still uncovered is at least PlanPolicy::min_seal_remainder (see
// proportionate_seal_floor()); a smaller remainder is left uncovered and reported in the Plan,
// never chased with a seal worth far more than it.
//
// Pure function of its inputs: no time, no I/O.
//
//   PlanPolicy policy{.allow_indivisible = true,
//                     .min_seal_remainder = proportionate_seal_floor(claim, 0.01, Fen(100'000))};
//   Plan plan = plan_freezes(candidates, ledger.remaining(), policy);
#ifndef CHAKONG_ENGINE_SRC_FREEZE_PLANNER_H_
#define CHAKONG_ENGINE_SRC_FREEZE_PLANNER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "chakong/base/money.h"
#include "chakong/connectors/connector.h"

namespace chakong::engine {

struct Candidate {
  uint32_t finding = 0;  // Caller's index.
  AssetCategory category = AssetCategory::kDeposit;
  Fen value;                    // Free balance (divisible) or value (indivisible).
  bool held_by_others = false;  // Known to be under another authority's measure.
  Fen unit_price;               // Divisible assets frozen in whole units (securities); else 0.
};

struct PlannedFreeze {
  uint32_t finding = 0;
  Fen amount;  // To reserve (divisible) or the value covered (indivisible).
  bool waitlist = false;
  std::string reason;  // Why an indivisible asset is sealed; empty otherwise.
  // Whole units of this price (a securities position; else 0): `amount` may exceed the
  // remainder by less than one unit, to be reserved with Ledger::reserve(amount, whole_unit).
  Fen whole_unit;
};

struct PlanPolicy {
  // Seal indivisible assets at all (the caller knows every query has answered, or a control
  // clock is running out).
  bool allow_indivisible = false;
  // Proportionality: seal an indivisible asset only while the uncovered remainder is at least
  // this much (0: whenever divisible property is insufficient).
  Fen min_seal_remainder;
};

struct Plan {
  std::vector<PlannedFreeze> freezes;
  // The remainder left uncovered because sealing for it would be disproportionate (0 when
  // none), the seals the planner would otherwise have made for it, and why (for the event).
  Fen uncovered;
  uint32_t seals_avoided = 0;
  std::string uncovered_reason;
};

// Plans freezes for `remaining` of the budget over `candidates`.
Plan plan_freezes(std::vector<Candidate> candidates, Fen remaining, const PlanPolicy& policy);
// The same into `plan` (every field set; its vector's and string's buffers reused), sorting
// `candidates` in place: no allocation once both have grown, unless an indivisible asset is
// sealed or left uncovered (the reason is formatted).
void plan_freezes(std::vector<Candidate>& candidates, Fen remaining, const PlanPolicy& policy,
                  Plan& plan);
// The same with no proportionality floor.
std::vector<PlannedFreeze> plan_freezes(std::vector<Candidate> candidates, Fen remaining,
                                        bool allow_indivisible);

// The smallest remainder an indivisible asset may be sealed for: `min_share` of `claim`
// (rounded up to a fen) and at least `min_remainder`. `min_share` in [0, 1].
Fen proportionate_seal_floor(Fen claim, double min_share, Fen min_remainder);

}  // namespace chakong::engine

#endif  // CHAKONG_ENGINE_SRC_FREEZE_PLANNER_H_
