// Sweeper: the library sweep of one shard. Private to the engine.
//
// It owns the sweep runs (their ranges, progress bitmaps and reports), their pacing (a run
// releases its due library cases into the BULK lanes a few at a time: evenly over the spread
// for a batch, on each case's anniversary otherwise, at most `cap` cases with queries out),
// their journal records (the run header and its done chunks, Protobuf: sweep_records.h) and
// the sweep's queries. It sees nothing of the shard but the SweepHost it is given: the
// shard's executor (the clock and the timers), configuration, connectors, counters, observer
// and library, and a few calls back:
//   - send: the shard's one send path (Shard::admit, then the dispatcher's job slot or, in
//     case-server mode, the requests held until the task is durable);
//   - journal_put / journal_erase: appended and synced asynchronously once per task (library
//     mode) or in the task's atomic group (case-server mode): no shard thread waits on I/O;
//   - restore / forward_leads / drop_known: what a hit does to the engine's cases.
// Lifetime: owned by its Shard, runs on the shard's executor; callbacks carry library
// indices (no pointer into a run or a case).
#ifndef CHAKONG_ENGINE_SRC_SWEEPER_H_
#define CHAKONG_ENGINE_SRC_SWEEPER_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "authoriser.h"
#include "case_state.h"
#include "chakong/base/executor.h"
#include "chakong/base/function.h"
#include "chakong/engine/engine.h"
#include "dispatcher.h"
#include "library.h"

namespace chakong::engine {

// engine::Lead (case_state.h): a finding handed to a restored case.

// A request written in place (Dispatcher::submit_in_place): a reference to the caller's
// filler, valid for the one call it is passed to.
class RequestFill {
 public:
  template <typename F>
  requires(!std::is_same_v<std::remove_cv_t<F>, RequestFill>)
      RequestFill(F& f)  // NOLINT(google-explicit-constructor): passed as a lambda.
      : obj_(&f), call_([](void* o, connectors::Request& r) { (*static_cast<F*>(o))(r); }) {}
  void operator()(connectors::Request& r) const { call_(obj_, r); }

 private:
  void* obj_;
  void (*call_)(void*, connectors::Request&);
};

// One outbound request of the sweep, as the shard's send path takes it.
struct SweepSend {
  connectors::RequestKind kind = connectors::RequestKind::kQuery;
  std::string_view officer, debtor;
  uint32_t connector = 0;
  Lane lane = Lane::kBulk;
  TimeUs deadline = 0;
};

// What a Sweeper may use of its shard. Every reference outlives the Sweeper.
struct SweepHost {
  Executor& executor;
  const EngineConfig& config;
  const std::vector<ConnectorInfo>& connectors;
  const std::function<void(const Event&)>& observer;
  Library& library;
  EngineStats& stats;
  size_t shard = 0;
  // The one send path (Shard::admit, then the dispatcher or, in case-server mode, the
  // requests held until the task is durable): the request of `send.officer` about
  // `send.debtor` is authorised against `subject`, counted, and written by `fill`; false when
  // it was refused (counted and emitted by the shard), and then nothing is sent.
  UniqueFunction<bool(const Subject&, const SweepSend&, Dispatcher::Done, RequestFill)> send;
  UniqueFunction<void(const std::string& key, std::string_view value)> journal_put;
  UniqueFunction<void(const std::string& key)> journal_erase;
  // A hit restores library case `number` with `leads` (no second fan-out): the new number.
  UniqueFunction<StatusOr<std::string>(const std::string& number, std::vector<Lead> leads)> restore;
  // Later leads of the same sweep go to the restored case `number` (on its shard).
  UniqueFunction<void(const std::string& number, std::vector<Lead> leads)> forward_leads;
  // Library case `number` is an engine case of this shard: the leads it already holds (the
  // same property, under a measure kept in force) are dropped, and every lead when its
  // measures hold its whole budget.
  UniqueFunction<void(const std::string& number, std::vector<Lead>& leads)> drop_known;
};

class Sweeper {
 public:
  // `cap`: library cases with queries out at once.
  Sweeper(SweepHost host, int cap);
  ~Sweeper();
  Sweeper(const Sweeper&) = delete;
  Sweeper& operator=(const Sweeper&) = delete;

  // Schedules the next run once (sweeping is enabled).
  void arm();
  // The runs' journal records of this shard: finished runs become reports, an unfinished run
  // resumes with its progress; else the next run is scheduled. kDataLoss naming the key.
  [[nodiscard]] Status recover();
  void collect_runs(std::map<int32_t, SweepRunReport>& runs) const;

 private:
  // One sweep run. A run covers index ranges of the library (one for a batch; one per
  // anniversary month for the anniversary policy); `cursor` is the next case to release.
  // `done` marks cases finished (swept, or skipped as restored) over [base, base + span), and
  // is what the journal keeps.
  struct Range {
    Library::Index lo = 0, hi = 0, cursor = 0;
    int months = 0;  // Anniversary: which one; 0 for a batch.
  };
  struct Run {
    SweepRunReport report;
    int32_t id = 0;  // Start day.
    TimeUs spread_end = 0;
    std::vector<Range> ranges;
    Library::Index base = 0;
    std::vector<uint64_t> done;
    uint64_t skipped = 0;  // Restored before their turn: not due.
    uint64_t total = 0;    // Cases in the ranges.
    bool is_done(Library::Index i) const {
      const uint32_t k = i - base;
      return (done[k / 64] >> (k % 64)) & 1;
    }
  };
  struct Case {
    int outstanding = 0;
    int refused = 0;  // Queries the authoriser refused: the case is not counted as swept.
    TimeUs due = 0;
    bool hit = false;
    bool counted = false;     // Counted as swept (at once when a hit restored it).
    std::string restored_as;  // Once a hit restored it: later hits go to the new case.
    std::vector<Lead> leads;
  };

  void schedule_run(Date from);
  // Starts the sweep run of `day`, or resumes it from its journal records (`saved_header`);
  // a resumed run whose progress cannot be read is an error, and nothing is started.
  [[nodiscard]] Status begin_run(int32_t day, const std::string* saved_header);
  void tick();
  void release_cases();
  void release(Library::Index i, TimeUs due);
  // `number` is the library case's number, formatted once per release, not per query.
  // False: refused by the authoriser (counted there), not sent.
  bool send_query(Library::Index i, uint32_t connector, const std::string& number, uint8_t debtor);
  void on_answer(Library::Index i, uint32_t connector, std::string_view debtor,
                 connectors::Response r);
  void case_done(Library::Index i);
  void count_swept(Library::Index i, Case& sc);
  void mark_done(Library::Index i);
  void finish_run();
  void event(EventType type, std::string detail);
  std::string run_key(int32_t day) const;
  std::string run_header() const;

  SweepHost host_;
  Executor& executor_;
  const EngineConfig& config_;
  Library& library_;
  EngineStats& stats_;
  const int cap_;

  bool armed_ = false;
  TimerHandle timer_;
  std::optional<Run> run_;
  std::vector<SweepRunReport> past_runs_;
  std::unordered_map<Library::Index, Case> sweeping_;
  bool releasing_ = false;
};

}  // namespace chakong::engine

#endif  // CHAKONG_ENGINE_SRC_SWEEPER_H_
