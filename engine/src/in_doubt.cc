// Engine::Shard: carrying out tier 2 of the one retry / in-doubt policy (retry_policy.h) for
// every request a case sends (queries, freezes, renewals, deductions, releases; the sweep's
// queries use in_doubt_step too): an outcome still in doubt after the dispatcher's attempts
// keeps the request in flight (its reservation kept) and asks it again with the same key after
// in_doubt_retry; exhausted, it is reported and nothing more is scheduled.
#include "shard.h"

namespace chakong::engine {

using connectors::is_divisible;
using connectors::Request;
using connectors::RequestKind;
using connectors::Response;

retry::Step Engine::Shard::in_doubt_step(StatusCode code, int resends) const {
  return retry::resend_step(code, resends, config_.in_doubt_resends);
}

Engine::Shard::Doubt Engine::Shard::on_doubt(CaseState& c, const Ask& ask, CaseRef ref,
                                             const Status& status) {
  // What the request belongs to: its series of re-sends, its connector and amount, and
  // whether the case still wants the answer (a query of an open case, a live measure's
  // request, any freeze: the finding holds a reservation).
  const bool query = ask.kind == RequestKind::kQuery;
  const bool freeze = ask.kind == RequestKind::kFreeze || ask.kind == RequestKind::kWaitlistFreeze;
  uint8_t query_resends = ask.resends;
  uint8_t* resends = &query_resends;
  bool* unresolved = nullptr;
  uint32_t connector = ask.index;
  Fen amount;
  bool wanted = open(c);
  if (freeze) {
    Finding& f = c.findings[ask.index];
    resends = &f.doubts;
    unresolved = &f.unresolved;
    connector = f.connector;
    amount = f.sent_amount;
    wanted = true;
  } else if (!query) {
    Measure& m = c.measures[ask.index];
    resends = &m.doubts;
    unresolved = &m.unresolved;
    connector = m.connector;
    amount = m.amount;
    // A status poll changes nothing at the institution: its doubt is a poll that failed, and
    // the next poll asks again (measures::on_status_answer).
    wanted = m.live && ask.kind != RequestKind::kMeasureStatus;
  }
  const retry::Step step = wanted ? in_doubt_step(status.code(), *resends) : retry::Step::kDefinite;
  if (step == retry::Step::kDefinite) {
    *resends = 0;  // Answered: the next doubt starts a new series.
    if (unresolved != nullptr) *unresolved = false;
    return Doubt::kDefinite;
  }
  const std::string& name = shared_.connectors[connector].name;
  const std::string_view what = connectors::request_kind_name(ask.kind);
  if (step == retry::Step::kExhausted) {
    if (!query) {
      ++stats_.in_doubt_unresolved;
      *unresolved = true;
    }
    emit(EventType::kRequestFailed, c, name, amount,
         std::string(what) + ": " + status.to_string() + "; still in doubt after " +
             std::to_string(*resends) + " re-sends with the same key" +
             (!query ? ", what it reserved is kept until an officer resolves it" : ""));
    return Doubt::kUnresolved;
  }
  ++*resends;
  ++stats_.in_doubt_resent;
  emit(EventType::kRequestFailed, c, name, amount,
       std::string(what) + ": " + status.to_string() + "; in doubt, re-sending with the same key");
  Ask again = ask;
  again.resends = query ? query_resends : 0;  // A control request counts in its record.
  executor_.run_after(config_.in_doubt_retry, [this, ref, again] { ask_again(ref, again); });
  return Doubt::kResent;
}

void Engine::Shard::ask_again(CaseRef ref, Ask ask) {
  CaseState* const c = resolve(ref);
  if (c == nullptr) return;
  switch (ask.kind) {
    case RequestKind::kQuery:
      --c->queries_outstanding;  // Counted again as it leaves.
      send_query(*c, ask.index, ask.round, ask.resends);
      return;
    case RequestKind::kFreeze:
    case RequestKind::kWaitlistFreeze: {
      const Finding& f = c->findings[ask.index];
      send_freeze(*c, ask.index, f.sent_amount, f.sent_waitlist);
      return;
    }
    case RequestKind::kRenew:
      c->measures[ask.index].renew_timer = TimerHandle();  // As when its timer fires.
      run(*c, machine::Input::resend(RequestKind::kRenew, ask.index));
      return;
    case RequestKind::kDeduct:
      c->measures[ask.index].deduct_timer = TimerHandle();  // As when its timer fires.
      run(*c, machine::Input::resend(RequestKind::kDeduct, ask.index));
      return;
    case RequestKind::kRelease:
      run(*c, machine::Input::resend(RequestKind::kRelease, ask.index));
      return;
    case RequestKind::kMeasureStatus:
      run(*c, machine::Input::resend(RequestKind::kMeasureStatus, ask.index));
      return;
  }
}

}  // namespace chakong::engine
