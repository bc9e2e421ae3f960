#include "chakong/sim/in_process_connector.h"

#include <memory>

namespace chakong::sim {

using connectors::Request;
using connectors::Response;

LatencyFn fixed_latency(TimeUs fixed) {
  return [fixed](const std::vector<Request>&) { return fixed; };
}

InProcessConnector::InProcessConnector(institution::Institution& institution, Executor& executor,
                                       LatencyFn latency)
    : institution_(institution), executor_(executor), latency_(std::move(latency)) {}

void InProcessConnector::async_submit(std::vector<Request> batch,
                                      connectors::BatchCompletion done) {
  ++in_flight_;
  // post() first: latency and the institution are touched only on the executor's thread.
  executor_.post([this, batch = std::move(batch), done = std::move(done)]() mutable {
    const TimeUs at = executor_.now() + std::max<TimeUs>(0, latency_(batch));
    executor_.run_at(at, [this, batch = std::move(batch), done = std::move(done)]() mutable {
      const Date today = date_of(executor_.now());
      std::vector<Response> out;
      out.reserve(batch.size());
      for (const Request& r : batch) out.push_back(institution_.handle(r, today));
      --in_flight_;
      done(std::move(out));
    });
  });
}

FaultyConnector::FaultyConnector(connectors::Connector& inner, Executor& executor, FaultPlan plan)
    : inner_(inner), executor_(executor), plan_(std::move(plan)) {}

void FaultyConnector::async_submit(std::vector<Request> batch, connectors::BatchCompletion done) {
  const Fault f = plan_(batch);
  switch (f.kind) {
    case Fault::kPass: inner_.async_submit(std::move(batch), std::move(done)); return;
    case Fault::kFail: {
      std::vector<Response> out(batch.size(), Response::error(f.status));
      executor_.post(
          [done = std::move(done), out = std::move(out)]() mutable { done(std::move(out)); });
      return;
    }
    case Fault::kDelay: {
      Executor* ex = &executor_;
      const TimeUs delay = f.delay;
      inner_.async_submit(
          std::move(batch), [ex, delay, done = std::move(done)](std::vector<Response> r) mutable {
            ex->run_after(delay, [done = std::move(done), r = std::move(r)]() mutable {
              done(std::move(r));
            });
          });
      return;
    }
    case Fault::kLoseReply: {
      const Status status = f.status;
      inner_.async_submit(std::move(batch),
                          [status, done = std::move(done)](std::vector<Response> r) mutable {
                            std::vector<Response> out(r.size(), Response::error(status));
                            done(std::move(out));
                          });
      return;
    }
    case Fault::kDuplicate: {
      Executor* ex = &executor_;
      inner_.async_submit(
          std::move(batch), [ex, done = std::move(done)](std::vector<Response> r) mutable {
            auto shared = std::make_shared<connectors::BatchCompletion>(std::move(done));
            (*shared)(r);
            ex->post([shared, r = std::move(r)]() mutable { (*shared)(std::move(r)); });
          });
      return;
    }
  }
}

}  // namespace chakong::sim
