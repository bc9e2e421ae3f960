#include "chakong/engine/ledger.h"

#include <cassert>

namespace chakong::engine {

Status Ledger::reserve(Fen amount) {
  if (amount <= Fen()) {
    return invalid_argument_error("reservation " + format_fen(amount) + " must be positive");
  }
  if (amount > remaining()) {
    return resource_exhausted_error("reservation " + format_fen(amount) + " exceeds the " +
                                    format_fen(remaining()) + " left of the " +
                                    format_fen(budget_) + " budget");
  }
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
