// The case machine: a case's logic as pure functions (CaseState&, Input) -> Effects. It reads
// and changes one case's state and says what should happen outside it (a request to send, a
// timer to arm or cancel, an event to emit, the case changed); it has no executor, dispatcher
// or journal in reach. The shard (shard.h) is the shell that feeds it inputs and interprets
// its effects. Private to the engine.
//
// Concerns in the machine, each in its own file:
//   queries.cc    query fan-out: rounds of queries to every connector in scope, the
//                 timeliness score of the first, answers becoming findings.
//   findings.cc   findings and their 48-hour clocks (met, not required, missed), leads, the
//                 invariants checked after each control step.
//   measures.cc   measures and renewal: renewal lead and lapse timers, renew request and
//                 answer, lapse, end of a measure, release request and answer; a waiting
//                 measure's status poll (MEASURE_STATUS) and its conversion.
//   deduction.cc  deduction: the deduct timer, the deduct request and its answer (the money
//                 moved, the measure ended, the case concluded once its budget is satisfied).
//   control.cc    control and the planner: the planner run (kPlan), freezes (one key per
//                 finding and kind; a waiting-list freeze behind another authority's measure),
//                 their answers becoming measures (handed on to measures.cc), partial freezes
//                 re-planned, and the in-doubt rule of every request (settle()).
//   lifecycle.cc  lifecycle and termination: a case filed (its query start armed), concluded
//                 (clocks stopped, what is left released), terminated into the library, and
//                 whether a concluded case has settled (nothing in flight: it may be forgotten).
//   restoration.cc restoration: a terminated case marked restored, and the restored case
//                 (filed under its new number) taking its leads as findings, clocks at once.
// The shard's other concerns are methods in files of their own (shard.h lists them) and call
// the machine through Shard::run.
#ifndef CHAKONG_ENGINE_SRC_CASE_MACHINE_H_
#define CHAKONG_ENGINE_SRC_CASE_MACHINE_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "case_state.h"
#include "chakong/connectors/connector.h"
#include "chakong/engine/engine.h"
#include "freeze_planner.h"

namespace chakong::engine::machine {

// The planner's buffers, kept by the shell from call to call (control::plan borrows them).
struct PlanScratch {
  std::vector<Candidate> candidates;
  Plan plan;
};

// What the machine may read besides the case: configuration, the time of the input (from the
// shell's executor), and the shard's counters it adds to.
struct Env {
  const EngineConfig& config;
  TimeUs now = 0;
  EngineStats& stats;
  // The shard's connectors by index (their capabilities); empty in tests that need none.
  std::span<const ConnectorInfo> connectors = {};
  // The shell's planner buffers (null: the planner uses its own).
  PlanScratch* plan_scratch = nullptr;
};

// A measure's timers. The handles live in the Measure (the shell owns them); the machine only
// says when to arm or cancel one.
// kStatus: a waiting measure's next MEASURE_STATUS (it shares the renewal's handle: a waiting
// measure has no renewal). kClock: the 48-hour clock of finding `index` (its handle is the
// Finding's). kIndivisible: the case's one early planning of indivisible assets while slow
// queries are still out (CaseState::indivisible_timer; `index` unused). kStart: the case's
// query fan-out after filing (CaseState::start_timer; `index` unused).
enum class TimerKind : uint8_t { kRenew, kLapse, kDeduct, kStatus, kClock, kIndivisible, kStart };

enum class InputKind : uint8_t {
  kTimerFired,     // `timer` of measure `index` fired (kRenew: the renewal lead; kLapse;
                   // kDeduct: the deduction is due; kStatus: ask a waiting measure's status;
                   // kClock: finding `index`'s 48-hour clock ran out; kIndivisible: plan
                   // indivisible assets now; kStart: the query delay after filing passed).
  kResend,         // A restart asks `request` of measure `index` again (same key; in doubt
                   // while running, the dispatcher asks again itself: retry_policy.h). A
                   // freeze (kFreeze, kWaitlistFreeze): finding `index`'s freeze in flight.
  kControlAnswer,  // The definite answer to `request` for measure `index` (the one completion
                   // of its series); `response`, and for a renewal the end it renewed (`cycle`).
                   // A freeze: for finding `index`, any completion (an answer in doubt is its
                   // series exhausted after `resends` re-sends: settle()).
  kRefused,        // The authoriser refused `request` for measure `index` (a query: to
                   // connector `index`, of `round`; a freeze: for finding `index`): it did not
                   // leave.
  kInForce,        // Measure `index` took effect (not waiting): its renewal, lapse, deduction.
  kRearm,          // Recovered or new measure `index`: its renewal and lapse timers again
                   // (a waiting measure: its status poll).
  kRelease,        // Release measure `index` (the case concluded).
  kEnded,          // The institution ended measure `index` (all its funds deducted).
  kStartQueries,   // The query delay after filing passed: every debtor's first round.
  kQuery,          // An officer asks a query round for `debtor` (authorised by the shell).
  kResendQueries,  // A restart: the open query rounds again, same keys.
  kQueryAnswer,    // The answer (`response`) of round `round`'s query to connector `index`
                   // (or, `response->part` set, a part of it: findings, the query still out).
  kLeads,          // Findings handed to the case (`leads`: sweep hits, an applicant's lead).
  kPlan,           // Run the planner (the shell's answer to a kPlan effect; a recovered case).
  kFiled,          // The case was just filed (the shell adopted it): counted, its start armed.
  kConclude,       // Conclude the case (the shell's answer to a kConclude effect).
  kRestored,       // The case was just filed as a restoration, with `leads`; `fan_out` =
                   // false when the sweep has just queried every connector for its debtors.
};

struct Input {
  InputKind kind;
  uint32_t index = 0;  // The measure.
  TimerKind timer = TimerKind::kRenew;
  connectors::RequestKind request = connectors::RequestKind::kRenew;
  const connectors::Response* response = nullptr;  // kControlAnswer; borrowed for the call.
  Date cycle;                                      // kControlAnswer of a renewal.
  uint64_t round = 0;                              // kQueryAnswer, kRefused of a query.
  std::string_view debtor, officer;                // kQuery; borrowed for the call.
  std::span<const Lead> leads;                     // kLeads; borrowed for the call.
  int resends = 0;      // kControlAnswer of a freeze: the re-sends its series made (reported).
  bool fan_out = true;  // kRestored.

  static Input timer_fired(TimerKind t, uint32_t measure) {
    return {InputKind::kTimerFired, measure, t};
  }
  static Input resend(connectors::RequestKind k, uint32_t measure) {
    return {InputKind::kResend, measure, TimerKind::kRenew, k};
  }
  static Input answer(connectors::RequestKind k, uint32_t measure, const connectors::Response& r,
                      Date cycle = Date()) {
    return {InputKind::kControlAnswer, measure, TimerKind::kRenew, k, &r, cycle};
  }
  // A freeze's completion (`finding`, after `resends` re-sends with the same key).
  static Input freeze_answer(connectors::RequestKind k, uint32_t finding,
                             const connectors::Response& r, int resends) {
    Input in = answer(k, finding, r);
    in.resends = resends;
    return in;
  }
  static Input refused(connectors::RequestKind k, uint32_t measure) {
    return {InputKind::kRefused, measure, TimerKind::kRenew, k};
  }
  static Input of(InputKind kind, uint32_t measure = 0) { return {kind, measure}; }
  static Input query(std::string_view debtor, std::string_view officer) {
    Input in{InputKind::kQuery};
    in.debtor = debtor;
    in.officer = officer;
    return in;
  }
  static Input query_answer(uint32_t connector, uint64_t round, const connectors::Response& r) {
    Input in{InputKind::kQueryAnswer, connector};
    in.request = connectors::RequestKind::kQuery;
    in.response = &r;
    in.round = round;
    return in;
  }
  static Input query_refused(uint32_t connector, uint64_t round) {
    Input in = refused(connectors::RequestKind::kQuery, connector);
    in.round = round;
    return in;
  }
  static Input leads_of(std::span<const Lead> leads) {
    Input in{InputKind::kLeads};
    in.leads = leads;
    return in;
  }
  static Input restored(std::span<const Lead> leads, bool fan_out) {
    Input in{InputKind::kRestored};
    in.leads = leads;
    in.fan_out = fan_out;
    return in;
  }
};

enum class EffectKind : uint8_t {
  kSend,               // Send `request` to `connector` on `lane` by `at` (its deadline); its answer
                       // comes back as kControlAnswer (or kRefused) for measure `index` and `cycle`
                       // (a freeze: for finding `index`).
  kArmTimer,           // Arm `timer` of measure `index` for `at`.
  kCancelTimer,        // Cancel `timer` of measure `index` (a no-op if it is not pending).
  kSendQuery,          // Send round `round`'s query to `connector` by `at` (lane normal); the shell
                       // writes it in place (its key: queries::append_key) from the open round;
                       // its answer comes back as kQueryAnswer (or kRefused).
  kEmit,               // Emit `event` for the case: `connector` (kNoConnector: none), `amount`,
                       // `detail`, the asset's `reference` and (kFinding) its clock's due `at`.
  kCaseChanged,        // The case's state changed (at most once per input, where it first did).
  kPlan,               // Run the planner: new findings, or what a measure held is free again. The
                       // shell feeds it back as the input kPlan where it meets it among the effects
                       // (so a test of the input sees "plan", not the planner's sends).
  kConclude,           // The budget is satisfied: conclude the case (fed back as the input
                       // kConclude where the shell meets it; lifecycle releases the rest).
  kToLibrary,          // The case was terminated with money still owed: into the library, to be
                       // swept (`restricted`: a consumption restriction was issued).
  kForgetWhenSettled,  // The case concluded: the shell may forget it once nothing of it is in
                       // flight (EngineConfig::forget_concluded; lifecycle::settled()).
};

inline constexpr uint32_t kNoConnector = UINT32_MAX;

struct Effect {
  EffectKind kind;
  TimerKind timer = TimerKind::kRenew;
  EventType event = EventType::kCaseFiled;
  Lane lane = Lane::kNormal;
  uint32_t index = 0;
  uint32_t connector = kNoConnector;
  TimeUs at = 0;
  Fen amount;
  Date cycle;
  uint64_t round = 0;
  TimeUs elapsed = 0;       // kEmit: Event::elapsed (control_met: from the finding to control).
  bool restricted = false;  // kToLibrary: a consumption restriction was issued.
  std::string detail;
  std::string reference;  // kEmit: the asset's (findings and 48-hour clocks), or empty.
  connectors::Request request;
};

// The effects of one input, in the order the shell carries them out. The shell keeps one per
// nesting depth and clears it before each input, so the steady state reuses its storage.
class Effects {
 public:
  void clear() {
    list_.clear();
    changed_ = false;
  }
  std::span<Effect> list() { return list_; }
  std::span<const Effect> list() const { return list_; }

  void changed() {
    if (changed_) return;
    changed_ = true;
    push(EffectKind::kCaseChanged);
  }
  void send(connectors::Request r, uint32_t connector, Lane lane, TimeUs deadline, uint32_t measure,
            Date cycle = Date()) {
    Effect& e = push(EffectKind::kSend);
    e.request = std::move(r);
    e.connector = connector;
    e.lane = lane;
    e.at = deadline;
    e.index = measure;
    e.cycle = cycle;
  }
  void send_query(uint32_t connector, uint64_t round, TimeUs deadline) {
    Effect& e = push(EffectKind::kSendQuery);
    e.connector = connector;
    e.lane = Lane::kNormal;
    e.at = deadline;
    e.round = round;
  }
  void arm(TimerKind t, uint32_t measure, TimeUs at) {
    Effect& e = push(EffectKind::kArmTimer);
    e.timer = t;
    e.index = measure;
    e.at = at;
  }
  void cancel(TimerKind t, uint32_t measure) {
    Effect& e = push(EffectKind::kCancelTimer);
    e.timer = t;
    e.index = measure;
  }
  void emit(EventType type, uint32_t connector, Fen amount, std::string detail,
            std::string_view reference = {}, TimeUs due = 0) {
    Effect& e = push(EffectKind::kEmit);
    e.event = type;
    e.connector = connector;
    e.amount = amount;
    e.detail = std::move(detail);
    e.reference.assign(reference);
    e.at = due;
  }
  void plan() { push(EffectKind::kPlan); }
  void conclude() { push(EffectKind::kConclude); }
  void to_library(bool restricted) { push(EffectKind::kToLibrary).restricted = restricted; }
  void forget_when_settled() { push(EffectKind::kForgetWhenSettled); }

 private:
  Effect& push(EffectKind kind) {
    Effect& e = list_.emplace_back();
    e.kind = kind;
    return e;
  }
  std::vector<Effect> list_;
  bool changed_ = false;
};

// One input to case `c`; its effects are appended to `fx`.
void step(const Env& env, CaseState& c, const Input& in, Effects& fx);

// A request of `kind` for case `c` about `debtor` (no key: the caller's or send()'s).
connectors::Request make_request(const CaseState& c, connectors::RequestKind kind,
                                 const std::string& debtor);

// An effect as one line, for tests and logs: "send renew key=... connector=1 lane=urgent
// deadline=...", "arm renew m0 at=...", "emit measure_renewed c1 100.00 until 2026-03-01".
std::string describe(const Effect& e);

// queries.cc: the query fan-out.
namespace queries {
// Every debtor's first round, once, while the case is filed or open.
void start(const Env& env, CaseState& c, Effects& fx);
// A new round for `debtor` by `officer`: a query to every connector in scope.
void query_debtor(const Env& env, CaseState& c, std::string_view debtor, std::string_view officer,
                  Effects& fx);
// The open rounds sent again (a restart).
void resend_rounds(const Env& env, CaseState& c, Effects& fx);
// A query's answer: its assets held by the round's debtor become findings; the planner runs.
void on_answer(const Env& env, CaseState& c, uint32_t connector, uint64_t round,
               const connectors::Response& r, Effects& fx);
// A query that did not leave (refused): no longer outstanding.
void on_refused(CaseState& c, Effects& fx);
// The open query round `round` of `c` (nullptr: none).
const CaseState::Round* round_of(const CaseState& c, uint64_t round);
// Appends a query's idempotency key, "<case>/query/<round>/<debtor>/<connector>", to `key`
// (a buffer kept from request to request).
void append_key(std::string& key, const CaseState& c, uint64_t round, std::string_view debtor,
                std::string_view connector);
}  // namespace queries

// findings.cc: findings and their 48-hour clocks.
namespace findings {
// Records a finding (a query result or a lead; `asset` is held by a debtor of the case) and
// starts its 48-hour clock if it can be frozen while the case is open. A known asset (same
// connector and reference) is not found twice.
void add(const Env& env, CaseState& c, uint32_t connector, const Asset& asset, TimeUs found_at,
         Effects& fx);
// Leads handed to the case: findings, then the planner.
void add_leads(const Env& env, CaseState& c, std::span<const Lead> leads, Effects& fx);
// Finding `fi`'s clock stops (controlled, or no longer required).
void stop_clock(CaseState& c, uint32_t fi, Effects& fx);
// Finding `fi`'s clock ran out: reported missed.
void on_clock_due(const Env& env, CaseState& c, uint32_t fi, Effects& fx);
// Counts over-seizure, and the case's first moment of being wholly secured.
void check_invariants(const Env& env, CaseState& c);
}  // namespace findings

// measures.cc: measures and renewal.
namespace measures {
void in_force(const Env& env, CaseState& c, uint32_t mi, Effects& fx);
void arm_expiry(const Env& env, CaseState& c, uint32_t mi, Effects& fx);
void renew(const Env& env, CaseState& c, uint32_t mi, Effects& fx);
void on_renew_answer(const Env& env, CaseState& c, uint32_t mi, const connectors::Response& r,
                     Date end_before, Effects& fx);
void lapse(const Env& env, CaseState& c, uint32_t mi, Effects& fx);
void end(const Env& env, CaseState& c, uint32_t mi, Effects& fx);
void release(const Env& env, CaseState& c, uint32_t mi, Effects& fx);
void on_release_answer(const Env& env, CaseState& c, uint32_t mi, const connectors::Response& r,
                       Effects& fx);
// A waiting measure's status poll: sends MEASURE_STATUS; the answer converts the measure (in
// force from the institution's end date, then renewed as any other), keeps it waiting (the
// next poll armed), or ends it (the institution holds it no longer: voided).
void ask_status(const Env& env, CaseState& c, uint32_t mi, Effects& fx);
void on_status_answer(const Env& env, CaseState& c, uint32_t mi, const connectors::Response& r,
                      Effects& fx);
}  // namespace measures

// deduction.cc: deduction of a measure's frozen funds.
namespace deduction {
// The deduct timer fired (or the in-doubt policy asks again): sends the deduction of all
// that is frozen now, once the case is open and the connector deducts.
void deduct(const Env& env, CaseState& c, uint32_t mi, Effects& fx);
// The definite answer: the money moved (top-ups first come out of the pending limit), the
// measure ends (the institution ends a measure whose funds are all transferred), and a
// satisfied budget concludes the case.
void on_answer(const Env& env, CaseState& c, uint32_t mi, const connectors::Response& r,
               Effects& fx);
}  // namespace deduction

// One request's completion, in or out of doubt (the one in-doubt rule: the dispatcher runs
// every attempt and wait, retry_policy.h). An answer in doubt after the series' `resends`
// re-sends is reported; a control request (a freeze, a live measure's renew, release or
// deduct) is marked unresolved and keeps what it reserved (a restart re-sends it with the same
// key, or an officer resolves it), a query counts as failed. Returns true when `status` is for
// the caller to handle: a definite outcome, or a doubt the case no longer wants (a query of a
// closed case, a measure no longer live, a status poll: the next poll asks again). `index`:
// the finding (freezes), the measure, or the connector (a query).
bool settle(const Env& env, CaseState& c, connectors::RequestKind kind, uint32_t index,
            const Status& status, int resends, Effects& fx);

// control.cc: control and the planner.
namespace control {
// The planner over the case's open findings within the ledger's remaining budget: a freeze
// sent for each planned one (its amount reserved, or the indivisible value covered), the
// clocks of findings no longer needed stopped, a disproportionate remainder reported, and
// indivisible assets planned early (kIndivisible) before slow queries let their clocks run out.
void plan(const Env& env, CaseState& c, Effects& fx);
// Sends finding `fi`'s freeze of `amount` (a waiting-list freeze when `waitlist`): one key per
// finding and kind, by the finding's clock (urgent lane).
void send_freeze(const Env& env, CaseState& c, uint32_t fi, Fen amount, bool waitlist, Effects& fx);
// An officer's freeze of `asset` (held by a debtor of the case) at `connector` for `amount`
// (divisible; an indivisible asset covers its value): kResourceExhausted, nothing changed,
// when the remaining budget is smaller.
Status request(const Env& env, CaseState& c, uint32_t connector, const Asset& asset, Fen amount,
               Effects& fx);
// Finding `fi`'s freeze answered (`kind`: kFreeze or kWaitlistFreeze). Held by another
// authority: a waiting-list freeze, reservation kept. In doubt after the series: reported,
// marked unresolved, the reservation kept and nothing planned in its place (the money may be
// frozen: never frozen twice). Refused: the reservation freed, the rest planned elsewhere.
// Frozen: a measure (its clock met, in force or waiting); what the institution did not freeze
// is planned elsewhere.
void on_answer(const Env& env, CaseState& c, connectors::RequestKind kind, uint32_t fi,
               const connectors::Response& r, int resends, Effects& fx);
// The freeze did not leave (refused by the authoriser): its reservation freed.
void on_refused(CaseState& c, uint32_t fi, Effects& fx);
}  // namespace control

// lifecycle.cc: lifecycle and termination.
namespace lifecycle {
// A case just filed: counted, reported, and its query fan-out armed for the query delay
// after receipt (kStart).
void filed(const Env& env, CaseState& c, Effects& fx);
// The budget is satisfied (or the case is closed): the clocks still open stop without a
// miss, every live measure is released, the conclusion is reported with what was deducted,
// and the shell may forget the case once it settles. Once only.
void conclude(const Env& env, CaseState& c, Effects& fx);
// Terminates an open (or only filed) case, `restricted` when a consumption restriction was
// issued, under EngineConfig::termination: kFailedPrecondition naming the case and what is
// missing (not open, filed too recently, queries outstanding, no restriction), nothing
// changed. Terminated with money still owed, the case goes into the library (kToLibrary); its
// measures stay in force.
Status terminate(const Env& env, CaseState& c, bool restricted, Effects& fx);
// Whether concluded case `c` may be forgotten: kBusy while a control request is in flight
// (its answer moves money or ends a measure: ask again later), kKept while a measure is in
// force unreleased or a request ended in doubt (the record stays, for an officer), kSettled
// otherwise. Queries still out do not hold a concluded case.
enum class Settled : uint8_t { kBusy, kKept, kSettled };
Settled settled(const CaseState& c);
}  // namespace lifecycle

// restoration.cc: restoration of a terminated case.
namespace restoration {
// Whether engine case `c` may be restored: kFailedPrecondition naming the case and its
// status unless it is terminated, or naming it when nothing is left to enforce.
Status restorable(const CaseState& c);
// Terminated case `c` restored as `as`: it stays as the record of what was, marked restored.
void mark_restored(CaseState& c, std::string_view as, Effects& fx);
// The restored case, just filed, takes its `leads` (a sweep hit, an applicant's lead) as
// findings, their 48-hour clocks from the lead, and the planner runs. `fan_out` = false: the
// sweep has just queried every connector for these debtors, so its own query start is
// cancelled and the case is querying as if it had.
void adopt(const Env& env, CaseState& c, std::span<const Lead> leads, bool fan_out, Effects& fx);
}  // namespace restoration

}  // namespace chakong::engine::machine

#endif  // CHAKONG_ENGINE_SRC_CASE_MACHINE_H_
