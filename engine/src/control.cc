// Engine::Shard: control. The planner (freeze_planner.h) picks what to freeze within the
// ledger's remaining budget; each freeze is sent with one key per finding and kind, queued
// on the institution's waiting list when another authority holds the asset (DOMAIN rule 3),
// and its answer becomes a measure handed to the case machine (measures.cc, deduction.cc).
#include <algorithm>

#include "chakong/base/identity.h"
#include "shard.h"

namespace chakong::engine {

using connectors::is_divisible;
using connectors::Request;
using connectors::RequestKind;
using connectors::Response;

namespace {

// Takes `home`'s value for the lifetime of this object and gives it back after (its buffers
// with it).
template <typename T>
struct Scratch {
  explicit Scratch(T& h) : home(h), value(std::move(h)) {}
  ~Scratch() { home = std::move(value); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  T& home;
  T value;
};

}  // namespace

void Engine::Shard::plan(CaseState& c) {
  if (!open(c)) return;
  // The shard's scratch, borrowed for this call (a nested plan() would find it empty and use
  // its own): no allocation once it has grown.
  Scratch<std::vector<Candidate>> candidates_scratch(plan_candidates_);
  std::vector<Candidate>& candidates = candidates_scratch.value;
  candidates.clear();
  bool indivisible_waiting = false;
  TimeUs earliest_indivisible = INT64_MAX;
  for (uint32_t i = 0; i < c.findings.size(); ++i) {
    const Finding& f = c.findings[i];
    if (f.state != FindingState::kOpen || f.asset.value <= Fen()) continue;
    if (!shared_.connectors[f.connector].caps.has(RequestKind::kFreeze)) continue;
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
  policy.min_seal_remainder =
      proportionate_seal_floor(c.filing.claim, config_.min_seal_share, config_.min_seal_remainder);
  const bool allow = policy.allow_indivisible;
  Scratch<Plan> plan_scratch(plan_);
  Plan& planned = plan_scratch.value;
  plan_freezes(candidates, c.ledger.remaining(), policy, planned);
  for (PlannedFreeze& p : planned.freezes) {
    Finding& f = c.findings[p.finding];
    if (is_divisible(f.asset.category)) {
      // Cannot fail: planned within budget (whole units: by less than one unit over it).
      if (!c.ledger.reserve(p.amount, p.whole_unit).ok()) continue;
    } else {
      p.amount = c.ledger.cover_indivisible(f.asset.value);
      c.reasons.push_back(std::move(p.reason));
      ++stats_.indivisible_sealed;
    }
    send_freeze(c, p.finding, p.amount, p.waitlist);
  }
  if (!allow && indivisible_waiting && config_.plan_indivisible_early &&
      !c.indivisible_timer.valid()) {
    // Do not let an indivisible asset's clock run out while slow banks are still answering.
    const CaseRef ref = ref_of(c);
    c.indivisible_timer =
        executor_.run_at(earliest_indivisible + config_.control_deadline / 2, [this, cpr = ref] {
          CaseState* const cp = resolve(cpr);
          if (cp == nullptr) return;
          cp->indivisible_allowed = true;
          plan(*cp);
        });
  }
  if (planned.seals_avoided > 0) {
    // Proportionality: the indivisible assets not sealed need no control, so their clocks
    // stop without a miss. The remainder is reported once every query has answered (until
    // then divisible property may still cover it), and again only if it changes.
    for (Finding& f : c.findings) {
      if (f.state == FindingState::kOpen && f.clock_open && !is_divisible(f.asset.category)) {
        stop_clock(f);
        ++stats_.control_not_required;
      }
    }
    if (c.queries_outstanding == 0 && planned.uncovered != c.uncovered_reported) {
      if (c.uncovered_reported.is_zero()) {
        ++stats_.remainders_uncovered;
        stats_.seals_avoided += planned.seals_avoided;
      }
      stats_.uncovered += planned.uncovered - c.uncovered_reported;
      c.uncovered_reported = planned.uncovered;
      emit(EventType::kRemainderUncovered, c, {}, planned.uncovered,
           std::move(planned.uncovered_reason));
    }
  }
  if (c.ledger.remaining() <= Fen()) {
    // The budget is covered: open clocks of findings not needed stop without a miss.
    for (Finding& f : c.findings) {
      if (f.state == FindingState::kOpen && f.clock_open) {
        stop_clock(f);
        ++stats_.control_not_required;
      }
    }
  }
  check_invariants(c);
}

void Engine::Shard::send_freeze(CaseState& c, uint32_t fi, Fen amount, bool waitlist) {
  Finding& f = c.findings[fi];
  f.state = FindingState::kInFlight;
  f.sent_amount = amount;
  f.sent_waitlist = waitlist;
  Request r = make_request(c, waitlist ? RequestKind::kWaitlistFreeze : RequestKind::kFreeze,
                           f.asset.holder_id);
  r.asset = f.asset;
  r.amount = amount;
  // One key per (finding, kind): a re-send after a timeout can never freeze twice.
  r.idempotency_key = c.number + (waitlist ? "/waitlist/" : "/freeze/") + std::to_string(fi);
  const TimeUs deadline = f.clock_open ? f.due : executor_.now() + config_.control_deadline;
  const CaseRef ref = ref_of(c);
  const bool sent = send(c, std::move(r), f.connector, Lane::kUrgent, deadline,
                         [this, cpr = ref, fi, amount, waitlist](Response resp) {
                           CaseState* const cp = resolve(cpr);
                           if (cp == nullptr) return;
                           on_freeze(*cp, fi, amount, waitlist, std::move(resp));
                         });
  if (!sent) {
    f.state = FindingState::kFailed;
    if (is_divisible(f.asset.category)) {
      c.ledger.cancel(amount);
    } else {
      c.ledger.uncover_indivisible(amount);
    }
  }
}

void Engine::Shard::on_freeze(CaseState& c, uint32_t fi, Fen amount, bool waitlist, Response r) {
  Finding& f = c.findings[fi];
  const ConnectorInfo& info = shared_.connectors[f.connector];
  const bool divisible = is_divisible(f.asset.category);
  if (!r.status.ok()) {
    const bool queue = r.status.code() == StatusCode::kFailedPrecondition &&
                       !r.prior_measures.empty() && !waitlist &&
                       info.caps.has(RequestKind::kWaitlistFreeze);
    if (queue) {
      // Already under another authority's measure: queue behind it (DOMAIN rule 3), keeping
      // the reservation.
      f.held_by_others = true;
      send_freeze(c, fi, amount, /*waitlist=*/true);
      return;
    }
    // The institution may have acted without our hearing: the finding stays in flight with
    // its reservation, never planned again, until the same key brings the answer.
    if (settle(c, {waitlist ? RequestKind::kWaitlistFreeze : RequestKind::kFreeze, fi}, r.status) !=
        Doubt::kDefinite) {
      return;
    }
    if (divisible) {
      c.ledger.cancel(amount);
    } else {
      c.ledger.uncover_indivisible(amount);
    }
    f.state = FindingState::kFailed;
    emit(EventType::kRequestFailed, c, info.name, amount,
         std::string(waitlist ? "waitlist_freeze: " : "freeze: ") + r.status.to_string());
    plan(c);
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
    stats_.frozen += frozen;
  } else {
    m.amount = amount;
  }
  f.state = FindingState::kControlled;
  if (f.clock_open) {
    stop_clock(f);
    ++stats_.control_met;
    emit(EventType::kControlMet, c, info.name, m.amount,
         std::to_string((executor_.now() - f.found_at) / kMicrosPerMinute) +
             " minutes after the finding",
         executor_.now() - f.found_at, f.asset.reference);
  }
  const uint32_t mi = static_cast<uint32_t>(c.measures.size());
  emit(m.waiting ? EventType::kMeasureWaiting : EventType::kMeasureEffective, c, info.name,
       m.amount, m.waiting ? "queue position " + std::to_string(r.queue_position) : m.id);
  c.measures.push_back(std::move(m));
  if (c.status == CaseStatus::kConcluded) {
    run(c, machine::Input::of(machine::InputKind::kRelease, mi));  // An in-doubt freeze that
                                                                   // took effect after the end.
    return;
  }
  // In force: its renewal, lapse and deduction; waiting: its status poll (kRearm).
  run(c,
      machine::Input::of(
          c.measures[mi].waiting ? machine::InputKind::kRearm : machine::InputKind::kInForce, mi));
  check_invariants(c);
  if (unused > Fen()) plan(c);  // Continue on other assets with what came back.
}

Status Engine::Shard::request_freeze(std::string_view number, std::string_view debtor,
                                     std::string_view officer, std::string_view connector,
                                     const Asset& asset, Fen amount) {
  CaseState* c = find(number);
  if (c == nullptr) return not_found_error("case " + std::string(number) + " is not filed");
  CHAKONG_RETURN_IF_ERROR(authorize(subject_of(*c), officer, debtor, "freeze"));
  StatusOr<uint32_t> found = connector_index(connector);
  if (!found.ok()) return found.status();
  const uint32_t ci = *found;
  if (asset.holder_id != debtor) {
    return permission_denied_error("freeze refused: asset '" + mask_id(asset.reference) +
                                   "' is not held by '" + mask_id(debtor) + "'");
  }
  if (is_divisible(asset.category)) {
    CHAKONG_RETURN_IF_ERROR(c->ledger.reserve(amount));
  } else {
    amount = c->ledger.cover_indivisible(asset.value);
  }
  Finding f;
  f.connector = ci;
  f.asset = asset;
  f.found_at = executor_.now();
  c->findings.push_back(std::move(f));
  if (c->status == CaseStatus::kQuerying || c->status == CaseStatus::kFiled) {
    c->status = CaseStatus::kControlling;
  }
  send_freeze(*c, static_cast<uint32_t>(c->findings.size() - 1), amount, false);
  return ok_status();
}

}  // namespace chakong::engine
