// The case machine's control and the planner (case_machine.h). The planner (freeze_planner.h)
// picks what to freeze within the ledger's remaining budget; each freeze is sent with one key
// per finding and kind, queued on the institution's waiting list when another authority holds
// the asset (DOMAIN rule 3), and its answer becomes a measure handed on to measures.cc. A
// freeze whose outcome stays in doubt keeps its reservation and is never planned elsewhere:
// the institution may have frozen the money, and the engine must not freeze it twice. The
// shell's part: an officer's freeze (Shard::request_freeze), checked and handed to
// control::request.
#include <algorithm>

#include "case_machine.h"
#include "chakong/base/identity.h"
#include "shard.h"

namespace chakong::engine::machine::control {

using connectors::is_divisible;
using connectors::Request;
using connectors::RequestKind;
using connectors::Response;

namespace {

// Takes `home`'s value for the lifetime of this object and gives it back after (its buffers
// with it); without a home, a value of its own.
template <typename T>
struct Scratch {
  explicit Scratch(T* h) : home(h), value(h != nullptr ? std::move(*h) : T()) {}
  ~Scratch() {
    if (home != nullptr) *home = std::move(value);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  T* home;
  T value;
};

// The clocks of open findings that need no control any more (`only_indivisible`: of
// indivisible assets) stop without a miss.
void stop_unneeded_clocks(const Env& env, CaseState& c, bool only_indivisible, Effects& fx) {
  for (uint32_t fi = 0; fi < c.findings.size(); ++fi) {
    const Finding& f = c.findings[fi];
    if (f.state != FindingState::kOpen || !f.clock_open) continue;
    if (only_indivisible && is_divisible(f.asset.category)) continue;
    findings::stop_clock(c, fi, fx);
    ++env.stats.control_not_required;
  }
}

// Gives back what finding `f`'s freeze of `amount` held in the ledger.
void free_reservation(CaseState& c, const Finding& f, Fen amount) {
  if (is_divisible(f.asset.category)) {
    c.ledger.cancel(amount);
  } else {
    c.ledger.uncover_indivisible(amount);
  }
}

}  // namespace

void plan(const Env& env, CaseState& c, Effects& fx) {
  if (!is_open(c)) return;
  // The shard's scratch, borrowed for this call (a nested plan() would find it empty and use
  // its own): no allocation once it has grown.
  Scratch<std::vector<Candidate>> candidates_scratch(
      env.plan_scratch != nullptr ? &env.plan_scratch->candidates : nullptr);
  std::vector<Candidate>& candidates = candidates_scratch.value;
  candidates.clear();
  bool indivisible_waiting = false;
  TimeUs earliest_indivisible = INT64_MAX;
  for (uint32_t i = 0; i < c.findings.size(); ++i) {
    const Finding& f = c.findings[i];
    if (f.state != FindingState::kOpen || f.asset.value <= Fen()) continue;
    if (f.connector >= env.connectors.size() ||
        !env.connectors[f.connector].caps.has(RequestKind::kFreeze)) {
      continue;
    }
    candidates.push_back(
        {i, f.asset.category, f.asset.value, f.held_by_others, f.asset.unit_price});
    if (!is_divisible(f.asset.category)) {
      indivisible_waiting = true;
      earliest_indivisible = std::min(earliest_indivisible, f.found_at);
    }
  }
  if (candidates.empty()) return;
  PlanPolicy policy;
  policy.allow_indivisible = c.indivisible_allowed || c.queries_outstanding == 0;
  policy.min_seal_remainder = proportionate_seal_floor(c.filing.claim, env.config.min_seal_share,
                                                       env.config.min_seal_remainder);
  const bool allow = policy.allow_indivisible;
  Scratch<Plan> plan_scratch(env.plan_scratch != nullptr ? &env.plan_scratch->plan : nullptr);
  Plan& planned = plan_scratch.value;
  plan_freezes(candidates, c.ledger.remaining(), policy, planned);
  for (PlannedFreeze& p : planned.freezes) {
    const Finding& f = c.findings[p.finding];
    if (is_divisible(f.asset.category)) {
      // Cannot fail: planned within budget (whole units: by less than one unit over it).
      if (!c.ledger.reserve(p.amount, p.whole_unit).ok()) continue;
    } else {
      p.amount = c.ledger.cover_indivisible(f.asset.value);
      c.reasons.push_back(std::move(p.reason));
      ++env.stats.indivisible_sealed;
    }
    send_freeze(env, c, p.finding, p.amount, p.waitlist, fx);
  }
  if (!allow && indivisible_waiting && env.config.plan_indivisible_early &&
      !c.indivisible_timer.valid()) {
    // Do not let an indivisible asset's clock run out while slow banks are still answering.
    fx.arm(TimerKind::kIndivisible, 0, earliest_indivisible + env.config.control_deadline / 2);
  }
  if (planned.seals_avoided > 0) {
    // Proportionality: the indivisible assets not sealed need no control, so their clocks
    // stop without a miss. The remainder is reported once every query has answered (until
    // then divisible property may still cover it), and again only if it changes.
    stop_unneeded_clocks(env, c, /*only_indivisible=*/true, fx);
    if (c.queries_outstanding == 0 && planned.uncovered != c.uncovered_reported) {
      if (c.uncovered_reported.is_zero()) {
        ++env.stats.remainders_uncovered;
        env.stats.seals_avoided += planned.seals_avoided;
      }
      env.stats.uncovered += planned.uncovered - c.uncovered_reported;
      c.uncovered_reported = planned.uncovered;
      fx.emit(EventType::kRemainderUncovered, kNoConnector, planned.uncovered,
              std::move(planned.uncovered_reason));
    }
  }
  if (c.ledger.remaining() <= Fen()) {
    // The budget is covered: open clocks of findings not needed stop without a miss.
    stop_unneeded_clocks(env, c, /*only_indivisible=*/false, fx);
  }
  findings::check_invariants(env, c);
}

void send_freeze(const Env& env, CaseState& c, uint32_t fi, Fen amount, bool waitlist,
                 Effects& fx) {
  Finding& f = c.findings[fi];
  f.state = FindingState::kInFlight;
  f.sent_amount = amount;
  f.sent_waitlist = waitlist;
  fx.changed();
  Request r = make_request(c, waitlist ? RequestKind::kWaitlistFreeze : RequestKind::kFreeze,
                           f.asset.holder_id);
  r.asset = f.asset;
  r.amount = amount;
  // One key per (finding, kind): a re-send after a timeout can never freeze twice.
  r.idempotency_key = c.number + (waitlist ? "/waitlist/" : "/freeze/") + std::to_string(fi);
  const TimeUs deadline = f.clock_open ? f.due : env.now + env.config.control_deadline;
  fx.send(std::move(r), f.connector, Lane::kUrgent, deadline, fi);
}

Status request(const Env& env, CaseState& c, uint32_t connector, const Asset& asset, Fen amount,
               Effects& fx) {
  if (is_divisible(asset.category)) {
    CHAKONG_RETURN_IF_ERROR(c.ledger.reserve(amount));
  } else {
    amount = c.ledger.cover_indivisible(asset.value);
  }
  Finding f;
  f.connector = connector;
  f.asset = asset;
  f.found_at = env.now;
  c.findings.push_back(std::move(f));
  if (c.status == CaseStatus::kQuerying || c.status == CaseStatus::kFiled) {
    c.status = CaseStatus::kControlling;
  }
  send_freeze(env, c, static_cast<uint32_t>(c.findings.size() - 1), amount, false, fx);
  return ok_status();
}

void on_answer(const Env& env, CaseState& c, RequestKind kind, uint32_t fi, const Response& r,
               int resends, Effects& fx) {
  Finding& f = c.findings[fi];
  const Fen amount = f.sent_amount;
  const bool waitlist = kind == RequestKind::kWaitlistFreeze;
  const ConnectorInfo& info = env.connectors[f.connector];
  const bool divisible = is_divisible(f.asset.category);
  fx.changed();
  if (!r.status.ok()) {
    const bool queue = r.status.code() == StatusCode::kFailedPrecondition &&
                       !r.prior_measures.empty() && !waitlist &&
                       info.caps.has(RequestKind::kWaitlistFreeze);
    if (queue) {
      // Already under another authority's measure: queue behind it (DOMAIN rule 3), keeping
      // the reservation.
      f.held_by_others = true;
      send_freeze(env, c, fi, amount, /*waitlist=*/true, fx);
      return;
    }
    // The institution may have acted without our hearing: the finding stays in flight with
    // its reservation, never planned again, until the same key brings the answer.
    if (!settle(env, c, kind, fi, r.status, resends, fx)) return;
    free_reservation(c, f, amount);
    f.state = FindingState::kFailed;
    fx.emit(EventType::kRequestFailed, f.connector, amount,
            std::string(waitlist ? "waitlist_freeze: " : "freeze: ") + r.status.to_string());
    plan(env, c, fx);
    return;
  }

  f.unresolved = false;  // Answered (after a restart re-sent it).
  Measure m;
  m.id = r.measure_id;
  m.connector = f.connector;
  m.finding = fi;
  m.waiting = r.queue_position > 0;
  m.end = r.end_date;
  Fen unused;
  if (divisible) {
    const Fen frozen = std::clamp(r.frozen, Fen(), amount);
    if (waitlist || info.tops_up) {
      // The institution may still fill this measure up to its limit: keep the limit claimed.
      c.ledger.commit_limit(amount, frozen);
      m.pending = amount - frozen;
    } else {
      unused = c.ledger.commit(amount, frozen);
    }
    m.amount = frozen;
    env.stats.frozen += frozen;
  } else {
    m.amount = amount;
  }
  f.state = FindingState::kControlled;
  if (f.clock_open) {
    findings::stop_clock(c, fi, fx);
    ++env.stats.control_met;
    fx.emit(
        EventType::kControlMet, f.connector, m.amount,
        std::to_string((env.now - f.found_at) / kMicrosPerMinute) + " minutes after the finding",
        f.asset.reference);
    // The time from finding to control, Event::elapsed.
    fx.list().back().elapsed = env.now - f.found_at;
  }
  const uint32_t mi = static_cast<uint32_t>(c.measures.size());
  fx.emit(m.waiting ? EventType::kMeasureWaiting : EventType::kMeasureEffective, f.connector,
          m.amount, m.waiting ? "queue position " + std::to_string(r.queue_position) : m.id);
  c.measures.push_back(std::move(m));
  if (c.status == CaseStatus::kConcluded) {
    measures::release(env, c, mi, fx);  // An in-doubt freeze that took effect after the end.
    return;
  }
  // In force: its renewal, lapse and deduction; waiting: its status poll.
  if (c.measures[mi].waiting) {
    measures::arm_expiry(env, c, mi, fx);
  } else {
    measures::in_force(env, c, mi, fx);
  }
  findings::check_invariants(env, c);
  if (unused > Fen()) plan(env, c, fx);  // Continue on other assets with what came back.
}

void on_refused(CaseState& c, uint32_t fi, Effects& fx) {
  Finding& f = c.findings[fi];
  if (f.state != FindingState::kInFlight) return;
  f.state = FindingState::kFailed;
  free_reservation(c, f, f.sent_amount);
  fx.changed();
}

}  // namespace chakong::engine::machine::control

namespace chakong::engine {

// The shell's part: an officer's freeze, checked and handed to the machine.

Status Engine::Shard::request_freeze(std::string_view number, std::string_view debtor,
                                     std::string_view officer, std::string_view connector,
                                     const Asset& asset, Fen amount) {
  CaseState* c = find(number);
  if (c == nullptr) return not_found_error("case " + std::string(number) + " is not filed");
  CHAKONG_RETURN_IF_ERROR(authorize(subject_of(*c), officer, debtor, "freeze"));
  StatusOr<uint32_t> found = connector_index(connector);
  if (!found.ok()) return found.status();
  if (asset.holder_id != debtor) {
    return permission_denied_error("freeze refused: asset '" + mask_id(asset.reference) +
                                   "' is not held by '" + mask_id(debtor) + "'");
  }
  Status s;
  run_with(*c, [&](const machine::Env& e, machine::Effects& fx) {
    s = machine::control::request(e, *c, *found, asset, amount, fx);
  });
  return s;
}

}  // namespace chakong::engine
