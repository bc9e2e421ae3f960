// Engine::Shard: one single-threaded partition of the engine. Private to the engine.
#ifndef CHAKONG_ENGINE_SRC_SHARD_H_
#define CHAKONG_ENGINE_SRC_SHARD_H_

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "audit_chain.h"
#include "authoriser.h"
#include "case_machine.h"
#include "case_state.h"
#include "chakong/base/case_number.h"
#include "chakong/engine/engine.h"
#include "dispatcher.h"
#include "freeze_planner.h"
#include "ledger.h"
#include "library.h"
#include "retry_policy.h"
#include "sweeper.h"

namespace chakong::engine {

// Case-server mode: one case's journal records (durable.cc owns their keys).
struct CaseRecords {
  std::string header;
  std::vector<std::string> findings, measures;  // In index order.
};
// Every case's records in `journal`, by case number.
StatusOr<std::map<std::string, CaseRecords>> read_case_records(const Journal& journal);

struct Engine::Shared {
  EngineConfig config;
  std::vector<ConnectorInfo> connectors;
  std::unordered_map<std::string, std::string> officers;  // id -> court
  std::function<void(const Event&)> observer;
  std::vector<Executor*> executors;
  // Engine::reload(): the last generation handed out, and the newest every shard applied.
  std::atomic<uint64_t> generation{0}, applied_generation{0};
};

// One Engine::reload(), shared (immutable) by the shards that apply it.
struct Reload {
  uint64_t generation = 0;
  Authoriser::Officers officers;
  ReloadableConfig config;
};

// UniqueFunction's inline storage (base/function.h, N = 48): a callback this small is never
// allocated.
inline constexpr size_t kInlineCallback = 48;

class Engine::Shard {
 public:
  Shard(Engine& engine, Shared& shared, Executor& executor, size_t index);
  ~Shard();

  Executor& executor() { return executor_; }
  // Runs `task` on shard `target`'s thread (EngineConfig::cross_shard).
  void post_to(size_t target, Task task);
  Status file_case(const CaseFiling& filing);
  Status terminate_case(std::string_view number, bool consumption_restricted);
  StatusOr<std::string> restore_case(std::string_view number, int year, int64_t serial);

  // A finding handed to a restored case: a sweep hit or an applicant's lead (sweeper.h).
  using Lead = engine::Lead;
  // Creates the restored case on this shard (called on this shard's thread) with its leads;
  // `fan_out` = false when the sweep has just queried the network for it.
  void adopt_restored(CaseFiling filing, std::string original, std::vector<Lead> leads,
                      bool fan_out);

  // Library (sweep_journal.cc) and sweep (the Sweeper, sweeper.h).
  const Library& library() const { return library_; }
  Status import_library(std::vector<std::pair<size_t, LibraryEntry>> entries);
  void truncate_library(size_t n) { library_.truncate(n); }
  Status recover();
  StatusOr<std::string> restore_on_lead(std::string_view number, std::string_view officer,
                                        std::string_view connector, const Asset& lead);
  void collect_runs(std::map<int32_t, SweepRunReport>& runs) const { sweeper_->collect_runs(runs); }
  Status request_query(std::string_view number, std::string_view debtor, std::string_view officer);
  Status request_freeze(std::string_view number, std::string_view debtor, std::string_view officer,
                        std::string_view connector, const Asset& asset, Fen amount);
  StatusOr<CaseView> case_view(std::string_view number) const;
  const EngineStats& stats() const { return stats_; }
  const Dispatcher& dispatcher(size_t connector) const { return *dispatchers_[connector]; }
  // Engine::reload() on this shard's thread: its officers and dispatcher settings from now on.
  void apply(std::shared_ptr<const Reload> reload);

  // Case-server mode (durable.cc). A case rebuilt from its journal records (before the
  // executors run); kDataLoss naming the key of an unreadable record.
  Status recover_case(const std::string& number, const CaseRecords& records);
  // A recovered case record (`key`) checked as file_case() checks a filing, and its status
  // and ledger in range (the budget may be exceeded by `unit_allowance`, a whole-unit freeze
  // rounded up, and the tolerance); kDataLoss naming the key and the field.
  Status validate_recovered(const std::string& key, const v1::Case& filing,
                            const CaseNumber& number, const v1::JournalCase& record,
                            Fen unit_allowance) const;
  // Re-arms every recovered case's clocks and timers and re-sends its requests in flight.
  Status resume_cases();
  // The first failed journal write (OK while none failed).
  const Status& journal_status() const { return journal_error_; }
  StatusOr<CaseView> read_case(std::string_view number, std::string_view officer);

 private:
  // A case's state is plain data (case_state.h) so that the case machine can work on it.
  using FindingState = engine::FindingState;
  using Finding = engine::Finding;
  using Measure = engine::Measure;
  using CaseState = engine::CaseState;

  // What a timer or a request callback holds of its case: a slot and the generation the slot
  // had when the callback was made. A case forgotten meanwhile (its slot freed, or reused by
  // another case) resolves to nullptr, and the callback is dropped and counted
  // (EngineStats::stale_callbacks) instead of touching freed memory.
  struct CaseRef {
    uint32_t slot = 0;
    uint32_t generation = 0;
  };
  CaseRef ref_of(const CaseState& c) const { return {c.slot, slots_[c.slot].generation}; }
  // The case `ref` names, entered (see enter()); nullptr, counted, when it is stale.
  CaseState* resolve(CaseRef ref);
  // Takes ownership of a new case under its number and gives it a slot.
  CaseState& adopt(std::unique_ptr<CaseState> state);
  // Drops a case: its slot's generation moves on, so every CaseRef to it goes stale.
  void drop(CaseState& c);

  using Callback = Dispatcher::Done;

  // The case filed as `number` (nullptr: none), entered (see enter()). The const overload
  // only reads.
  CaseState* find(std::string_view number);
  const CaseState* find(std::string_view number) const;
  // Case-server mode: every task reaches a case through find(), resolve() or adopt(), which
  // enter it; at the end of the task flush() compares each entered case's records with what
  // was last written and appends those that differ. Journaling is derived from the state:
  // there is no mark to place by hand, so no change can miss its record.
  void enter(CaseState& c) {
    if (durable_ && !c.entered) mark_entered(c);
  }
  void mark_entered(CaseState& c);
  // The index of the connector called `name`; kNotFound naming it.
  StatusOr<uint32_t> connector_index(std::string_view name) const;
  // The one authorisation check (Authoriser::check), on every path that acts on a case: its
  // requests (the engine's own included), reads, restorations, and the sweep of a library
  // case. A refusal is counted (EngineStats::unauthorized), emitted and returned.
  Status authorize(const Subject& subject, std::string_view officer,
                   std::optional<std::string_view> debtor, std::string_view what);
  // The same check for every officer of a filing (file_case, recovery): each assigned by the
  // filing and registered with `court`; kPermissionDenied "officer_ids[i]: ..." (not counted
  // as a refused request: the filing is invalid input).
  Status authorize_filing(const CaseFiling& filing, std::string_view court) const;
  // An engine case, or library case `i`, as the authoriser sees it.
  Subject subject_of(const CaseState& c) const;
  Subject subject_of(Library::Index i) const;
  bool send(CaseState& c, connectors::Request r, uint32_t connector, Lane lane, TimeUs deadline,
            Callback done);
  // send() for a request built in place: `fill(Request&)` writes a `kind` request of `officer`
  // about `debtor` (authorised first, as by send()) straight into the dispatcher's job slot,
  // whose strings keep their buffers, or, in case-server mode, into the request held until the
  // task is durable.
  template <typename Fill>
  bool send_in_place(CaseState& c, connectors::RequestKind kind, std::string_view officer,
                     std::string_view debtor, uint32_t connector, Lane lane, TimeUs deadline,
                     Callback done, Fill&& fill) {
    return send_in_place(subject_of(c), kind, officer, debtor, connector, lane, deadline,
                         std::move(done), fill);
  }
  // The same for any subject: an engine case, or a library case (the Sweeper's queries).
  template <typename Fill>
  bool send_in_place(const Subject& subject, connectors::RequestKind kind, std::string_view officer,
                     std::string_view debtor, uint32_t connector, Lane lane, TimeUs deadline,
                     Callback done, Fill&& fill) {
    if (!admit(subject, kind, officer, debtor)) return false;
    if (durable_) {
      connectors::Request r;
      fill(r);
      hold(connector, std::move(r), lane, deadline, std::move(done));
      return true;
    }
    dispatchers_[connector]->submit_in_place(lane, deadline, std::move(done), fill);
    return true;
  }
  // What every request passes before it leaves: authorisation, then the request is counted.
  bool admit(CaseState& c, connectors::RequestKind kind, std::string_view officer,
             std::string_view debtor) {
    return admit(subject_of(c), kind, officer, debtor);
  }
  bool admit(const Subject& subject, connectors::RequestKind kind, std::string_view officer,
             std::string_view debtor);
  // The Sweeper's view of this shard (sweeper.h).
  SweepHost sweep_host();
  connectors::Request make_request(const CaseState& c, connectors::RequestKind kind,
                                   const std::string& debtor) const;
  // `reference` and `due`: Event's (the finding's asset and clock), copied only when observed.
  void emit(EventType type, const CaseState& c, std::string connector = {}, Fen amount = {},
            std::string detail = {}, TimeUs elapsed = 0, std::string_view reference = {},
            TimeUs due = 0);

  // Case-server mode (durable.cc): each entered case's changed records are written to the
  // journal at the end of the task, and the task's requests leave once that write is durable.
  std::string finding_record(const CaseState& c, uint32_t fi) const;
  std::string measure_record(const CaseState& c, uint32_t mi) const;
  std::string header_record(const CaseState& c) const;
  void write_case(CaseState& c);
  void flush();
  void on_durable(uint64_t generation, const Status& status);
  void request_flush();
  // Queues a request (with its audit link) to leave once the next flush is durable.
  void hold(uint32_t connector, connectors::Request r, Lane lane, TimeUs deadline, Callback done);
  void audit(std::string_view case_number, std::string_view who, std::string_view debtor,
             std::string_view purpose, std::string_view action, std::string_view connector,
             std::string_view request_id);
  void resume(CaseState& c);
  // The machine's kSendQuery: round `round`'s query to `connector`, written in place (into
  // the dispatcher's job slot, or the request held until the task is durable); its answer is
  // fed back as kQueryAnswer, a refusal as kRefused.
  void send_query(CaseState& c, uint32_t connector, uint64_t round, TimeUs deadline);
  // The shell of the case machine (case_machine.h): feeds `in` to the machine and carries
  // out its effects in order (sends through send(), timers on the executor holding a CaseRef,
  // events through emit(); kPlan is fed back as the input kPlan).
  void run(CaseState& c, const machine::Input& in);
  // What the machine reads besides the case: configuration, the time now, the counters, the
  // connectors.
  machine::Env env() {
    return {config_, executor_.now(), stats_, shared_.connectors, &plan_scratch_};
  }
  // Calls `fn(env, fx)`, a machine function other than step() (one that returns something:
  // settle, an officer's freeze), with a fresh effects list, and carries out the effects.
  template <typename Fn>
  void run_with(CaseState& c, Fn&& fn) {
    if (effects_depth_ == effects_.size()) effects_.emplace_back();
    machine::Effects& fx = effects_[effects_depth_++];  // A deque: deeper lists never move it.
    fx.clear();
    fn(env(), fx);
    apply(c, fx);
    --effects_depth_;
  }
  void apply(CaseState& c, machine::Effects& fx);
  // Arms measure `mi`'s timer `t` of the case `ref` names (live now) for `at`; when it fires
  // the machine gets kTimerFired (a stale ref: counted, dropped).
  void arm(CaseRef ref, machine::TimerKind t, uint32_t mi, TimeUs at);
  // The handle of measure `mi`'s timer `t`.
  static TimerHandle& timer_of(CaseState& c, machine::TimerKind t, uint32_t mi);
  // EngineConfig::forget_concluded: drops the concluded case `number` if it is settled
  // (machine::lifecycle::settled), or asks again `forget_after` from now while it is busy.
  void forget_if_settled(const std::string& number);
  // The machine's kForgetWhenSettled: forget_if_settled() `forget_after` from now
  // (EngineConfig::forget_concluded, not in case-server mode).
  void forget_later(const std::string& number);
  // The one completion of a request whose series the dispatcher ran (retry_policy.h: every
  // attempt, backoff and in-doubt wait is the dispatcher's; the shard schedules no re-send).
  struct Ask {
    connectors::RequestKind kind;
    uint32_t index = 0;  // The finding (freezes), the measure (renew, deduct, release, status)
                         // or the connector (a query).
  };
  // kDefinite: `status` is an answer for the caller to handle (a definite outcome, or one in
  // doubt the case no longer wants: a query of a closed case, a measure no longer live).
  // kUnresolved: the series ended in doubt; reported, and a control request is marked
  // unresolved (its reservation kept: re-sent at a restart, or resolved by an officer).
  enum class Doubt : uint8_t { kDefinite, kUnresolved };
  Doubt settle(CaseState& c, const Ask& ask, const Status& status);

  // Restores a terminated engine case or a library case (restoration.cc). `as` = the new number,
  // or one the engine allocates.
  StatusOr<std::string> restore(std::string_view number,
                                std::optional<std::pair<int, int64_t>> as,  // (year, serial)
                                std::vector<Lead> leads, bool fan_out);
  void receive_leads(CaseState& c, std::vector<Lead> leads) {
    run(c, machine::Input::leads_of(leads));
  }
  void add_to_library(const CaseState& c, bool restricted);
  void journal_put(const std::string& key, std::string_view value);
  void journal_erase(const std::string& key);
  // A journal write or sync that failed: kept as journal_error_ (the first) and reported.
  void journal_failed(const std::string& key, const Status& status);
  // Library mode: one asynchronous sync after the task's appends (errors are reported).
  void request_library_sync();
  static bool open(const CaseState& c) { return is_open(c); }

  Engine& engine_;
  Shared& shared_;
  const EngineConfig& config_;
  Authoriser authoriser_;
  std::shared_ptr<const Reload> reload_;  // The last one applied (its officers are authoriser_'s).
  Executor& executor_;
  size_t index_;
  std::vector<std::unique_ptr<Dispatcher>> dispatchers_;
  // Keyed by a view of the case's own `number` (the state does not move): the number once.
  std::unordered_map<std::string_view, std::unique_ptr<CaseState>> cases_;
  struct Slot {
    CaseState* state = nullptr;
    uint32_t generation = 0;
  };
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_slots_;
  std::unordered_set<std::string> forgotten_concluded_;  // Numbers still taken.
  // The case machine's effects, one list per nesting depth (an effect may feed the machine
  // again: a refused send, the planner): reused, so the steady state allocates no list.
  std::deque<machine::Effects> effects_;
  size_t effects_depth_ = 0;
  // The planner's candidates and plan, kept from call to call (their buffers).
  machine::PlanScratch plan_scratch_;
  EngineStats stats_;

  Library library_;
  int64_t restore_count_ = 0;

  // Case-server mode.
  const bool durable_;
  struct Held {
    uint32_t connector;
    connectors::Request request;
    Lane lane;
    TimeUs deadline;
    Callback done;
    uint64_t generation;  // Leaves once this flush is durable.
  };
  std::deque<Held> held_;
  std::vector<CaseRef> entered_;  // Cases entered since the last flush.
  uint64_t flush_generation_ = 0;
  bool flush_posted_ = false;
  bool library_sync_posted_ = false;
  Status journal_error_;
  AuditChain audit_;
  std::vector<Journal::Change> pending_;  // The next flush's records, written as one.
  bool audit_head_due_ = false;           // A link was added since the head was last written.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // Guards journal callbacks.
  // Last: it is destroyed first (its timer cancelled) while the shard is still whole.
  std::unique_ptr<Sweeper> sweeper_;
};

// Validates a filing without looking at engine state (everything but officer registration
// and duplicates). Errors name the field.
StatusOr<CaseNumber> validate_filing(const CaseFiling& filing);

}  // namespace chakong::engine

#endif  // CHAKONG_ENGINE_SRC_SHARD_H_
