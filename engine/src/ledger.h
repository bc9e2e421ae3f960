// Ledger: one case's seizure budget, so that freezes in flight can never add up to more
// than the claim (DOMAIN rule 2, no over-seizure).
//
//   budget    = claim + costs                         (fixed at filing)
//   remaining = budget - deducted - frozen - reserved - indivisible_cover
//
// A freeze first reserve()s its amount; the answer then commit()s what was frozen and gives
// the unused part back, so the planner can continue on other assets. Seals on indivisible
// assets (a flat, a car) do not freeze money; their value covers part of the budget
// (`cover_indivisible`) so that the planner seals no more of them than needed. The
// divisible invariant is frozen + reserved + deducted <= budget + tolerance, always, plus less
// than one unit price when a whole-unit (securities) freeze was rounded up to cover the rest.
//
// Plain value type; owned by the case's shard, no locking.
#ifndef CHAKONG_ENGINE_SRC_LEDGER_H_
#define CHAKONG_ENGINE_SRC_LEDGER_H_

#include "chakong/base/money.h"
#include "chakong/base/status.h"

namespace chakong::engine {

class Ledger {
 public:
  Ledger() = default;
  explicit Ledger(Fen budget) : budget_(budget) {}
  // A ledger as journaled (case-server recovery).
  static Ledger restore(Fen budget, Fen frozen, Fen reserved, Fen pending, Fen deducted,
                        Fen indivisible_cover) {
    Ledger l(budget);
    l.frozen_ = frozen;
    l.reserved_ = reserved;
    l.pending_ = pending;
    l.deducted_ = deducted;
    l.cover_ = indivisible_cover;
    return l;
  }

  // Reserves `amount` of the budget before a freeze is sent, so that freezes in flight can
  // never add up to more than the claim. kResourceExhausted when the remaining budget is
  // smaller than `amount`, kInvalidArgument when it is not positive; nothing is reserved then.
  // `whole_unit` > 0: a freeze in whole units of that price (securities), which may exceed the
  // remaining budget by less than one unit (DOMAIN rule 2's one tolerance for securities,
  // docs/domain.md); the over-seizure invariant then allows that much (unit_allowance()).
  [[nodiscard]] Status reserve(Fen amount, Fen whole_unit = Fen());
  // Settles a reservation of `reserved` of which `frozen` was actually frozen (0 <= frozen
  // <= reserved): the unused part returns to the budget. Returns the unused part.
  Fen commit(Fen reserved, Fen frozen);
  // Like commit(), but keeps the whole reservation as frozen-or-pending: used when the
  // institution tops up a short limited freeze from later credits (its limit stays claimed).
  void commit_limit(Fen reserved, Fen frozen);
  // Gives a reservation back whole (the freeze failed).
  void cancel(Fen reserved);
  // Frozen funds left the case: released or lapsed (`amount` <= frozen).
  void unfreeze(Fen amount);
  // Frozen funds were transferred to the case account.
  void deduct(Fen amount);
  // The institution filled `amount` of a pending limit (a top-up or a waiting-list fill):
  // moves it from pending to frozen.
  void fill_pending(Fen amount);
  // A pending limit will never be filled (its measure ended): gives it back.
  void settle_pending(Fen amount);
  // Indivisible seals cover `value` of the budget (capped at what remains); returns the
  // part counted.
  Fen cover_indivisible(Fen value);
  void uncover_indivisible(Fen value);

  Fen budget() const { return budget_; }
  Fen frozen() const { return frozen_; }
  Fen reserved() const { return reserved_; }
  Fen pending() const { return pending_; }
  Fen deducted() const { return deducted_; }
  Fen indivisible_cover() const { return cover_; }
  // How far committed() may exceed the budget because a whole-unit freeze was rounded up: one
  // fen less than the largest unit price reserved over the remaining budget (0 when none).
  Fen unit_allowance() const { return unit_allowance_; }
  // Recovery: the allowance is not journaled; the case derives it again from the unit prices
  // of its securities findings (an upper bound of what its rounded freezes can have used).
  void restore_unit_allowance(Fen allowance) { unit_allowance_ = max(unit_allowance_, allowance); }
  Fen remaining() const { return budget_ - deducted_ - frozen_ - reserved_ - pending_ - cover_; }
  // Divisible money held or claimed against the budget: the over-seizure invariant is
  // committed() <= budget() + tolerance + unit_allowance().
  Fen committed() const { return frozen_ + reserved_ + pending_ + deducted_; }
  bool satisfied() const { return deducted_ >= budget_; }

 private:
  Fen budget_;
  Fen frozen_;
  Fen reserved_;
  Fen pending_;  // Limits of short freezes the institution may still top up.
  Fen deducted_;
  Fen cover_;
  Fen unit_allowance_;
};

}  // namespace chakong::engine

#endif  // CHAKONG_ENGINE_SRC_LEDGER_H_
