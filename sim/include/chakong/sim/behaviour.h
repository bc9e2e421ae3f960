// How a simulated institution behaves on the wire, as wrappers around any Transport (never as
// flags inside adapters): business hours and end-of-day batches, a capacity limit, outage
// windows, random transient errors, duplicated and malformed replies. Per-operation latency
// distributions plug into the sandbox endpoint (EndpointOptions::latency_fn) through
// latency_by_operation(). Everything random is seeded, so a simulation repeats exactly.
//
//   InstitutionBehaviour b;
//   b.hours = BusinessHours::end_of_day(16 * 60);          // securities: answer after 16:00
//   b.outages.push_back({outage_start, outage_start + 30 * kMicrosPerHour});
//   auto t = std::make_unique<BehaviourTransport>(std::move(endpoint), executor, b);
#ifndef CHAKONG_SIM_BEHAVIOUR_H_
#define CHAKONG_SIM_BEHAVIOUR_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <vector>

#include "chakong/base/executor.h"
#include "chakong/connectors/connector.h"
#include "chakong/connectors/transport.h"
#include "chakong/connectors/wire_connector.h"

namespace chakong::sim {

// A latency distribution: log-normal with the given median and 99th percentile (fixed when
// p99 <= median), cut off below kLeastZ standard deviations under the median (a draw below is
// that bound: one in a billion draws), so that it has a least value, least(): how soon an
// institution can answer at all, its early-output margin in the parallel windows.
struct LatencyDist {
  static constexpr double kLeastZ = 6.0;
  TimeUs median = 0;
  TimeUs p99 = 0;
  TimeUs sample(std::mt19937_64& rng) const;
  // The value at standard normal `z` (sample() draws z): median * e^(sigma z); the median when
  // fixed.
  TimeUs at_z(double z) const;
  // No sample() is below this.
  TimeUs least() const;
};

// Latency of a batch by the operation of its first request (`fallback` for unlisted ones).
std::function<TimeUs(const std::vector<connectors::Request>&)> latency_by_operation(
    std::map<connectors::RequestKind, LatencyDist> by_kind, LatencyDist fallback, uint64_t seed);

struct BusinessHours {
  // Always open: requests are taken at once.
  bool always_open = true;
  // Open on weekdays (Monday-Friday) from `open_minute` to `close_minute`, China time.
  int open_minute = 9 * 60;
  int close_minute = 17 * 60;
  // End-of-day batch: requests are taken only at `batch_minute` each weekday (-1: no batch).
  int batch_minute = -1;

  static BusinessHours weekdays(int open_minute, int close_minute);
  static BusinessHours end_of_day(int batch_minute);
  // The first time at or after `t` at which a request is taken.
  TimeUs next_intake(TimeUs t) const;
};

// While an outage lasts, calls are refused with UNAVAILABLE and replies to calls already taken
// are held until it ends (the gateway is down both ways).
struct OutageWindow {
  TimeUs from = 0;
  TimeUs to = 0;  // Exclusive.
};

struct InstitutionBehaviour {
  BusinessHours hours;
  int capacity = 0;  // Calls in process at once; 0 = unlimited.
  std::vector<OutageWindow> outages;
  double error_rate = 0;  // Share of calls refused with `error_code` before any processing.
  StatusCode error_code = StatusCode::kUnavailable;
  double duplicate_rate = 0;  // Share of replies whose results all come twice.
  double malformed_rate = 0;  // Share of replies corrupted in transit.
  uint64_t seed = 1;
};

// Work taken at `start` and due at `due` stops while the institution is down: it is done
// later by the length of every outage it overlaps (windows assumed disjoint).
TimeUs resume_after_outages(const std::vector<OutageWindow>& outages, TimeUs start, TimeUs due);

// Validates a behaviour: kInvalidArgument naming the field.
Status validate(const InstitutionBehaviour& b);

// Early output (docs/architecture.md, "Parallel virtual time in the simulator"): an
// institution that computes its answers at intake, so that its logical process can send each
// answer at once, stamped with the time it is really given. The pieces of one institution
// share one AnswerTime, all on its executor's thread: its BehaviourTransport writes `start`
// just before it hands a call to the endpoint; the endpoint's latency function writes
// `service`, its draw, and answers at once; the transport, which then knows when the reply is
// due, sets `due` while it hands the reply up (AnswerTimeExecutor, in_process_connector.h,
// carries it through the adapter's posted tasks), and LpConnector (or RankConnector) sends the
// answer for then. A hub's latency function also names, in `parts`, its record of when each
// member answers the call (Hub::latency); the transport and the executor carry it with `due`,
// and the crossing splits the answers by member from it (AnswerParts, lp_crossing.h).
struct AnswerTime {
  static constexpr TimeUs kNow = -1;
  TimeUs start = 0;       // The call being handed to the endpoint: when a server takes it.
  TimeUs service = kNow;  // Its service time, as drawn (kNow: none drawn, 0).
  TimeUs due = kNow;      // The reply being handed up: when it is given (kNow: now).
  uint64_t parts = 0;     // The call's (or the reply's) member answers; 0: none.
};

// How a BehaviourTransport answers at intake (EarlyOutput::time set): the inner transport must
// answer at once (an endpoint whose latency function writes AnswerTime::service and returns
// 0), and the call is done when a server has worked `service` on it — from `start`, the intake
// or (capacity) the time a server is free, paused by outages — and the gateway is up: the
// reply is handed up at intake with AnswerTime::due set to that time. A reply due `patience`
// or more after its call is handed up at its own time instead, as without early output (the
// caller's own timeout, shorter, has answered the call by then). The ground truth acts at
// intake, not when the reply is due.
struct EarlyOutput {
  AnswerTime* time = nullptr;  // Null: replies are handed up when they are due.
  TimeUs patience = INT64_MAX;
};

// Every call is in a reused slot from async_call() to its reply, and the tasks and the inner
// transport's callback carry only `this` and the slot's id (16 bytes, inline in a Task and in a
// TransportDone): a call allocates nothing here once the slots have grown to the most calls
// open at once.
class BehaviourTransport final : public connectors::Transport {
 public:
  BehaviourTransport(std::unique_ptr<connectors::Transport> inner, Executor& executor,
                     InstitutionBehaviour behaviour, EarlyOutput early = {});
  void async_call(std::string request, connectors::TransportDone done) override;

  // Faults injected so far: calls refused (outage or error_rate), replies duplicated,
  // replies corrupted.
  uint64_t refused() const { return refused_; }
  uint64_t duplicated() const { return duplicated_; }
  uint64_t malformed() const { return malformed_; }

 private:
  // A call from async_call() until its reply is handed on.
  struct Pending {
    std::string request;  // Until delivered to the inner transport.
    connectors::TransportDone done;
    bool duplicate = false, malformed = false;  // Drawn when delivered.
    std::optional<StatusOr<std::string>> held;  // A reply held until an outage ends.
    TimeUs sent = 0, due = 0;                   // Early output: asked, and answer due.
    uint64_t parts = 0;                         // AnswerTime::parts of the call.
    void reuse() {                              // Ended (internal::Slots): nothing kept.
      request = std::string();
      done = nullptr;
      duplicate = malformed = false;
      held.reset();
      sent = due = 0;
      parts = 0;
    }
  };
  // The call's arrival (a posted task: never inside async_call()): refused, or taken in now or
  // at the next intake time.
  void arrive(uint64_t id);
  void intake(uint64_t id);
  void deliver(uint64_t id);
  void on_reply(uint64_t id, StatusOr<std::string> reply);
  // Early output: the call is answered now, for later.
  void answer_early(uint64_t id);
  void on_early_reply(uint64_t id, StatusOr<std::string> reply);
  void corrupt(const Pending& p, StatusOr<std::string>& reply);
  // The gateway is down both ways: a reply due during an outage leaves at its end.
  TimeUs when_up(TimeUs t) const;
  // Hands the reply to the caller (faults applied), ends the call and delivers the next
  // waiting call.
  void pass_reply(uint64_t id, StatusOr<std::string> reply);
  // Ends call `id` and completes it with `reply`.
  void finish(uint64_t id, StatusOr<std::string> reply);

  std::unique_ptr<connectors::Transport> inner_;
  Executor& executor_;
  InstitutionBehaviour b_;
  EarlyOutput early_;
  std::mt19937_64 rng_;
  int busy_ = 0;
  connectors::internal::Slots<Pending> calls_;
  std::deque<uint64_t> waiting_;  // Taken in, waiting for capacity, in intake order.
  std::vector<TimeUs> free_;      // Early output with a capacity: the servers' free times (a heap).
  uint64_t refused_ = 0, duplicated_ = 0, malformed_ = 0;
};

}  // namespace chakong::sim

#endif  // CHAKONG_SIM_BEHAVIOUR_H_
