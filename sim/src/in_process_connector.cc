#include "chakong/sim/in_process_connector.h"

#include <algorithm>
#include <memory>

namespace chakong::sim {

using connectors::BatchSink;
using connectors::BatchView;
using connectors::Request;
using connectors::Response;

namespace {

// What fixed_latency() wraps, recognised by InProcessConnector (std::function::target).
struct FixedLatency {
  TimeUs latency;
  TimeUs operator()(const std::vector<Request>&) const { return latency; }
};

std::vector<Request> copy_of(BatchView batch) { return {batch.begin(), batch.end()}; }

}  // namespace

LatencyFn fixed_latency(TimeUs fixed) { return FixedLatency{fixed}; }

InProcessConnector::InProcessConnector(institution::Institution& institution, Executor& executor,
                                       LatencyFn latency)
    : institution_(institution), executor_(executor), latency_(std::move(latency)) {
  if (const FixedLatency* f = latency_.target<FixedLatency>()) fixed_ = f->latency;
}

void InProcessConnector::async_submit(BatchView batch, BatchSink& sink) {
  ++in_flight_;
  // post() first: latency and the institution are touched only on the executor's thread.
  BatchSink* out = &sink;
  executor_.post([this, batch, out] {
    const TimeUs latency = fixed_ >= 0 ? fixed_ : latency_(copy_of(batch));
    const TimeUs at = executor_.now() + std::max<TimeUs>(0, latency);
    executor_.run_at(at, [this, batch, out] {
      const Date today = date_of(executor_.now());
      for (size_t i = 0; i < batch.size(); ++i)
        out->response(i) = institution_.handle(batch[i], today);
      --in_flight_;
      out->complete();
    });
  });
}

void AnswerTimeExecutor::post(Task task) {
  if (time_.due == AnswerTime::kNow && time_.parts == 0) {
    inner_.post(std::move(task));
    return;
  }
  queued_.push_back({time_.due, time_.parts, std::move(task)});
  inner_.post([this] { run_next(); });
}

void AnswerTimeExecutor::run_next() {
  Queued q = std::move(queued_.front());
  queued_.pop_front();
  const TimeUs was = time_.due;
  const uint64_t parts = time_.parts;
  time_.due = q.due;
  time_.parts = q.parts;
  q.task();
  time_.due = was;
  time_.parts = parts;
}

namespace {

// Stands between FaultyConnector's inner connector and the caller's sink: takes the inner
// answer and hands it on (changed, delayed or twice) when the inner connector completes.
class Relay final : public BatchSink {
 public:
  using Forward = std::function<void(std::unique_ptr<Relay>)>;
  Relay(BatchSink& outer, size_t n, Forward forward)
      : outer_(outer), responses_(n), written_(n), forward_(std::move(forward)) {}
  Response& response(size_t i) override {
    if (i >= responses_.size()) {
      ++extra_;
      return overflow_;
    }
    written_[i] = 1;
    return responses_[i];
  }
  // The inner connector's last touch: hand on (forward_ owns the relay from here).
  void complete() override {
    Forward f = std::move(forward_);
    f(std::unique_ptr<Relay>(this));
  }
  // Writes what the inner connector wrote (with `status` instead, when given) into the caller's
  // sink; the caller then sees the same number of answers the inner connector gave.
  void deliver(const Status* status) {
    for (size_t i = 0; i < responses_.size(); ++i) {
      if (!written_[i]) continue;
      outer_.response(i) = status ? Response::error(*status) : std::move(responses_[i]);
    }
    for (size_t k = 0; k < extra_; ++k) outer_.response(responses_.size() + k);
  }
  BatchSink& outer() { return outer_; }

 private:
  BatchSink& outer_;
  std::vector<Response> responses_;
  std::vector<uint8_t> written_;
  Response overflow_;
  size_t extra_ = 0;
  Forward forward_;
};

}  // namespace

FaultyConnector::FaultyConnector(connectors::Connector& inner, Executor& executor, FaultPlan plan)
    : inner_(inner), executor_(executor), plan_(std::move(plan)) {}

void FaultyConnector::async_submit(BatchView batch, BatchSink& sink) {
  const Fault f = plan_(copy_of(batch));
  Executor* ex = &executor_;
  switch (f.kind) {
    case Fault::kPass: inner_.async_submit(batch, sink); return;
    case Fault::kFail: {
      BatchSink* out = &sink;
      const size_t n = batch.size();
      executor_.post([out, n, status = f.status] {
        for (size_t i = 0; i < n; ++i) out->response(i) = Response::error(status);
        out->complete();
      });
      return;
    }
    case Fault::kDelay: {
      const TimeUs delay = f.delay;
      auto* relay = new Relay(sink, batch.size(), [ex, delay](std::unique_ptr<Relay> r) {
        ex->run_after(delay, [r = std::move(r)] {
          r->deliver(nullptr);
          r->outer().complete();
        });
      });
      inner_.async_submit(batch, *relay);
      return;
    }
    case Fault::kLoseReply: {
      auto* relay = new Relay(sink, batch.size(), [status = f.status](std::unique_ptr<Relay> r) {
        r->deliver(&status);
        r->outer().complete();
      });
      inner_.async_submit(batch, *relay);
      return;
    }
    case Fault::kDuplicate: {
      auto* relay = new Relay(sink, batch.size(), [](std::unique_ptr<Relay> r) {
        r->deliver(nullptr);
        r->outer().complete();
        r->outer().complete();  // The violation: a second completion, right after the first.
      });
      inner_.async_submit(batch, *relay);
      return;
    }
  }
}

}  // namespace chakong::sim
