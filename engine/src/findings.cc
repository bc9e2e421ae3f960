// Engine::Shard: findings and their 48-hour clocks (DOMAIN rule 5). A finding (a query result
// or a lead) that can be frozen starts a clock; controlling it in time stops the clock (met),
// a covered budget or proportionality stops it without a miss, and running out reports it
// missed. The invariants (no over-seizure, the first moment of being wholly secured) are
// checked after each control step.
#include <algorithm>

#include "shard.h"

namespace chakong::engine {

using connectors::is_divisible;
using connectors::Request;
using connectors::RequestKind;
using connectors::Response;

void Engine::Shard::add_finding(CaseState& c, uint32_t connector, Asset asset, TimeUs found_at) {
  // The same asset reported twice (a repeated query, a lead) is one finding: never two
  // measures.
  const bool known = std::any_of(c.findings.begin(), c.findings.end(), [&](const Finding& f) {
    return f.connector == connector && f.asset.reference == asset.reference;
  });
  if (known) return;
  const ConnectorInfo& info = shared_.connectors[connector];
  Finding f;
  f.connector = connector;
  f.asset = std::move(asset);
  f.found_at = found_at;
  ++stats_.findings;
  const bool clock = info.caps.has(RequestKind::kFreeze) && f.asset.value > Fen() && open(c);
  emit(EventType::kFinding, c, info.name, f.asset.value,
       std::string(asset_category_name(f.asset.category)), 0, f.asset.reference,
       clock ? f.found_at + config_.control_deadline : 0);
  const uint32_t fi = static_cast<uint32_t>(c.findings.size());
  if (clock) {
    // DOMAIN rule 5: a 48-hour clock from the moment the result arrives.
    f.due = f.found_at + config_.control_deadline;
    f.clock_open = true;
    const CaseRef ref = ref_of(c);
    f.clock = executor_.run_at(f.due, [this, cpr = ref, fi] {
      CaseState* const cp = resolve(cpr);
      if (cp == nullptr) return;
      on_control_due(*cp, fi);
    });
    ++stats_.control_started;
  }
  c.findings.push_back(std::move(f));
}

void Engine::Shard::stop_clock(Finding& f) {
  if (!f.clock_open) return;
  executor_.cancel(f.clock);
  f.clock_open = false;
}

void Engine::Shard::on_control_due(CaseState& c, uint32_t fi) {
  Finding& f = c.findings[fi];
  if (!f.clock_open) return;
  f.clock_open = false;
  ++stats_.control_missed;
  emit(EventType::kControlMissed, c, shared_.connectors[f.connector].name, f.asset.value,
       "not controlled within " + std::to_string(config_.control_deadline / kMicrosPerHour) +
           " hours of the finding",
       0, f.asset.reference);
}

void Engine::Shard::check_invariants(CaseState& c) {
  // Invariant 1: divisible money frozen, reserved, pending and deducted within the budget;
  // over it only by less than one unit of a whole-unit freeze rounded up (Ledger::reserve).
  if (c.ledger.committed() >
      c.ledger.budget() + config_.over_seizure_tolerance + c.ledger.unit_allowance()) {
    ++stats_.over_seizure;
  }
  if (!c.secured) {
    Fen held = c.ledger.frozen() + c.ledger.deducted();
    for (const Measure& m : c.measures) {
      if (m.live && !m.waiting && !is_divisible(asset_of(c, m).category)) held += m.amount;
    }
    if (held >= c.ledger.budget()) {
      c.secured = true;
      ++stats_.cases_secured;
    }
  }
}

}  // namespace chakong::engine
