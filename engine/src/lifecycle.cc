// A case's lifecycle. The case machine's part (machine::lifecycle, case_machine.h): filing
// (counted, the query start armed), conclusion (clocks stopped, measures released),
// termination into the library, and whether a concluded case has settled. The shell's part
// (Engine::Shard): filing validated and the case adopted, a terminated empty case dropped,
// and forgetting a settled concluded case (EngineConfig::forget_concluded: its slot's
// generation moves on, so every callback still holding its CaseRef becomes a counted no-op).
#include <algorithm>

#include "case_machine.h"
#include "shard.h"

namespace chakong::engine {

namespace machine::lifecycle {

void filed(const Env& env, CaseState& c, Effects& fx) {
  ++env.stats.cases_filed;
  env.stats.claimed += c.filing.claim;
  fx.emit(EventType::kCaseFiled, kNoConnector, c.filing.claim, {});
  fx.arm(TimerKind::kStart, 0, std::max(env.now, c.filing.received_at + env.config.query_delay));
}

void conclude(const Env& env, CaseState& c, Effects& fx) {
  if (c.status == CaseStatus::kConcluded) return;
  c.status = CaseStatus::kConcluded;
  fx.changed();
  ++env.stats.cases_concluded;
  for (uint32_t fi = 0; fi < c.findings.size(); ++fi) {
    if (c.findings[fi].clock_open) {
      findings::stop_clock(c, fi, fx);
      ++env.stats.control_not_required;
    }
  }
  for (uint32_t mi = 0; mi < c.measures.size(); ++mi) {
    if (c.measures[mi].live) measures::release(env, c, mi, fx);
  }
  fx.emit(EventType::kCaseConcluded, kNoConnector, c.ledger.deducted(), {});
  fx.forget_when_settled();
}

Status terminate(const Env& env, CaseState& c, bool restricted, Effects& fx) {
  if (!is_open(c) && c.status != CaseStatus::kFiled) {
    return failed_precondition_error("case " + c.number + " is " +
                                     std::string(case_status_name(c.status)) +
                                     "; only an open case can be terminated");
  }
  const TerminationPolicy& p = env.config.termination;
  const TimeUs since = env.now - c.filing.received_at;
  if (since < p.min_days_since_filing * kMicrosPerDay) {
    return failed_precondition_error(
        "case " + c.number + " was filed " + std::to_string(since / kMicrosPerDay) +
        " days ago; termination needs " + std::to_string(p.min_days_since_filing));
  }
  if (p.require_queries_done && (!c.query_scored || c.queries_outstanding > 0)) {
    return failed_precondition_error("case " + c.number + " has " +
                                     std::to_string(c.queries_outstanding) +
                                     " network queries outstanding; termination needs them done");
  }
  if (p.require_consumption_restriction && !restricted) {
    return failed_precondition_error("case " + c.number +
                                     ": termination needs a consumption restriction issued");
  }
  c.status = CaseStatus::kTerminated;
  fx.changed();
  ++env.stats.cases_terminated;
  fx.emit(EventType::kCaseTerminated, kNoConnector, c.ledger.remaining(), {});
  // Into the library: swept every six months for five years from now.
  if (c.ledger.budget() > c.ledger.deducted()) fx.to_library(restricted);
  return ok_status();
}

Settled settled(const CaseState& c) {
  bool busy = false;
  bool kept = false;  // A measure in force the institution did not release: keep the record.
  // A control request still in doubt after its last re-send is not waited for (nothing of it
  // is pending): it keeps the record, for an officer to resolve.
  for (const Finding& f : c.findings) {
    busy |= f.state == FindingState::kInFlight && !f.unresolved;
    kept |= f.state == FindingState::kInFlight && f.unresolved;
  }
  for (const Measure& m : c.measures) {
    busy |= (m.releasing || m.renewing || m.deducting) && !m.unresolved;
    kept |= (m.live && !m.releasing) || m.unresolved;
  }
  if (kept) return Settled::kKept;
  return busy ? Settled::kBusy : Settled::kSettled;
}

}  // namespace machine::lifecycle

Status Engine::Shard::file_case(const CaseFiling& filing) {
  StatusOr<CaseNumber> valid = validate_filing(filing);
  if (!valid.ok()) return valid.status();
  const CaseNumber& parsed = *valid;
  CHAKONG_RETURN_IF_ERROR(authorize_filing(filing, parsed.court()));
  const std::string number = parsed.to_string();
  if (cases_.count(number) != 0 || forgotten_concluded_.count(number) != 0 ||
      (config_.forget_empty_terminated && library_.find(number))) {
    return already_exists_error("case_number: case " + number + " is already filed");
  }
  auto state = std::make_unique<CaseState>();
  CaseState& c = *state;
  c.number = number;
  c.parsed = parsed;
  c.filing = filing;
  c.filing.case_number.clear();
  if (c.filing.received_at == 0) c.filing.received_at = executor_.now();
  c.ledger = Ledger(filing.claim + filing.costs);
  if (durable_ && !journal_error_.ok()) return journal_error_;
  adopt(std::move(state));
  run(c, machine::Input::of(machine::InputKind::kFiled));
  if (durable_) {
    // Appended now, so that Engine::sync() covers it: the case server acknowledges the
    // filing once that sync is done.
    flush();
  }
  return ok_status();
}

void Engine::Shard::forget_later(const std::string& number) {
  if (!config_.forget_concluded || durable_) return;
  executor_.run_after(config_.forget_after, [this, number] { forget_if_settled(number); });
}

void Engine::Shard::forget_if_settled(const std::string& number) {
  CaseState* c = find(number);
  if (c == nullptr || c->status != CaseStatus::kConcluded) return;
  // Callbacks and timers hold a generation-checked CaseRef, never the state: dropping the
  // case makes each of them a counted no-op (EngineStats::stale_callbacks). What waits is
  // what still matters: a control request in flight (its answer moves money or ends a
  // measure). Network queries still out do not hold a concluded case: nothing is planned or
  // clocked on it, so their late answers are dropped on the stale handle.
  switch (machine::lifecycle::settled(*c)) {
    case machine::lifecycle::Settled::kKept: return;
    case machine::lifecycle::Settled::kBusy: forget_later(number); return;
    case machine::lifecycle::Settled::kSettled: break;
  }
  executor_.cancel(c->start_timer);
  executor_.cancel(c->indivisible_timer);
  for (Finding& f : c->findings) executor_.cancel(f.clock);
  for (Measure& m : c->measures) {
    executor_.cancel(m.renew_timer);
    executor_.cancel(m.lapse_timer);
    executor_.cancel(m.deduct_timer);
  }
  forgotten_concluded_.insert(c->number);
  drop(*c);
}

Status Engine::Shard::terminate_case(std::string_view number, bool consumption_restricted) {
  CaseState* c = find(number);
  if (c == nullptr) return not_found_error("case " + std::string(number) + " is not filed");
  Status s;
  run_with(*c, [&](const machine::Env& e, machine::Effects& fx) {
    s = machine::lifecycle::terminate(e, *c, consumption_restricted, fx);
  });
  // Nothing refers to an empty case any more (no clock, timer or request of its own): the
  // library entry is all that restoration needs.
  if (s.ok() && config_.forget_empty_terminated && !durable_ &&
      c->ledger.budget() > c->ledger.deducted() && library_.find(c->number) && c->queries_started &&
      c->queries_outstanding == 0 && c->findings.empty() && c->measures.empty()) {
    drop(*c);
  }
  return s;
}

}  // namespace chakong::engine
