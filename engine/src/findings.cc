// The case machine's findings and their 48-hour clocks (DOMAIN rule 5; case_machine.h). A
// finding (a query result or a lead) that can be frozen starts a clock; controlling it in
// time stops the clock (met), a covered budget or proportionality stops it without a miss,
// and running out reports it missed. The invariants (no over-seizure, the first moment of
// being wholly secured) are checked after each control step.
#include <algorithm>

#include "case_machine.h"

namespace chakong::engine::machine::findings {

using connectors::is_divisible;
using connectors::RequestKind;

void add(const Env& env, CaseState& c, uint32_t connector, const Asset& asset, TimeUs found_at,
         Effects& fx) {
  // The same asset reported twice (a repeated query, a lead) is one finding: never two
  // measures.
  const bool known = std::any_of(c.findings.begin(), c.findings.end(), [&](const Finding& f) {
    return f.connector == connector && f.asset.reference == asset.reference;
  });
  if (known) return;
  Finding f;
  f.connector = connector;
  f.asset = asset;
  f.found_at = found_at;
  ++env.stats.findings;
  fx.changed();
  const uint32_t fi = static_cast<uint32_t>(c.findings.size());
  const bool freezes =
      connector < env.connectors.size() && env.connectors[connector].caps.has(RequestKind::kFreeze);
  const bool clock = freezes && f.asset.value > Fen() && is_open(c);
  fx.emit(EventType::kFinding, connector, f.asset.value,
          std::string(asset_category_name(f.asset.category)), f.asset.reference,
          clock ? f.found_at + env.config.control_deadline : 0);
  if (clock) {
    // DOMAIN rule 5: a 48-hour clock from the moment the result arrives.
    f.due = f.found_at + env.config.control_deadline;
    f.clock_open = true;
    ++env.stats.control_started;
    fx.arm(TimerKind::kClock, fi, f.due);
  }
  c.findings.push_back(std::move(f));
}

void add_leads(const Env& env, CaseState& c, std::span<const Lead> leads, Effects& fx) {
  if (leads.empty()) return;
  if (c.status == CaseStatus::kFiled || c.status == CaseStatus::kQuerying) {
    c.status = CaseStatus::kControlling;
    fx.changed();
  }
  for (const Lead& l : leads) add(env, c, l.connector, l.asset, l.found_at, fx);
  fx.plan();
}

void stop_clock(CaseState& c, uint32_t fi, Effects& fx) {
  Finding& f = c.findings[fi];
  if (!f.clock_open) return;
  f.clock_open = false;
  fx.changed();
  fx.cancel(TimerKind::kClock, fi);
}

void on_clock_due(const Env& env, CaseState& c, uint32_t fi, Effects& fx) {
  Finding& f = c.findings[fi];
  if (!f.clock_open) return;
  f.clock_open = false;
  ++env.stats.control_missed;
  fx.changed();
  fx.emit(EventType::kControlMissed, f.connector, f.asset.value,
          "not controlled within " + std::to_string(env.config.control_deadline / kMicrosPerHour) +
              " hours of the finding",
          f.asset.reference);
}

void check_invariants(const Env& env, CaseState& c) {
  // Invariant 1: divisible money frozen, reserved, pending and deducted within the budget;
  // over it only by less than one unit of a whole-unit freeze rounded up (Ledger::reserve).
  if (c.ledger.committed() >
      c.ledger.budget() + env.config.over_seizure_tolerance + c.ledger.unit_allowance()) {
    ++env.stats.over_seizure;
  }
  if (!c.secured) {
    Fen held = c.ledger.frozen() + c.ledger.deducted();
    for (const Measure& m : c.measures) {
      if (m.live && !m.waiting && !is_divisible(asset_of(c, m).category)) held += m.amount;
    }
    if (held >= c.ledger.budget()) {
      c.secured = true;
      ++env.stats.cases_secured;
    }
  }
}

}  // namespace chakong::engine::machine::findings
