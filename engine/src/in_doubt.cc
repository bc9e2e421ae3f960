// Engine::Shard: the one completion of a request whose outcome stayed in doubt. Every retry
// and in-doubt wait is the dispatcher's (retry_policy.h, the one policy): a request leaves
// once and its completion comes back once, definite or with its series exhausted. Exhausted,
// it is reported; a control request keeps what it reserved and is marked unresolved (a
// restart re-sends it with the same key, or an officer resolves it). Nothing is scheduled.
#include "shard.h"

namespace chakong::engine {

using connectors::RequestKind;

Engine::Shard::Doubt Engine::Shard::settle(CaseState& c, const Ask& ask, const Status& status) {
  // What the request belongs to: its connector and amount, and whether the case still wants
  // the answer (a query of an open case, a live measure's request, any freeze: the finding
  // holds a reservation).
  const bool query = ask.kind == RequestKind::kQuery;
  const bool freeze = ask.kind == RequestKind::kFreeze || ask.kind == RequestKind::kWaitlistFreeze;
  bool* unresolved = nullptr;
  uint32_t connector = ask.index;
  Fen amount;
  bool wanted = open(c);
  if (freeze) {
    Finding& f = c.findings[ask.index];
    unresolved = &f.unresolved;
    connector = f.connector;
    amount = f.sent_amount;
    wanted = true;
  } else if (!query) {
    Measure& m = c.measures[ask.index];
    unresolved = &m.unresolved;
    connector = m.connector;
    amount = m.amount;
    // A status poll changes nothing at the institution: its doubt is a poll that failed, and
    // the next poll asks again (measures::on_status_answer).
    wanted = m.live && ask.kind != RequestKind::kMeasureStatus;
  }
  if (!connectors::outcome_in_doubt(status.code()) || !wanted) {
    if (unresolved != nullptr) *unresolved = false;  // Answered (after a restart re-sent it).
    return Doubt::kDefinite;
  }
  if (!query) {
    ++stats_.in_doubt_unresolved;
    *unresolved = true;
  }
  const std::string_view what = connectors::request_kind_name(ask.kind);
  const int resends = retry::wait_limit(dispatchers_[connector]->config(), ask.kind);
  emit(EventType::kRequestFailed, c, shared_.connectors[connector].name, amount,
       std::string(what) + ": " + status.to_string() + "; still in doubt after " +
           std::to_string(resends) + " re-sends with the same key" +
           (!query ? ", what it reserved is kept until an officer resolves it" : ""));
  return Doubt::kUnresolved;
}

}  // namespace chakong::engine
