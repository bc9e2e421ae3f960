// The conformance kit's sandbox: a seeded ground truth behind the factory's own endpoint,
// optionally through a faulty transport, and the connector under test. Private to the kit.
#ifndef CHAKONG_CONNECTORS_CONFORMANCE_SANDBOX_H_
#define CHAKONG_CONNECTORS_CONFORMANCE_SANDBOX_H_

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "chakong/base/virtual_executor.h"
#include "chakong/connectors/factory.h"
#include "chakong/institution/institution.h"
#include "monitor.h"

namespace chakong::conformance {

// The contract's names the kit uses throughout.
using connectors::Capabilities;
using connectors::Connector;
using connectors::ConnectorContext;
using connectors::ConnectorFactory;
using connectors::EndpointOptions;
using connectors::Request;
using connectors::request_kind_name;
using connectors::RequestKind;
using connectors::Response;
using connectors::Transport;
using connectors::TransportDone;

inline constexpr char kCase[] = "（2025）渝0110执8001号";
inline constexpr char kOtherAuthority[] = "（2025）渝0112执77号";

// Sits between a connector and its endpoint and misbehaves on purpose.
class FaultTransport final : public Transport {
 public:
  enum class Mode { kNone, kBlackHole, kOutage, kCorrupt };
  FaultTransport(std::unique_ptr<Transport> inner, Executor& executor, Mode mode,
                 std::shared_ptr<std::atomic<int>> calls)
      : inner_(std::move(inner)), executor_(executor), mode_(mode), calls_(std::move(calls)) {}
  void async_call(std::string request, TransportDone done) override;

 private:
  std::unique_ptr<Transport> inner_;
  Executor& executor_;
  Mode mode_;
  std::shared_ptr<std::atomic<int>> calls_;  // Wire calls made, counted for the kit.
};

class Sandbox {
 public:
  // One call: owns its requests and response slots (the connector's view and sink) until the
  // sandbox goes. On the first completion `responses` holds the slots written, in order (fewer
  // than the requests when the connector skipped some: rule 1).
  struct Call final : connectors::BatchSink {
    explicit Call(std::vector<Request> batch);
    Response& response(size_t i) override;
    void complete() override;

    std::atomic<int> completions{0};
    std::atomic<bool> submitting{true};
    bool inline_completion = false;
    std::vector<Response> responses;

    std::vector<Request> requests;
    std::vector<const Request*> pointers;
    std::vector<Response> slots;
    std::vector<uint8_t> written;
    Response overflow;
    size_t extra = 0;
  };

  // Changes the factory's default config before the connector is built.
  using Configure = std::function<void(google::protobuf::Message&)>;
  // The connector's institution instead of the factory's sandbox endpoint (golden exchanges).
  using MakeTransport = std::function<std::unique_ptr<Transport>(Executor&)>;

  Sandbox(const ConnectorFactory& factory, uint64_t seed,
          FaultTransport::Mode mode = FaultTransport::Mode::kNone, EndpointOptions endpoint = {},
          Configure configure = {}, MakeTransport transport = {});
  // Destroys the connector (if the check has not), runs 8 more days (a completion after
  // shutdown, or a drain later than 1 s, is a violation) and records every call never
  // completed.
  ~Sandbox();
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  // Creation status of the connector under test.
  const Status& status() const { return status_; }
  // The connector under test behind the kit's monitors.
  Connector& connector() { return *connector_; }
  void destroy_connector() { connector_.reset(); }
  SandboxExecutor& executor() { return executor_; }
  Monitor& monitor() { return *monitor_; }
  // Wire calls the connector has made to the institution.
  int wire_calls() const { return wire_calls_->load(); }
  institution::Institution& truth() { return truth_; }
  const std::string& debtor() const { return debtor_; }
  const std::string& other() const { return other_; }
  const std::vector<Asset>& assets() const { return assets_; }
  const ConnectorFactory& factory() const { return factory_; }
  Date today() const { return date_of(executor_.now()); }

  // A request of `kind` by the case's officer on `asset` (ignored for queries).
  Request request(RequestKind kind, const Asset& asset, Fen amount, const std::string& key) const;
  // Submits without running. Safe from several threads at once (nothing runs until call() or
  // executor().run_until() on the sandbox's thread).
  std::shared_ptr<Call> submit(std::vector<Request> batch);
  // Submits and runs virtual time for `run_for`.
  std::shared_ptr<Call> call(std::vector<Request> batch, TimeUs run_for = 2 * kMicrosPerDay);
  // Places another authority's measure on `asset` for its whole value.
  std::string foreign_measure(const Asset& asset, Date end);
  // That authority releases its measure `id` at the institution (not through the connector).
  void release_foreign_measure(const std::string& id);

 private:
  const ConnectorFactory& factory_;
  std::shared_ptr<Monitor> monitor_;
  SandboxExecutor executor_;
  std::shared_ptr<std::atomic<int>> wire_calls_ = std::make_shared<std::atomic<int>>(0);
  institution::Institution truth_;
  std::string debtor_, other_;
  std::vector<Asset> assets_;
  std::mutex calls_mu_;
  std::vector<std::shared_ptr<Call>> calls_;  // Outlive the connector: it may complete late.
  std::unique_ptr<Connector> connector_;
  Status status_;
};

}  // namespace chakong::conformance

#endif  // CHAKONG_CONNECTORS_CONFORMANCE_SANDBOX_H_
