#include "ledger.h"

#include <cassert>

namespace chakong::engine {

Status Ledger::reserve(Fen amount, Fen whole_unit) {
  if (amount <= Fen()) {
    return invalid_argument_error("reservation " + format_fen(amount) + " must be positive");
  }
  // A whole-unit freeze rounded up covers the rest with less than one unit to spare.
  const bool rounded = whole_unit > Fen() && remaining() > Fen() && amount > remaining() &&
                       amount - remaining() < whole_unit;
  if (amount > remaining() && !rounded) {
    return resource_exhausted_error("reservation " + format_fen(amount) + " exceeds the " +
                                    format_fen(remaining()) + " left of the " +
                                    format_fen(budget_) + " budget");
  }
  if (rounded) unit_allowance_ = max(unit_allowance_, whole_unit - Fen(1));
  reserved_ += amount;
  return ok_status();
}

Fen Ledger::commit(Fen reserved, Fen frozen) {
  assert(frozen <= reserved && reserved <= reserved_);
  reserved_ -= reserved;
  frozen_ += frozen;
  return reserved - frozen;
}

void Ledger::commit_limit(Fen reserved, Fen frozen) {
  assert(frozen <= reserved && reserved <= reserved_);
  reserved_ -= reserved;
  frozen_ += frozen;
  pending_ += reserved - frozen;
}

void Ledger::cancel(Fen reserved) {
  assert(reserved <= reserved_);
  reserved_ -= reserved;
}

void Ledger::unfreeze(Fen amount) {
  assert(amount <= frozen_);
  frozen_ -= amount;
}

void Ledger::deduct(Fen amount) {
  assert(amount <= frozen_);
  frozen_ -= amount;
  deducted_ += amount;
}

void Ledger::fill_pending(Fen amount) {
  assert(amount <= pending_);
  pending_ -= amount;
  frozen_ += amount;
}

void Ledger::settle_pending(Fen amount) {
  assert(amount <= pending_);
  pending_ -= amount;
}

Fen Ledger::cover_indivisible(Fen value) {
  const Fen counted = min(value, max(Fen(), remaining()));
  cover_ += counted;
  return counted;
}

void Ledger::uncover_indivisible(Fen value) { cover_ -= min(value, cover_); }

}  // namespace chakong::engine
