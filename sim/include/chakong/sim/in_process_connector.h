// InProcessConnector: a Connector whose institution lives in the same process, with latency
// simulated on an Executor. In virtual time it is the simulator's connector; in real time
// (AsioExecutor, zero latency) it is the in-process connector of benchmarks and examples.
//
// A batch is answered `latency(batch)` after submission: the institution acts on every
// request at that moment (as of that civil date), writing straight into the caller's sink, and
// the completion runs then, never inside async_submit(). With fixed_latency() nothing is copied
// or allocated per batch; another LatencyFn is given a copy of the batch's requests. The connector
// counts calls in flight; it must outlive them (the executor runs them), and in_flight() lets an
// owner drain before destroying it.
//
// Threading: async_submit() posts to the executor, so it may be called from any thread for an
// AsioExecutor; with a VirtualExecutor everything runs on the simulation thread.
#ifndef CHAKONG_SIM_IN_PROCESS_CONNECTOR_H_
#define CHAKONG_SIM_IN_PROCESS_CONNECTOR_H_

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "chakong/base/executor.h"
#include "chakong/connectors/connector.h"
#include "chakong/institution/institution.h"
#include "chakong/sim/behaviour.h"

namespace chakong::sim {

// Latency of one batch; the default answers everything after `fixed`.
using LatencyFn = std::function<TimeUs(const std::vector<connectors::Request>&)>;
LatencyFn fixed_latency(TimeUs fixed);

class InProcessConnector final : public connectors::Connector {
 public:
  InProcessConnector(institution::Institution& institution, Executor& executor, LatencyFn latency);
  ~InProcessConnector() override = default;

  const std::string& name() const override { return institution_.name(); }
  connectors::Capabilities capabilities() const override { return institution_.capabilities(); }
  void async_submit(connectors::BatchView batch, connectors::BatchSink& sink) override;

  int in_flight() const { return in_flight_.load(); }
  institution::Institution& institution() { return institution_; }

 private:
  institution::Institution& institution_;
  Executor& executor_;
  LatencyFn latency_;
  TimeUs fixed_ = -1;  // The latency when latency_ is a fixed_latency(), else -1.
  std::atomic<int> in_flight_{0};
};

// The executor an institution's adapter runs on with early output (behaviour.h): its LP's
// executor, but a task posted while AnswerTime::due is set runs with that due time set again
// (and reset after), so that the answer the adapter completes from it — it posts its handling
// of a reply — leaves for the time the reply was due (and with its AnswerTime::parts). Timers
// carry no due time. Posted tasks
// with one wait in a FIFO, in post order, which is the order the executor runs them.
class AnswerTimeExecutor final : public Executor {
 public:
  AnswerTimeExecutor(Executor& inner, AnswerTime& time) : inner_(inner), time_(time) {}

  TimeUs now() const override { return inner_.now(); }
  void post(Task task) override;
  TimerHandle run_at(TimeUs t, Task task) override { return inner_.run_at(t, std::move(task)); }
  bool cancel(TimerHandle handle) override { return inner_.cancel(handle); }
  bool is_virtual() const override { return inner_.is_virtual(); }

 private:
  void run_next();

  Executor& inner_;
  AnswerTime& time_;
  struct Queued {
    TimeUs due;
    uint64_t parts;
    Task task;
  };
  std::deque<Queued> queued_;
};

// What a FaultyConnector does with one batch.
struct Fault {
  enum Kind : uint8_t {
    kPass,       // Hand to the inner connector unchanged.
    kDelay,      // Hand over, then deliver the answer `delay` later (reordering, timeouts).
    kDuplicate,  // Hand over, and complete twice in a row (a contract violation to survive).
    kFail,       // Do not reach the institution; answer every request with `status`.
    kLoseReply,  // Hand over (the institution acts), then answer every request with `status`
                 // instead of its answer: a reply garbled in transit, a call cut by shutdown.
  };
  Kind kind = kPass;
  TimeUs delay = 0;
  Status status;
};

// Decides the fault for each batch (given a copy of its requests); called in submission order.
using FaultPlan = std::function<Fault(const std::vector<connectors::Request>&)>;

// FaultyConnector wraps any Connector and injects faults by plan: outages, slow answers,
// duplicated and reordered completions. Faults live here, never as flags in adapters.
class FaultyConnector final : public connectors::Connector {
 public:
  FaultyConnector(connectors::Connector& inner, Executor& executor, FaultPlan plan);

  const std::string& name() const override { return inner_.name(); }
  connectors::Capabilities capabilities() const override { return inner_.capabilities(); }
  void async_submit(connectors::BatchView batch, connectors::BatchSink& sink) override;

 private:
  connectors::Connector& inner_;
  Executor& executor_;
  FaultPlan plan_;
};

}  // namespace chakong::sim

#endif  // CHAKONG_SIM_IN_PROCESS_CONNECTOR_H_
