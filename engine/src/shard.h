// Engine::Shard: one single-threaded partition of the engine. Private to the engine.
#ifndef CHAKONG_ENGINE_SRC_SHARD_H_
#define CHAKONG_ENGINE_SRC_SHARD_H_

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "chakong/engine/case_number.h"
#include "chakong/engine/engine.h"
#include "chakong/engine/freeze_planner.h"
#include "chakong/engine/ledger.h"

namespace chakong::engine {

struct ConnectorInfo {
  connectors::Connector* connector;
  std::string name;
  connectors::Capabilities caps;
  bool tops_up;
};

struct Engine::Shared {
  EngineConfig config;
  std::vector<ConnectorInfo> connectors;
  std::unordered_map<std::string, std::string> officers;  // id -> court
  std::function<void(const Event&)> observer;
  std::vector<Executor*> executors;
};

class Engine::Shard {
 public:
  Shard(Engine& engine, Shared& shared, Executor& executor, size_t index);
  ~Shard();

  Executor& executor() { return executor_; }
  Status file_case(const CaseFiling& filing);
  Status terminate_case(std::string_view number, bool consumption_restricted);
  StatusOr<std::string> restore_case(std::string_view number, int year, int64_t serial);
  // Creates the restored case on this shard (called on this shard's thread).
  void adopt_restored(CaseFiling filing, std::string original);
  Status request_query(std::string_view number, std::string_view debtor, std::string_view officer);
  Status request_freeze(std::string_view number, std::string_view debtor, std::string_view officer,
                        std::string_view connector, const connectors::Asset& asset, Fen amount);
  StatusOr<CaseView> case_view(std::string_view number) const;
  const EngineStats& stats() const { return stats_; }
  const Dispatcher& dispatcher(size_t connector) const { return *dispatchers_[connector]; }

 private:
  enum class FindingState : uint8_t { kOpen, kInFlight, kControlled, kFailed };

  struct Finding {
    uint32_t connector = 0;
    std::string debtor_id;
    connectors::Asset asset;
    TimeUs found_at = 0;
    TimeUs due = 0;
    TimerHandle clock;
    bool clock_open = false;
    bool held_by_others = false;
    FindingState state = FindingState::kOpen;
  };

  struct Measure {
    std::string id;
    uint32_t connector = 0;
    uint32_t finding = 0;
    connectors::Asset asset;
    std::string debtor_id;
    Fen amount;   // Frozen now (divisible) or the covered value (indivisible).
    Fen pending;  // Part of the limit held in the ledger for top-ups / waitlist fills.
    bool waiting = false;
    bool live = true;
    bool renewing = false;
    bool lapse_due = false;  // The end passed while a renewal was in flight.
    Date end;
    TimerHandle renew_timer, lapse_timer, deduct_timer;
  };

  struct CaseState {
    std::string number;
    CaseNumber parsed;
    CaseFiling filing;
    CaseStatus status = CaseStatus::kFiled;
    Ledger ledger;
    int queries_outstanding = 0;
    bool queries_started = false;  // The automatic fan-out has run.
    bool query_scored = false;     // Timeliness scored at the first network query.
    bool indivisible_allowed = false;
    uint64_t next_key = 0;
    std::vector<Finding> findings;
    std::vector<Measure> measures;
    std::vector<std::string> reasons;
    std::string restored_as;
    TimerHandle start_timer, indivisible_timer;
  };

  using Callback = Dispatcher::Done;

  CaseState* find(std::string_view number);
  const CaseState* find(std::string_view number) const;
  Status authorize(CaseState& c, std::string_view debtor, std::string_view officer,
                   std::string_view what);
  bool send(CaseState& c, connectors::Request r, uint32_t connector, Lane lane, TimeUs deadline,
            Callback done);
  connectors::Request make_request(const CaseState& c, connectors::RequestKind kind,
                                   const std::string& debtor) const;
  void emit(EventType type, const CaseState& c, std::string connector = {}, Fen amount = {},
            std::string detail = {}, TimeUs elapsed = 0);

  void start_queries(CaseState& c);
  void score_query_start(CaseState& c);
  void query_debtor(CaseState& c, const std::string& debtor, const std::string& officer);
  void send_query(CaseState& c, uint32_t connector, const std::string& debtor,
                  const std::string& officer, const std::string& key);
  void on_query(CaseState& c, uint32_t connector, const std::string& debtor,
                connectors::Response r);
  void plan(CaseState& c);
  void send_freeze(CaseState& c, uint32_t finding, Fen amount, bool waitlist);
  void on_freeze(CaseState& c, uint32_t finding, Fen amount, bool waitlist, connectors::Response r);
  void on_control_due(CaseState& c, uint32_t finding);
  void stop_clock(CaseState& c, Finding& f);
  void schedule_measure(CaseState& c, uint32_t measure);
  void renew(CaseState& c, uint32_t measure);
  void on_lapse(CaseState& c, uint32_t measure);
  void deduct(CaseState& c, uint32_t measure);
  void end_measure(CaseState& c, Measure& m);
  void conclude(CaseState& c);
  void release_measure(CaseState& c, uint32_t measure);
  static bool in_doubt(StatusCode code) {
    return code == StatusCode::kDeadlineExceeded || code == StatusCode::kUnavailable ||
           code == StatusCode::kResourceExhausted;
  }
  void check_invariants(const CaseState& c);
  bool open(const CaseState& c) const {
    return c.status == CaseStatus::kQuerying || c.status == CaseStatus::kControlling ||
           c.status == CaseStatus::kDeducting;
  }

  Engine& engine_;
  Shared& shared_;
  const EngineConfig& config_;
  Executor& executor_;
  size_t index_;
  std::vector<std::unique_ptr<Dispatcher>> dispatchers_;
  std::unordered_map<std::string, std::unique_ptr<CaseState>> cases_;
  EngineStats stats_;
};

// Validates a filing without looking at engine state (everything but officer registration
// and duplicates). Errors name the field.
StatusOr<CaseNumber> validate_filing(const CaseFiling& filing);

}  // namespace chakong::engine

#endif  // CHAKONG_ENGINE_SRC_SHARD_H_
