// The one completion of a request whose outcome stayed in doubt. Every retry and in-doubt
// wait is the dispatcher's (retry_policy.h, the one policy): a request leaves once and its
// completion comes back once, definite or with its series exhausted. Exhausted, it is
// reported; a control request keeps what it reserved and is marked unresolved (a restart
// re-sends it with the same key, or an officer resolves it). Nothing is scheduled.
// machine::settle is the rule (case_machine.h); Shard::settle feeds it the series' re-sends
// and carries out its effects for the requests whose answers the shell hands on.
#include "case_machine.h"
#include "shard.h"

namespace chakong::engine {

using connectors::RequestKind;

bool machine::settle(const Env& env, CaseState& c, RequestKind kind, uint32_t index,
                     const Status& status, int resends, Effects& fx) {
  // What the request belongs to: its connector and amount, and whether the case still wants
  // the answer (a query of an open case, a live measure's request, any freeze: the finding
  // holds a reservation).
  const bool query = kind == RequestKind::kQuery;
  const bool freeze = kind == RequestKind::kFreeze || kind == RequestKind::kWaitlistFreeze;
  bool* unresolved = nullptr;
  uint32_t connector = index;
  Fen amount;
  bool wanted = is_open(c);
  if (freeze) {
    Finding& f = c.findings[index];
    unresolved = &f.unresolved;
    connector = f.connector;
    amount = f.sent_amount;
    wanted = true;
  } else if (!query) {
    Measure& m = c.measures[index];
    unresolved = &m.unresolved;
    connector = m.connector;
    amount = m.amount;
    // A status poll changes nothing at the institution: its doubt is a poll that failed, and
    // the next poll asks again (measures::on_status_answer).
    wanted = m.live && kind != RequestKind::kMeasureStatus;
  }
  if (!connectors::outcome_in_doubt(status.code()) || !wanted) {
    if (unresolved != nullptr && *unresolved) {
      *unresolved = false;  // Answered (after a restart re-sent it).
      fx.changed();
    }
    return true;
  }
  if (!query) {
    ++env.stats.in_doubt_unresolved;
    *unresolved = true;
    fx.changed();
  }
  const std::string_view what = connectors::request_kind_name(kind);
  fx.emit(EventType::kRequestFailed, connector, amount,
          std::string(what) + ": " + status.to_string() + "; still in doubt after " +
              std::to_string(resends) + " re-sends with the same key" +
              (!query ? ", what it reserved is kept until an officer resolves it" : ""));
  return false;
}

Engine::Shard::Doubt Engine::Shard::settle(CaseState& c, const Ask& ask, const Status& status) {
  uint32_t connector = ask.index;
  if (ask.kind == RequestKind::kFreeze || ask.kind == RequestKind::kWaitlistFreeze) {
    connector = c.findings[ask.index].connector;
  } else if (ask.kind != RequestKind::kQuery) {
    connector = c.measures[ask.index].connector;
  }
  const int resends = retry::wait_limit(dispatchers_[connector]->config(), ask.kind);
  bool definite = false;
  run_with(c, [&](const machine::Env& env, machine::Effects& fx) {
    definite = machine::settle(env, c, ask.kind, ask.index, status, resends, fx);
  });
  return definite ? Doubt::kDefinite : Doubt::kUnresolved;
}

}  // namespace chakong::engine
