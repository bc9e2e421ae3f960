// Engine: the embeddable court-enforcement query-and-control engine.
//
// A case server files cases; the engine fans queries out to every connector in scope, starts
// a 48-hour control clock for each controllable finding, plans and sends freezes within the
// case's budget (claim + costs), renews every measure ahead of its expiry, deducts frozen
// funds, and concludes the case when the claim is satisfied, or terminates it (终本) on the
// officer's word and restores it (执恢) later. Everything it does is observable as Events
// and counted in EngineStats.
//
// Shards: cases are partitioned by case number over the executors given at construction; a
// shard is single-threaded and owns its cases, ledgers, measures, deadlines and one
// Dispatcher per connector. Connectors are shared (they are thread-safe by contract); their
// completions are posted back to the owning shard. No lock is taken on the request path.
//
// Threading: every call about a case runs on that case's shard executor
// (executor_of(case_number)); with a single VirtualExecutor that is simply the simulation
// thread. register_officer() and set_observer() are called before the engine starts.
//
// Time comes only from the executors: the same engine runs on AsioExecutor (real time) and
// VirtualExecutor (virtual time).
//
//   Engine engine(config, {&executor}, {&bank});
//   CHAKONG_RETURN_IF_ERROR(engine.register_officer("cq-0110-017", "渝0110"));
//   CHAKONG_RETURN_IF_ERROR(engine.file_case(filing));
#ifndef CHAKONG_ENGINE_ENGINE_H_
#define CHAKONG_ENGINE_ENGINE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "chakong/base/calendar.h"
#include "chakong/base/executor.h"
#include "chakong/base/money.h"
#include "chakong/base/status.h"
#include "chakong/connectors/connector.h"
#include "chakong/engine/dispatch.h"
#include "chakong/engine/journal.h"
#include "chakong/engine/library.h"

namespace chakong::engine {

struct DebtorInfo {
  enum class Kind : uint8_t { kPerson, kOrganisation };
  Kind kind = Kind::kPerson;
  std::string id;  // Resident ID or unified social credit code.
  std::string name;
};

// What a case server files (the plain form of chakong.v1.Case).
struct CaseFiling {
  std::string case_number;  // "（2024）渝0110执1234号"
  std::string court;        // "渝0110"; must match the case number
  std::vector<DebtorInfo> debtors;
  Fen claim;                             // > 0 and <= kMaxClaim
  Fen costs;                             // >= 0
  std::vector<std::string> officer_ids;  // registered officers of `court`
  TimeUs received_at = 0;                // When the officer received the case; 0 = now.
};

enum class CaseStatus : uint8_t {
  kFiled,        // Waiting for the query start.
  kQuerying,     // Queries out, nothing controllable found yet.
  kControlling,  // Findings being frozen.
  kDeducting,    // Frozen funds being transferred to the case account.
  kConcluded,    // Claim satisfied; measures released.
  kTerminated,   // 终本: in the library, measures kept and renewed.
  kRestored,     // Restored under a new 执恢 number; this record keeps its measures.
};
std::string_view case_status_name(CaseStatus status);

struct TerminationPolicy {
  int min_days_since_filing = 90;  // "more than 3 months since filing"
  bool require_queries_done = true;
  bool require_consumption_restriction = true;
};

struct EngineConfig {
  // DOMAIN rule 5: control within 48 hours of the finding.
  TimeUs control_deadline = 48 * kMicrosPerHour;
  // Connectors in scope of the query fan-out, by name (default: every query-capable one);
  // e.g. only "bank." and "real_estate." connectors for a court without vehicle links.
  std::function<bool(std::string_view connector)> query_scope = [](std::string_view) {
    return true;
  };
  // When the query fan-out starts after the case is received (0 = at once).
  TimeUs query_delay = 0;
  // Renew this many days before a measure's end date.
  int renewal_lead_days = 30;
  // Renewals within this many days of the end go in the URGENT lane.
  int renewal_urgent_days = 7;
  // Retry a failed renewal after this long (while before the end date).
  TimeUs renewal_retry = kMicrosPerDay;
  // A waiting-list measure takes effect at the institution when the measures before it end;
  // the engine learns it by asking MEASURE_STATUS this often while the measure waits (on
  // connectors that declare the operation), and then treats it as in force from the answer:
  // its end date, renewal, lapse and deduction as for a direct freeze. 0: never asked (the
  // measure stays waiting until released).
  TimeUs waitlist_status_interval = kMicrosPerDay;
  // A request whose outcome is in doubt (connectors::outcome_in_doubt: no answer in time, an
  // institution down or busy, a reply that does not decode, a call cut by shutdown) may still
  // have been carried out. Whatever its kind (query, freeze, waiting-list freeze, renewal,
  // release, deduction) it stays in flight with what it reserved kept (a freeze's budget, a
  // measure in force), and its dispatcher sends it again with the same idempotency key after
  // `in_doubt_retry` (a new round of attempts), up to `in_doubt_resends` times: one bounded
  // series, whose one completion the case hears. After that a query counts as failed; a control
  // request stays in doubt, its reservation kept, and is counted in
  // EngineStats::in_doubt_unresolved (an officer must resolve it with the institution).
  TimeUs in_doubt_retry = kMicrosPerHour;
  int in_doubt_resends = 48;
  // Over-seizure tolerance for divisible assets (DOMAIN rule 2; default 0).
  Fen over_seizure_tolerance;
  // Proportionate control (比例原则; DOMAIN rule 2, docs/domain.md): an indivisible asset (a
  // flat, a vehicle) is sealed only while the remainder of the budget left uncovered by
  // divisible property is at least `min_seal_share` of the claim (0..1) and at least
  // `min_seal_remainder`. A smaller remainder is left uncovered, never chased with a seal: it
  // is reported (EventType::kRemainderUncovered) and counted (EngineStats::seals_avoided,
  // remainders_uncovered), and the clocks of the assets not sealed stop as not required.
  // Defaults: 1 % of the claim and ¥1,000.
  double min_seal_share = 0.01;
  Fen min_seal_remainder = Fen(100'000);
  // Seal indivisible assets when half the control window has passed even if some queries
  // are still out, so that their 48-hour clocks can be met.
  bool plan_indivisible_early = true;
  // Deduct frozen divisible funds this long after the freeze takes effect.
  bool auto_deduct = true;
  TimeUs deduct_delay = 10 * kMicrosPerDay;
  TerminationPolicy termination;
  // Connectors whose institutions top up short freezes from later credits: the ledger keeps
  // the full limit claimed for them. By default, every bank.* connector.
  std::function<bool(std::string_view connector)> tops_up = [](std::string_view name) {
    return name.starts_with("bank.");
  };
  // Dispatcher settings for every connector, and overrides by connector name. Rate and
  // in-flight caps are split evenly over shards.
  DispatcherConfig dispatch;
  std::map<std::string, DispatcherConfig, std::less<>> dispatch_overrides;
  // Working-day calendar for query timeliness; must outlive the engine.
  const WorkCalendar* calendar = &WorkCalendar::china();
  // The terminated-case library's sweep (see library.h). Sweep queries go to the connectors
  // in `query_scope`, in the BULK lane.
  SweepConfig sweep;
  // Where the library's additions and restorations and the sweep's progress are written so
  // that a restarted engine continues (see start()). Null: nothing is kept. Must outlive the
  // engine.
  Journal* journal = nullptr;
  // Case-server mode: every case, finding, measure and request in flight is written to
  // `journal` too (required), with an audit link for every outbound request and every
  // read_case(); a task's requests leave once its changes are durable (group commit), and
  // start() rebuilds everything after a crash. Off in simulation.
  bool journal_cases = false;
  // Keep a terminated case only in the terminated-case library when nothing is left in it (no
  // finding, no measure, no query out): case_view() then answers kNotFound for it, its number
  // still cannot be filed again, and restoration works from the library entry. For memory at
  // national scale, where most terminated cases had no property (the simulator sets it).
  // Ignored in case-server mode.
  bool forget_empty_terminated = false;
  // Likewise drop a concluded case once it is settled (every measure released or ended, no
  // control request in flight), checked `forget_after` after the conclusion and again while
  // control requests are out: case_view() then answers kNotFound and its number still cannot
  // be filed again. Network queries still out do not hold it: their late answers (which could
  // start nothing on a concluded case) are dropped and counted in
  // EngineStats::stale_callbacks. The simulator sets it; ignored in case-server mode.
  // `forget_after` must exceed the retry delays (renewal_retry, in_doubt_retry), so that the
  // check does not spin.
  bool forget_concluded = false;
  TimeUs forget_after = 30 * kMicrosPerDay;
  // How a shard hands work to another shard (a restored case whose new number lives on
  // another shard, a sweep's later hits for it): called on shard `from`'s thread with a task
  // for shard `to`. Null: posted to `to`'s executor. The parallel simulator sends it as a
  // message between logical processes (it then runs a lookahead later).
  std::function<void(size_t from, size_t to, Task task)> cross_shard;
};

// Validates a config; kInvalidArgument naming the field.
Status validate(const EngineConfig& config);

// What Engine::reload() changes while the shards run: the officer registry and the
// dispatcher settings, each given whole (what is not listed is gone). The rest of
// EngineConfig (connectors, journal, calendar, deadlines, the sweep) is fixed at
// construction: it shapes state the shards already hold.
struct ReloadableConfig {
  // Every registered officer as (id, court): one absent is no longer registered.
  std::vector<std::pair<std::string, std::string>> officers;
  // As EngineConfig::dispatch and dispatch_overrides (split over shards the same way).
  DispatcherConfig dispatch;
  std::map<std::string, DispatcherConfig, std::less<>> dispatch_overrides;
};

enum class EventType : uint8_t {
  kCaseFiled,
  kQueriesStarted,
  kFinding,
  kControlMet,
  kControlMissed,
  kMeasureEffective,
  kMeasureWaiting,
  kMeasureRenewed,
  kMeasureLapsed,
  kMeasureReleased,
  kDeducted,
  kCaseConcluded,
  kCaseTerminated,
  kCaseRestored,
  kRequestRefused,
  kRequestFailed,
  kSweepRunStarted,   // detail: the run (its start date); amount: none.
  kSweepRunFinished,  // detail: the run and whether it fit its window.
  kSweepHit,          // A library case's debtor has property: case, connector, value.
  // Proportionality: once every query has answered, a remainder of the budget too small to
  // seal an indivisible asset for (EngineConfig::min_seal_share, min_seal_remainder) is left
  // uncovered. amount: the remainder; detail: the floor and the asset not sealed.
  kRemainderUncovered,
};
std::string_view event_type_name(EventType type);

struct Event {
  EventType type;
  TimeUs time = 0;
  std::string case_number;
  std::string connector;  // Empty when not about one connector.
  Fen amount;
  std::string detail;
  // kControlMet: time from the finding to the effective freeze.
  TimeUs elapsed = 0;
  // kFinding, kControlMet, kControlMissed: the asset's reference (behind a hub it carries its
  // member's place, so a report can count 48-hour clocks per member).
  std::string reference;
  // kFinding: when its 48-hour clock runs out; 0 when the finding started none.
  TimeUs due = 0;
};

struct EngineStats {
  uint64_t cases_filed = 0, cases_concluded = 0, cases_terminated = 0, cases_restored = 0;
  uint64_t requests[8] = {};  // By connectors::RequestKind (index 1..7).
  uint64_t retries = 0, timeouts = 0, errors = 0, late_reconciled = 0, late_ignored = 0;
  uint64_t findings = 0;
  uint64_t control_started = 0, control_met = 0, control_missed = 0, control_not_required = 0;
  uint64_t query_scored = 0, query_within_5wd = 0, query_within_10wd = 0, query_within_22wd = 0,
           query_later = 0, query_unscored = 0;
  // DOMAIN rule 6 for preservation rulings (执保 cases): enforcement (the network query)
  // starts within 5 calendar days of receipt. Counted apart, and in the query score too.
  uint64_t preservation_started = 0, preservation_within_5d = 0, preservation_late = 0;
  uint64_t renewed = 0, lapsed = 0;
  // Waiting-list measures reported in force by MEASURE_STATUS (then renewed as any other),
  // and those the institution reported ended while they waited (voided by a disposal).
  uint64_t waitlist_converted = 0, waitlist_ended = 0;
  uint64_t unauthorized = 0;
  // Library sweep: debtors queried (one per debtor and run, whatever the connector count),
  // library cases swept, cases with a hit, cases restored by a hit or an applicant's lead.
  uint64_t sweep_debtors_queried = 0, sweep_cases_swept = 0, sweep_hits = 0, sweep_restored = 0,
           lead_restored = 0;
  uint64_t over_seizure = 0;  // Times a case's committed money exceeded budget + tolerance.
  // Requests whose outcome was in doubt, re-sent with their key (EngineConfig::in_doubt_retry);
  // control requests still in doubt after in_doubt_resends re-sends (reservation kept).
  uint64_t in_doubt_resent = 0, in_doubt_unresolved = 0;
  // Timer and request callbacks that arrived for a case forgotten meanwhile, and were dropped
  // without touching it (every callback holds a generation-checked handle, never the state):
  // e.g. a network query answering a concluded case forgotten (forget_concluded).
  uint64_t stale_callbacks = 0;
  // Case-server mode: cases rebuilt by start(), and requests it re-sent with their keys.
  uint64_t recovered_cases = 0, recovered_requests = 0;
  uint64_t indivisible_sealed = 0;
  // Proportionality (EngineConfig::min_seal_share, min_seal_remainder): cases with a
  // remainder left uncovered rather than sealed for, the seals not made, the money left.
  uint64_t remainders_uncovered = 0, seals_avoided = 0;
  Fen uncovered;
  // Cases whose budget (claim and costs) was at some point wholly held by measures in force
  // and deductions (not counting reservations in flight or waiting-list measures).
  uint64_t cases_secured = 0;
  Fen claimed, frozen, deducted;
  // Mean query-timeliness score (DOMAIN rule 6), 0..100; 0 when nothing was scored.
  double query_score() const;
  void add(const EngineStats& other);
};

struct MeasureView {
  std::string measure_id;
  std::string connector;
  std::string reference;
  AssetCategory category;
  Fen amount;  // Frozen (divisible) or value (indivisible).
  bool waiting = false;
  bool live = true;
  Date end;
};

struct CaseView {
  std::string case_number;
  CaseStatus status;
  std::string restored_as;  // New 执恢 number once restored.
  Fen budget, frozen, reserved, pending, deducted, indivisible_cover;
  int queries_outstanding = 0;
  int findings = 0;
  int open_control_clocks = 0;
  std::vector<MeasureView> measures;
  std::vector<std::string> indivisible_reasons;
};

// One sweep run, summed over shards.
struct SweepRunReport {
  Date start;  // The run's start date (batch) or its half-year's (anniversary).
  bool anniversary = false;
  uint64_t due = 0;    // Library cases due in the run (restored ones excepted).
  uint64_t swept = 0;  // Due cases whose every debtor was answered.
  uint64_t debtors_queried = 0;
  uint64_t hits = 0, restored = 0;
  TimeUs started_at = 0;
  TimeUs finished_at = 0;   // 0 while under way.
  TimeUs window_end = 0;    // When it should have been done.
  TimeUs max_lateness = 0;  // Anniversary: the longest wait of a case after its due day.
  bool finished() const { return finished_at != 0; }
  bool fit() const { return finished() && finished_at <= window_end; }
};

struct LibraryStats {
  uint64_t cases = 0;  // Records, restored ones included.
  uint64_t restored = 0;
  uint64_t memory_bytes = 0;
};

class Engine {
 public:
  // `shards`: one executor per shard (at least one). `connectors`: every connector the
  // engine may use; names must be unique. All must outlive the engine, and `config` must
  // be valid (see create()).
  Engine(EngineConfig config, std::vector<Executor*> shards,
         std::vector<connectors::Connector*> connectors);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Validates `config` and the connector names, then builds the engine.
  [[nodiscard]] static StatusOr<std::unique_ptr<Engine>> create(
      EngineConfig config, std::vector<Executor*> shards,
      std::vector<connectors::Connector*> connectors);

  // Registers an officer of `court` who may be assigned to its cases. kAlreadyExists for a
  // repeated id, kInvalidArgument for empty fields.
  Status register_officer(std::string officer_id, std::string court);

  // Replaces the officer registry and the dispatcher settings while the shards run; callable
  // from any thread. `config` is checked whole first: kInvalidArgument naming the field and
  // value (officers[i].id empty or repeated, officers[i].court empty, a dispatch setting out
  // of range, dispatch_overrides[name] for a connector the engine does not have), and then
  // nothing is applied. Otherwise it returns the new generation (1 for the first reload; 0
  // is the configuration the engine was built with) and posts the settings to every shard,
  // which applies them on its own thread (no lock; for a moment some shards may run the old
  // generation and others the new). From then on on a shard: an officer removed is refused
  // ("officer 'x' is not registered") wherever the authorisation check runs, one added may
  // be assigned; each dispatcher's rate, burst, max_in_flight, max_batch, linger and breaker
  // apply to its next sends, the timeout, attempts and backoff to its next attempts (an
  // attempt in flight keeps the timer it was sent with). `applied`, if given, runs once on
  // the thread of the last shard to apply it, with the generation.
  [[nodiscard]] StatusOr<uint64_t> reload(const ReloadableConfig& config,
                                          std::function<void(uint64_t generation)> applied = {});
  // The newest generation every shard has applied (0 before any reload). Any thread.
  uint64_t config_generation() const;

  size_t shard_count() const;
  size_t shard_of(std::string_view case_number) const;
  Executor& executor_of(std::string_view case_number);

  // Files a case and schedules its query fan-out. kInvalidArgument naming the field for a bad
  // case number, court mismatch, no debtors, a bad debtor ID, a claim <= 0 or over
  // kMaxClaim, negative costs, or no officers; kPermissionDenied for an officer who is not
  // registered with the case's court; kAlreadyExists for a case number already filed.
  // Nothing is filed when it fails.
  Status file_case(const CaseFiling& filing);

  // Terminates (终本) an open case when the policy's criteria hold; kFailedPrecondition
  // naming the unmet criterion, kNotFound for an unknown case.
  Status terminate_case(std::string_view case_number, bool consumption_restricted);

  // Restores a terminated case as `（year）court执恢serial号`, starting a new query fan-out
  // for the rest of the claim; returns the new case number. The original keeps its measures
  // (still renewed). kFailedPrecondition unless terminated.
  StatusOr<std::string> restore_case(std::string_view case_number, int year, int64_t serial);

  // Adds terminated cases to the library (a case server's existing 终本 library, or a
  // simulated one). All or nothing: kInvalidArgument naming `entries[i]` and the field,
  // kAlreadyExists for a case already in the library, kFailedPrecondition for a case
  // terminated before the latest one the library already holds on its shard. Call before
  // the executors run (or from the only shard's thread).
  Status import_library(std::vector<LibraryEntry> entries);

  // Continues from the journal (config.journal): re-adds the library cases terminated by a
  // previous engine, their restorations, and resumes an unfinished sweep run where it
  // stopped: cases whose queries were all answered are not queried again, the others are
  // queried with the same idempotency keys. Then arms the sweep schedule. Call once, after
  // import_library() (the same library as before the restart) and before the executors
  // run. kFailedPrecondition when the journal does not match the library. Without start(),
  // the schedule is armed by the first import or termination and nothing is recovered.
  //
  // In case-server mode (config.journal_cases) it first rebuilds every case: ledger,
  // findings with their 48-hour clocks (a clock that ran out while the engine was down
  // fires at once and is reported missed), measures with their renewal, lapse and
  // deduction timers, waiting positions; and re-sends every request that was in flight
  // (query rounds not fully answered, freezes, renewals, deductions, releases) with its
  // idempotency key, so an institution that already acted answers as before. kDataLoss
  // naming the key of an unreadable record. Counted in stats().recovered_*.
  Status start();

  // Case-server mode: calls `done` (on any thread) once every case filed and every change
  // made before the call is durable, or with the journal's error (kResourceExhausted for a
  // full disk). A case server acknowledges filings after this. Without journal_cases,
  // `done` runs at once with OK.
  void sync(std::function<void(Status)> done);
  // The first failed journal write: once one failed, in case-server mode file_case() returns
  // it and no request leaves (what was acknowledged is durable; restart the engine when the
  // disk has room). Without journal_cases (library and sweep progress only) the engine goes
  // on, each failure reported as a kRequestFailed event; a restart then misses that write.
  // Call when the shards are idle (or from the only shard), like stats().
  Status journal_status() const;

  // Restores a library case on an applicant's lead (the other restoration trigger): a new
  // 执恢 number (numbered as by the sweep, SweepConfig::restore_serial_base), the lead becomes
  // a finding with its 48-hour clock, and the new case queries the network. kPermissionDenied
  // when the officer is not the case's or the asset's holder is not its debtor; kNotFound
  // for an unknown case or connector; kFailedPrecondition when the case is not terminated
  // or the connector cannot freeze. Returns the new case number.
  StatusOr<std::string> restore_on_lead(std::string_view case_number, std::string_view officer_id,
                                        std::string_view connector, const Asset& lead);

  // Sweep runs so far, by start date; and the library's size. Call when the shards are idle.
  std::vector<SweepRunReport> sweep_runs() const;
  LibraryStats library_stats() const;

  // Ad-hoc query of one debtor by an officer, to every query-capable connector. Refused with
  // kPermissionDenied (and counted, never sent) when the officer is not assigned to the case
  // or the subject is not one of its debtors; kNotFound for an unknown case.
  Status request_query(std::string_view case_number, std::string_view debtor_id,
                       std::string_view officer_id);

  // Ad-hoc freeze of a known asset by an officer, through the ledger. kPermissionDenied as
  // for request_query; kNotFound for an unknown connector; kResourceExhausted when `amount`
  // exceeds the remaining budget.
  Status request_freeze(std::string_view case_number, std::string_view debtor_id,
                        std::string_view officer_id, std::string_view connector, const Asset& asset,
                        Fen amount);

  // A snapshot of one case; kNotFound for an unknown case. Not audited: for the host's own
  // monitoring and the simulator. Officers read through read_case().
  [[nodiscard]] StatusOr<CaseView> case_view(std::string_view case_number) const;
  // An officer reads a case's findings: kPermissionDenied unless assigned to the case (the
  // refusal is counted); in case-server mode every read is an audit link.
  [[nodiscard]] StatusOr<CaseView> read_case(std::string_view case_number,
                                             std::string_view officer_id);

  // Called on the shard's thread for every event.
  void set_observer(std::function<void(const Event&)> observer);

  // Counters summed over shards. Call when the shards are idle (or from the only shard).
  EngineStats stats() const;
  // Dispatcher counters for one connector, summed over shards.
  DispatcherStats dispatcher_stats(std::string_view connector) const;
  // The dispatcher of `connector` on shard `shard` now. Call on that shard's thread (a task
  // posted to its executor: how chakong serve's /metrics reads it while the shards run).
  // All zero for an unknown connector or shard.
  DispatcherGauges dispatcher_gauges(size_t shard, std::string_view connector) const;
  // Requests submitted to any dispatcher whose answer has not come yet.
  size_t open_requests() const;

 private:
  class Shard;
  struct Shared;
  std::unique_ptr<Shared> shared_;
  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace chakong::engine

#endif  // CHAKONG_ENGINE_ENGINE_H_
