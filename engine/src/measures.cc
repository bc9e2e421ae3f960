// The case machine's measures and renewal (case_machine.h): a measure in force is renewed
// `renewal_lead_days` before its end (urgently within `renewal_urgent_days`), lapses the day
// after its end without a renewal (reported: DOMAIN rule 4), is released when its case
// concludes, and ends when released, lapsed or wholly deducted.
#include <algorithm>

#include "case_machine.h"

namespace chakong::engine::machine::measures {

using connectors::is_divisible;
using connectors::Request;
using connectors::RequestKind;
using connectors::Response;

void in_force(const Env& env, CaseState& c, uint32_t mi, Effects& fx) {
  arm_expiry(env, c, mi, fx);
  Measure& m = c.measures[mi];
  if (env.config.auto_deduct && is_divisible(asset_of(c, m).category) && m.amount > Fen() &&
      !m.deduct_timer.valid() && !m.deducting && is_open(c)) {
    m.deduct_at = env.now + env.config.deduct_delay;
    fx.changed();
    fx.arm(TimerKind::kDeduct, mi, m.deduct_at);
  }
}

namespace {

// Whether the engine learns a waiting measure's conversion from its connector.
bool polls_status(const Env& env, const Measure& m) {
  return env.config.waitlist_status_interval > 0 && m.connector < env.connectors.size() &&
         env.connectors[m.connector].caps.has(RequestKind::kMeasureStatus);
}

void arm_status(const Env& env, const Measure& m, uint32_t mi, Effects& fx) {
  if (polls_status(env, m)) {
    fx.arm(TimerKind::kStatus, mi, env.now + env.config.waitlist_status_interval);
  }
}

}  // namespace

void arm_expiry(const Env& env, CaseState& c, uint32_t mi, Effects& fx) {
  const Measure& m = c.measures[mi];
  fx.cancel(TimerKind::kRenew, mi);
  fx.cancel(TimerKind::kLapse, mi);
  if (m.waiting) {
    arm_status(env, m, mi, fx);  // Not in force: no renewal, no lapse; its status is asked.
    return;
  }
  if (m.end.is_no_end()) return;  // In force until released: nothing to renew, no lapse.
  fx.arm(TimerKind::kRenew, mi, m.end.plus_days(-env.config.renewal_lead_days).start_us());
  fx.arm(TimerKind::kLapse, mi, m.end.plus_days(1).start_us());
}

void renew(const Env& env, CaseState& c, uint32_t mi, Effects& fx) {
  Measure& m = c.measures[mi];
  if (!m.live || m.waiting || m.renewing) return;
  // Renew while the case is open or in the library; a concluded case releases instead.
  if (c.status == CaseStatus::kConcluded) return;
  Request r = make_request(c, RequestKind::kRenew, asset_of(c, m).holder_id);
  r.asset = asset_of(c, m);
  r.measure_id = m.id;
  // One key per renewal cycle: retries of this cycle cannot extend the term twice.
  r.idempotency_key = c.number + "/renew/" + m.id + "/" + m.end.to_string();
  const int days_left = m.end - date_of(env.now);
  const Lane lane = days_left <= env.config.renewal_urgent_days ? Lane::kUrgent : Lane::kNormal;
  m.renewing = true;  // Until its answer, or kRefused if it does not leave.
  fx.changed();
  fx.send(std::move(r), m.connector, lane, m.end.start_us(), mi, m.end);
}

void on_renew_answer(const Env& env, CaseState& c, uint32_t mi, const Response& r, Date end_before,
                     Effects& fx) {
  Measure& m = c.measures[mi];
  m.renewing = false;
  const bool lapse_due = m.lapse_due;
  m.lapse_due = false;
  fx.changed();
  if (!m.live) return;
  if (r.status.ok() && r.end_date > end_before) {
    m.end = r.end_date;
    ++env.stats.renewed;
    fx.emit(EventType::kMeasureRenewed, m.connector, m.amount, "until " + m.end.to_string());
    in_force(env, c, mi, fx);
    return;
  }
  fx.emit(EventType::kRequestFailed, m.connector, m.amount, "renew: " + r.status.to_string());
  if (lapse_due) {
    lapse(env, c, mi, fx);
    return;
  }
  // Try again while the measure is still in force.
  if (env.now + env.config.renewal_retry < m.end.plus_days(1).start_us()) {
    fx.arm(TimerKind::kRenew, mi, env.now + env.config.renewal_retry);
  }
}

void ask_status(const Env& env, CaseState& c, uint32_t mi, Effects& fx) {
  const Measure& m = c.measures[mi];
  if (!m.live || !m.waiting || m.releasing || c.status == CaseStatus::kConcluded) return;
  Request r = make_request(c, RequestKind::kMeasureStatus, asset_of(c, m).holder_id);
  r.asset = asset_of(c, m);
  r.measure_id = m.id;
  // One key per poll (the institution remembers no status answer; a re-send may share it).
  r.idempotency_key = c.number + "/status/" + m.id + "/" + date_of(env.now).to_string();
  fx.send(std::move(r), m.connector, Lane::kNormal,
          env.now + std::max(env.config.waitlist_status_interval, kMicrosPerMinute), mi);
}

void on_status_answer(const Env& env, CaseState& c, uint32_t mi, const Response& r, Effects& fx) {
  Measure& m = c.measures[mi];
  if (!m.live || !m.waiting || m.releasing || c.status == CaseStatus::kConcluded) return;
  const StatusCode code = r.status.code();
  if (r.status.ok() && r.queue_position == 0) {
    // In force at the institution since the measures before it ended: from now on as a
    // direct freeze (DOMAIN rule 3; its term started on conversion, so its end is the
    // institution's).
    m.waiting = false;
    m.end = r.end_date;
    if (is_divisible(asset_of(c, m).category)) {
      // What was filled of the limit the ledger holds pending (never more).
      const Fen filled = std::clamp(r.frozen, Fen(), m.pending);
      c.ledger.fill_pending(filled);
      m.pending -= filled;
      m.amount += filled;
      env.stats.frozen += filled;
    }
    ++env.stats.waitlist_converted;
    fx.changed();
    fx.emit(EventType::kMeasureEffective, m.connector, m.amount,
            m.id + " took effect from the waiting list, until " + m.end.to_string());
    in_force(env, c, mi, fx);
    return;
  }
  if (code == StatusCode::kFailedPrecondition || code == StatusCode::kNotFound) {
    // The institution holds it no longer (voided by a disposal of the asset): what it held
    // pending is free again.
    ++env.stats.waitlist_ended;
    fx.emit(EventType::kRequestFailed, m.connector, m.amount,
            "measure_status: " + r.status.to_string() + "; the waiting measure ended");
    end(env, c, mi, fx);
    fx.plan();
    return;
  }
  if (!r.status.ok() && !connectors::outcome_in_doubt(code)) {
    // Refused otherwise (unimplemented, not permitted): asking again would not help.
    fx.emit(EventType::kRequestFailed, m.connector, m.amount,
            "measure_status: " + r.status.to_string());
    return;
  }
  arm_status(env, m, mi, fx);  // Still waiting, or no answer this time: ask again later.
}

void lapse(const Env& env, CaseState& c, uint32_t mi, Effects& fx) {
  Measure& m = c.measures[mi];
  if (!m.live || m.waiting) return;
  fx.changed();
  if (m.renewing) {
    // A renewal is still in flight and may have reached the institution in time: let its
    // answer decide.
    m.lapse_due = true;
    return;
  }
  // DOMAIN rule 4: a lapse is a failure to report, never silent.
  ++env.stats.lapsed;
  fx.emit(EventType::kMeasureLapsed, m.connector, m.amount,
          "ended " + m.end.to_string() + " without renewal");
  end(env, c, mi, fx);
  fx.plan();
}

void end(const Env& env, CaseState& c, uint32_t mi, Effects& fx) {
  Measure& m = c.measures[mi];
  if (!m.live) return;
  m.live = false;
  fx.changed();
  fx.cancel(TimerKind::kRenew, mi);
  fx.cancel(TimerKind::kLapse, mi);
  fx.cancel(TimerKind::kDeduct, mi);
  if (is_divisible(asset_of(c, m).category)) {
    c.ledger.unfreeze(m.amount);
    c.ledger.settle_pending(m.pending);
    env.stats.frozen -= m.amount;
  } else {
    c.ledger.uncover_indivisible(m.amount);
  }
  m.amount = Fen();
  m.pending = Fen();
}

void release(const Env& env, CaseState& c, uint32_t mi, Effects& fx) {
  Measure& m = c.measures[mi];
  Request r = make_request(c, RequestKind::kRelease, asset_of(c, m).holder_id);
  r.asset = asset_of(c, m);
  r.measure_id = m.id;
  r.idempotency_key = c.number + "/release/" + m.id;
  m.releasing = true;
  fx.changed();
  fx.send(std::move(r), m.connector, Lane::kNormal, env.now + kMicrosPerDay, mi);
}

void on_release_answer(const Env& env, CaseState& c, uint32_t mi, const Response& r, Effects& fx) {
  Measure& m = c.measures[mi];
  m.releasing = false;
  fx.changed();
  if (!r.status.ok()) {
    fx.emit(EventType::kRequestFailed, m.connector, m.amount, "release: " + r.status.to_string());
    return;
  }
  fx.emit(EventType::kMeasureReleased, m.connector, m.amount, m.id);
  end(env, c, mi, fx);
}

}  // namespace chakong::engine::machine::measures
