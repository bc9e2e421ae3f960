// WireConnector<Codec>: an adapter that speaks an institution's own Protobuf protocol over a
// Transport, and the factory and sandbox endpoint that go with it. Every built-in adapter is
// one of these with its own Codec; a plugin can be too.
//
// A Codec is a struct with:
//   using Config = <config message>;   // with string name, uint32 timeout_ms, uint32 max_batch
//   static constexpr std::string_view kKind;             // "bank"
//   static constexpr AssetCategory kCategory;
//   static Capabilities capabilities(const Config&);
//   static Status validate_extra(const Config&);         // kind-specific fields
//   static void set_defaults(Config*);                   // kind-specific defaults
//   // Adapter side:
//   static std::string encode_requests(const std::vector<Request>&);
//   static StatusOr<std::vector<std::pair<std::string, Response>>> decode_responses(
//       std::string_view bytes);                         // (idempotency key, response)
//   // Institution side (sandbox endpoint):
//   static StatusOr<std::vector<Request>> decode_requests(std::string_view bytes);
//   static std::string encode_responses(const std::vector<std::pair<std::string, Response>>&);
//
// The connector keeps the contract of connector.h: requests outside capabilities() complete
// with kUnimplemented without being sent; a batch is split into wire calls of at most
// max_batch; each wire call has a timeout (kDeadlineExceeded); an unreachable institution is
// kUnavailable; a reply that does not decode, or lacks a result, is kDataLoss; results are
// matched by idempotency key, so reordered and duplicated results are harmless; completion runs
// once, on the executor, never inside async_submit(). shutdown() (and the destructor) completes
// every open call with kCancelled and drops late replies.
//
// Threading: async_submit() and shutdown() may be called from any thread; everything else runs
// on the connector's executor.
#ifndef CHAKONG_CONNECTORS_WIRE_CONNECTOR_H_
#define CHAKONG_CONNECTORS_WIRE_CONNECTOR_H_

#include <google/protobuf/message.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "chakong/connectors/factory.h"

namespace chakong::connectors {

namespace internal {
// Validates the fields every wire config shares; errors read "<kind>.<field> = <value>: ...".
Status validate_common(std::string_view kind, const std::string& name, uint32_t timeout_ms,
                       uint32_t max_batch);
}  // namespace internal

template <typename Codec>
class WireConnector final : public Connector {
 public:
  using Config = typename Codec::Config;

  WireConnector(Config config, ConnectorContext context)
      : name_(std::string(Codec::kKind) + "." + config.name()),
        capabilities_(Codec::capabilities(config)),
        state_(std::make_shared<State>()) {
    state_->executor = context.executor;
    state_->transport = std::move(context.transport);
    state_->timeout = static_cast<TimeUs>(config.timeout_ms()) * 1000;
    state_->max_batch = std::max<size_t>(1, config.max_batch());
    state_->name = name_;
  }
  ~WireConnector() override { shutdown(); }

  const std::string& name() const override { return name_; }
  Capabilities capabilities() const override { return capabilities_; }

  void async_submit(std::vector<Request> batch, BatchCompletion done) override {
    ++state_->in_flight;
    std::shared_ptr<State> s = state_;
    const Capabilities caps = capabilities_;
    s->executor->post([s, caps, batch = std::move(batch), done = std::move(done)]() mutable {
      State::start(s, caps, std::move(batch), std::move(done));
    });
  }

  // Completes every open call with kCancelled; later submissions are cancelled at once.
  void shutdown() {
    std::shared_ptr<State> s = state_;
    s->closed = true;
    s->executor->post([s] { s->cancel_all(); });
  }

  // Calls accepted and not yet completed.
  int in_flight() const { return state_->in_flight.load(); }

 private:
  struct Call {
    std::vector<Response> responses;
    std::vector<bool> resolved;
    size_t open = 0;
    BatchCompletion done;
  };

  struct State {
    Executor* executor = nullptr;
    std::unique_ptr<Transport> transport;
    TimeUs timeout = 0;
    size_t max_batch = 1;
    std::string name;
    std::atomic<int> in_flight{0};
    std::atomic<bool> closed{false};
    uint64_t next_call = 1;
    std::unordered_map<uint64_t, Call> calls;

    static void start(const std::shared_ptr<State>& s, Capabilities caps,
                      std::vector<Request> batch, BatchCompletion done) {
      const uint64_t id = s->next_call++;
      Call& call = s->calls[id];
      call.responses.resize(batch.size());
      call.resolved.assign(batch.size(), false);
      call.open = batch.size();
      call.done = std::move(done);
      if (s->closed) {
        s->finish_all(id, cancelled_error(s->name + " is shut down"));
        return;
      }
      std::vector<size_t> wire;
      for (size_t i = 0; i < batch.size(); ++i) {
        if (caps.has(batch[i].kind)) {
          wire.push_back(i);
        } else {
          s->resolve(
              id, i,
              Response::error(unimplemented_error(s->name + " does not support " +
                                                  std::string(request_kind_name(batch[i].kind)))));
        }
      }
      for (size_t from = 0; from < wire.size(); from += s->max_batch) {
        const size_t to = std::min(wire.size(), from + s->max_batch);
        std::vector<Request> chunk;
        std::vector<size_t> index(wire.begin() + static_cast<std::ptrdiff_t>(from),
                                  wire.begin() + static_cast<std::ptrdiff_t>(to));
        for (size_t i : index) chunk.push_back(batch[i]);
        send(s, id, std::move(chunk), std::move(index));
      }
      // `call` may be gone: resolving the last unsupported request completed (and erased) it.
      // Only an empty batch is still open with nothing to wait for.
      auto it = s->calls.find(id);
      if (it != s->calls.end() && it->second.open == 0) s->complete(id);
    }

    static void send(const std::shared_ptr<State>& s, uint64_t id, std::vector<Request> chunk,
                     std::vector<size_t> index) {
      auto keys = std::make_shared<std::vector<std::pair<std::string, size_t>>>();
      for (size_t k = 0; k < chunk.size(); ++k)
        keys->emplace_back(chunk[k].idempotency_key, index[k]);
      const TimerHandle timer = s->executor->run_after(s->timeout, [s, id, keys] {
        s->fail_open(id, *keys,
                     deadline_exceeded_error(s->name + " did not answer within " +
                                             std::to_string(s->timeout / 1000) + " ms"));
      });
      Executor* ex = s->executor;
      s->transport->async_call(Codec::encode_requests(chunk),
                               [s, ex, id, keys, timer](StatusOr<std::string> reply) mutable {
                                 ex->post([s, id, keys, timer, reply = std::move(reply)]() mutable {
                                   s->executor->cancel(timer);
                                   s->on_reply(id, *keys, std::move(reply));
                                 });
                               });
    }

    void on_reply(uint64_t id, const std::vector<std::pair<std::string, size_t>>& keys,
                  StatusOr<std::string> reply) {
      if (calls.count(id) == 0) return;  // Timed out, cancelled or complete: a late reply.
      if (!reply.ok()) {
        const StatusCode c = reply.status().code();
        fail_open(id, keys,
                  Status(c == StatusCode::kUnknown ? StatusCode::kUnavailable : c,
                         name + ": " + reply.status().message()));
        return;
      }
      StatusOr<std::vector<std::pair<std::string, Response>>> results =
          Codec::decode_responses(*reply);
      if (!results.ok()) {
        fail_open(id, keys,
                  data_loss_error(
                      name + " sent a reply that does not decode: " + results.status().message()));
        return;
      }
      for (auto& [key, response] : *results) {
        for (const auto& [k, i] : keys) {
          if (k == key && calls.count(id) != 0) resolve(id, i, response);
        }
      }
      fail_open(id, keys,
                data_loss_error(name + " sent a reply without a result for this "
                                       "instruction"));
    }

    // Resolves every still-open index of `keys` with `status`.
    void fail_open(uint64_t id, const std::vector<std::pair<std::string, size_t>>& keys,
                   const Status& status) {
      for (const auto& [k, i] : keys) {
        if (calls.count(id) == 0) return;
        resolve(id, i, Response::error(status));
      }
    }

    void resolve(uint64_t id, size_t i, Response r) {
      auto it = calls.find(id);
      if (it == calls.end() || it->second.resolved[i]) return;  // Duplicates are harmless.
      it->second.resolved[i] = true;
      it->second.responses[i] = std::move(r);
      if (--it->second.open == 0) complete(id);
    }

    void finish_all(uint64_t id, const Status& status) {
      auto it = calls.find(id);
      if (it == calls.end()) return;
      for (size_t i = 0; i < it->second.resolved.size(); ++i) {
        if (!it->second.resolved[i]) {
          it->second.resolved[i] = true;
          it->second.responses[i] = Response::error(status);
        }
      }
      complete(id);
    }

    void complete(uint64_t id) {
      auto it = calls.find(id);
      if (it == calls.end()) return;
      Call call = std::move(it->second);
      calls.erase(it);
      --in_flight;
      call.done(std::move(call.responses));
    }

    void cancel_all() {
      std::vector<uint64_t> ids;
      for (const auto& [id, call] : calls) ids.push_back(id);
      std::sort(ids.begin(), ids.end());
      for (uint64_t id : ids) finish_all(id, cancelled_error(name + " is shut down"));
    }
  };

  std::string name_;
  Capabilities capabilities_;
  std::shared_ptr<State> state_;
};

// Serves a Codec's protocol from a GroundTruth: decodes the instructions, lets the ground truth
// act on them at receipt, and replies after the configured latency.
template <typename Codec>
class SandboxEndpoint final : public Transport {
 public:
  SandboxEndpoint(GroundTruth& truth, Executor& executor, EndpointOptions options)
      : truth_(truth), executor_(executor), options_(std::move(options)) {}

  // The institution takes the bytes now, processes them when its latency has passed (and it
  // is able to: EndpointOptions::process_at), acting on the ground truth then, and replies.
  void async_call(std::string request, TransportDone done) override {
    executor_.post([this, request = std::move(request), done = std::move(done)]() mutable {
      StatusOr<std::vector<Request>> batch = Codec::decode_requests(request);
      if (!batch.ok()) {
        executor_.run_after(options_.latency, [done = std::move(done), s = batch.status()] {
          done(invalid_argument_error("institution could not read the request: " + s.message()));
        });
        return;
      }
      const TimeUs latency = options_.latency_fn ? options_.latency_fn(*batch) : options_.latency;
      TimeUs when = executor_.now() + std::max<TimeUs>(0, latency);
      if (options_.process_at) when = std::max(when, options_.process_at(executor_.now(), when));
      executor_.run_at(when, [this, batch = std::move(*batch), done = std::move(done)] {
        std::vector<std::pair<std::string, Response>> results;
        const Date today = date_of(executor_.now());
        for (const Request& r : batch)
          results.emplace_back(r.idempotency_key, truth_.handle(r, today));
        if (options_.reverse_results) std::reverse(results.begin(), results.end());
        if (options_.duplicate_results) {
          const size_t n = results.size();
          for (size_t i = 0; i < n; ++i) results.push_back(results[i]);
        }
        done(Codec::encode_responses(results));
      });
    });
  }

 private:
  GroundTruth& truth_;
  Executor& executor_;
  EndpointOptions options_;
};

template <typename Codec>
class WireConnectorFactory final : public ConnectorFactory {
 public:
  using Config = typename Codec::Config;

  std::string_view kind() const override { return Codec::kKind; }
  AssetCategory category() const override { return Codec::kCategory; }

  std::unique_ptr<google::protobuf::Message> default_config() const override {
    auto c = std::make_unique<Config>();
    c->set_name("sandbox");
    c->set_timeout_ms(60'000);
    c->set_max_batch(100);
    Codec::set_defaults(c.get());
    return c;
  }

  Status validate(const google::protobuf::Message& message) const override {
    const Config* c = dynamic_cast<const Config*>(&message);
    if (c == nullptr) {
      return invalid_argument_error(std::string(Codec::kKind) + " config must be " +
                                    Config().GetTypeName() + ", got " + message.GetTypeName());
    }
    CHAKONG_RETURN_IF_ERROR(
        internal::validate_common(Codec::kKind, c->name(), c->timeout_ms(), c->max_batch()));
    return Codec::validate_extra(*c);
  }

  StatusOr<std::unique_ptr<Connector>> create(const google::protobuf::Message& message,
                                              ConnectorContext context) const override {
    CHAKONG_RETURN_IF_ERROR(validate(message));
    if (context.executor == nullptr) return invalid_argument_error("context.executor is null");
    if (context.transport == nullptr) return invalid_argument_error("context.transport is null");
    std::unique_ptr<Connector> c = std::make_unique<WireConnector<Codec>>(
        static_cast<const Config&>(message), std::move(context));
    return c;
  }

  std::unique_ptr<Transport> sandbox_endpoint(GroundTruth& truth, Executor& executor,
                                              EndpointOptions options) const override {
    return std::make_unique<SandboxEndpoint<Codec>>(truth, executor, options);
  }
};

}  // namespace chakong::connectors

#endif  // CHAKONG_CONNECTORS_WIRE_CONNECTOR_H_
