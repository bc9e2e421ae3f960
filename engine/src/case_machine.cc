#include "case_machine.h"

namespace chakong::engine::machine {

using connectors::Request;
using connectors::RequestKind;

namespace {

bool is_freeze(RequestKind k) {
  return k == RequestKind::kFreeze || k == RequestKind::kWaitlistFreeze;
}

}  // namespace

void step(const Env& env, CaseState& c, const Input& in, Effects& fx) {
  const uint32_t mi = in.index;
  switch (in.kind) {
    case InputKind::kTimerFired:
      switch (in.timer) {
        case TimerKind::kRenew: measures::renew(env, c, mi, fx); return;
        case TimerKind::kLapse: measures::lapse(env, c, mi, fx); return;
        case TimerKind::kDeduct: deduction::deduct(env, c, mi, fx); return;
        case TimerKind::kStatus: measures::ask_status(env, c, mi, fx); return;
        case TimerKind::kClock: findings::on_clock_due(env, c, mi, fx); return;
        case TimerKind::kIndivisible:
          c.indivisible_allowed = true;
          fx.changed();
          control::plan(env, c, fx);
          return;
        case TimerKind::kStart: queries::start(env, c, fx); return;
      }
      return;
    case InputKind::kResend:
      if (is_freeze(in.request)) {
        const Finding& f = c.findings[mi];
        control::send_freeze(env, c, mi, f.sent_amount, f.sent_waitlist, fx);
      } else if (in.request == RequestKind::kRenew) {
        c.measures[mi].renewing = false;
        fx.changed();
        measures::renew(env, c, mi, fx);
      } else if (in.request == RequestKind::kRelease) {
        measures::release(env, c, mi, fx);
      } else if (in.request == RequestKind::kMeasureStatus) {
        measures::ask_status(env, c, mi, fx);
      } else if (in.request == RequestKind::kDeduct) {
        c.measures[mi].deducting = false;
        fx.changed();
        deduction::deduct(env, c, mi, fx);
      }
      return;
    case InputKind::kControlAnswer:
      if (is_freeze(in.request)) {
        control::on_answer(env, c, in.request, mi, *in.response, in.resends, fx);
      } else if (in.request == RequestKind::kRenew) {
        measures::on_renew_answer(env, c, mi, *in.response, in.cycle, fx);
      } else if (in.request == RequestKind::kRelease) {
        measures::on_release_answer(env, c, mi, *in.response, fx);
      } else if (in.request == RequestKind::kMeasureStatus) {
        measures::on_status_answer(env, c, mi, *in.response, fx);
      } else if (in.request == RequestKind::kDeduct) {
        deduction::on_answer(env, c, mi, *in.response, fx);
      }
      return;
    case InputKind::kRefused:
      // A refused renewal is not in flight; a refused release stays marked (as it always has:
      // a restart or the in-doubt policy sends it again); a refused status poll is not asked
      // again.
      if (in.request == RequestKind::kQuery) {
        queries::on_refused(c, fx);
      } else if (is_freeze(in.request)) {
        control::on_refused(c, mi, fx);
      } else if (in.request == RequestKind::kRenew && c.measures[mi].renewing) {
        c.measures[mi].renewing = false;
        fx.changed();
      } else if (in.request == RequestKind::kDeduct && c.measures[mi].deducting) {
        c.measures[mi].deducting = false;
        fx.changed();
      }
      return;
    case InputKind::kInForce: measures::in_force(env, c, mi, fx); return;
    case InputKind::kRearm: measures::arm_expiry(env, c, mi, fx); return;
    case InputKind::kRelease: measures::release(env, c, mi, fx); return;
    case InputKind::kEnded: measures::end(env, c, mi, fx); return;
    case InputKind::kStartQueries: queries::start(env, c, fx); return;
    case InputKind::kQuery: queries::query_debtor(env, c, in.debtor, in.officer, fx); return;
    case InputKind::kResendQueries: queries::resend_rounds(env, c, fx); return;
    case InputKind::kQueryAnswer:
      queries::on_answer(env, c, in.index, in.round, *in.response, fx);
      return;
    case InputKind::kLeads: findings::add_leads(env, c, in.leads, fx); return;
    case InputKind::kPlan: control::plan(env, c, fx); return;
    case InputKind::kFiled: lifecycle::filed(env, c, fx); return;
    case InputKind::kConclude: lifecycle::conclude(env, c, fx); return;
    case InputKind::kRestored: restoration::adopt(env, c, in.leads, in.fan_out, fx); return;
  }
}

Request make_request(const CaseState& c, RequestKind kind, const std::string& debtor) {
  Request r;
  r.kind = kind;
  r.case_number = c.number;
  r.debtor_id = debtor;
  r.officer_id = c.filing.officer_ids.front();
  // A status question acts on nothing: no ruling, as for a query.
  const bool asks = kind == RequestKind::kQuery || kind == RequestKind::kMeasureStatus;
  if (!asks) r.ruling_number = c.number + "之一";
  r.purpose = asks ? "enforcement query" : "enforcement control";
  return r;
}

namespace {

std::string_view timer_name(TimerKind t) {
  switch (t) {
    case TimerKind::kRenew: return "renew";
    case TimerKind::kLapse: return "lapse";
    case TimerKind::kDeduct: return "deduct";
    case TimerKind::kStatus: return "status";
    case TimerKind::kClock: return "clock";
    case TimerKind::kIndivisible: return "indivisible";
    case TimerKind::kStart: return "start";
  }
  return "?";
}

std::string connector_name(uint32_t connector) {
  return connector == kNoConnector ? "-" : "c" + std::to_string(connector);
}

}  // namespace

std::string describe(const Effect& e) {
  // A timer's owner: finding `index` for a 48-hour clock, measure `index` otherwise.
  const bool timer = e.kind == EffectKind::kArmTimer || e.kind == EffectKind::kCancelTimer;
  const bool freeze = e.kind == EffectKind::kSend && is_freeze(e.request.kind);
  const bool finding = freeze || (timer && e.timer == TimerKind::kClock);
  // The case's own timers (kIndivisible, kStart) have no owner to name.
  const std::string m =
      timer && (e.timer == TimerKind::kIndivisible || e.timer == TimerKind::kStart)
          ? std::string()
          : (finding ? " f" : " m") + std::to_string(e.index);
  switch (e.kind) {
    case EffectKind::kSend:
      return "send " + std::string(connectors::request_kind_name(e.request.kind)) + m + " " +
             connector_name(e.connector) + " key=" + e.request.idempotency_key +
             " measure=" + e.request.measure_id +
             (freeze ? " amount=" + std::to_string(e.request.amount.value()) : "") +
             " lane=" + std::string(lane_name(e.lane)) + " deadline=" + std::to_string(e.at) +
             (e.cycle == Date() ? "" : " cycle=" + e.cycle.to_string());
    case EffectKind::kArmTimer:
      return "arm " + std::string(timer_name(e.timer)) + m + " at=" + std::to_string(e.at);
    case EffectKind::kCancelTimer: return "cancel " + std::string(timer_name(e.timer)) + m;
    case EffectKind::kSendQuery:
      return "send query round=" + std::to_string(e.round) + " " + connector_name(e.connector) +
             " lane=" + std::string(lane_name(e.lane)) + " deadline=" + std::to_string(e.at);
    case EffectKind::kEmit:
      return "emit " + std::string(event_type_name(e.event)) + " " + connector_name(e.connector) +
             " " + std::to_string(e.amount.value()) + " " + e.detail;
    case EffectKind::kCaseChanged: return "case changed";
    case EffectKind::kPlan: return "plan";
    case EffectKind::kConclude: return "conclude";
    case EffectKind::kToLibrary:
      return e.restricted ? "to library, consumption restricted" : "to library";
    case EffectKind::kForgetWhenSettled: return "forget when settled";
  }
  return "?";
}

}  // namespace chakong::engine::machine
