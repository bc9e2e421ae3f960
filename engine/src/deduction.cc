// The case machine's deduction (case_machine.h): a divisible measure in force of an open case
// is deducted `deduct_delay` after it took effect (EngineConfig::auto_deduct; measures.cc arms
// the timer). The deduction asks for all that is frozen now; its answer moves the money,
// ends the measure and, once the budget is satisfied, concludes the case.
#include <algorithm>

#include "case_machine.h"

namespace chakong::engine::machine::deduction {

using connectors::Request;
using connectors::RequestKind;
using connectors::Response;

void deduct(const Env& env, CaseState& c, uint32_t mi, Effects& fx) {
  Measure& m = c.measures[mi];
  if (m.deduct_at != 0) {
    m.deduct_at = 0;  // Fired (or asked again): no longer armed.
    fx.changed();
  }
  if (!m.live || m.waiting || m.amount <= Fen() || !is_open(c)) return;
  if (m.connector >= env.connectors.size() ||
      !env.connectors[m.connector].caps.has(RequestKind::kDeduct)) {
    return;
  }
  Request r = make_request(c, RequestKind::kDeduct, asset_of(c, m).holder_id);
  r.asset = asset_of(c, m);
  r.measure_id = m.id;
  r.amount = Fen();  // All that is frozen now, top-ups included.
  if (c.status == CaseStatus::kControlling) c.status = CaseStatus::kDeducting;
  r.idempotency_key = c.number + "/deduct/" + m.id;
  m.deducting = true;  // Until its answer, or kRefused if it does not leave.
  fx.changed();
  fx.send(std::move(r), m.connector, Lane::kNormal, env.now + env.config.control_deadline, mi);
}

void on_answer(const Env& env, CaseState& c, uint32_t mi, const Response& r, Effects& fx) {
  Measure& m = c.measures[mi];
  m.deducting = false;
  fx.changed();
  if (!r.status.ok()) {
    fx.emit(EventType::kRequestFailed, m.connector, m.amount, "deduct: " + r.status.to_string());
    return;
  }
  if (!m.live) return;
  Fen moved = std::max(r.frozen, Fen());
  if (moved > m.amount) {
    // The institution topped the freeze up since; that came out of the pending limit.
    const Fen filled = std::min(moved - m.amount, m.pending);
    c.ledger.fill_pending(filled);
    m.pending -= filled;
    m.amount += filled;
    env.stats.frozen += filled;
    moved = m.amount;
  }
  c.ledger.deduct(moved);
  m.amount -= moved;
  env.stats.frozen -= moved;
  env.stats.deducted += moved;
  fx.emit(EventType::kDeducted, m.connector, moved, m.id);
  // The institution ends a measure whose frozen funds are all transferred.
  measures::end(env, c, mi, fx);
  if (c.ledger.satisfied()) fx.conclude();
}

}  // namespace chakong::engine::machine::deduction
