// ConnectorFactory and ConnectorRegistry: Envoy's three lifetimes.
//
//   ConnectorFactory (stateless, one per kind, registered by name: "bank", "vehicle", ...)
//     -> Connector (built once from a validated config; its name is "<kind>.<config.name>")
//       -> one call per request batch.
//
// Configs are Protobuf messages, one type per kind, validated at creation with errors naming
// the field ("bank.timeout_ms = 0: must be in 1..604800000"). Every factory can also build a
// sandbox endpoint: a Transport that serves its protocol from a GroundTruth, which is how the
// conformance kit and the simulator run an adapter's real encode/decode code.
//
// Plugins (ABI 4): a shared library exporting
//   CHAKONG_PLUGIN_EXPORT int chakong_plugin_abi_version();  // must return kPluginAbiVersion
//   CHAKONG_PLUGIN_EXPORT int chakong_register_connectors_v2(
//       chakong::connectors::ConnectorRegistry* registry, char* error, size_t error_size);
// is loaded with load_plugin(). The entry point returns 0 when every factory was registered,
// or a non-zero StatusCode with a NUL-terminated message in `error` (at most error_size bytes,
// truncated) when it could not register them all (plugin_status() does both from a Status);
// the host then registers none of its factories and reports the message, naming the plugin. A
// plugin built for another ABI (ABI 1 exported `void chakong_register_connectors`; ABI 2 had
// this entry point with a std::function TransportDone) is refused with a message naming both
// versions, before any of its code but chakong_plugin_abi_version() runs.
//
// Threading: register and look up factories before serving; factories are then read-only.
#ifndef CHAKONG_CONNECTORS_FACTORY_H_
#define CHAKONG_CONNECTORS_FACTORY_H_

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "chakong/base/executor.h"
#include "chakong/connectors/connector.h"
#include "chakong/connectors/ground_truth.h"
#include "chakong/connectors/transport.h"

namespace google::protobuf {
class Message;
}

namespace chakong::connectors {

// Marks a plugin's two entry points: C linkage, visible even when the plugin is built with
// hidden visibility.
#define CHAKONG_PLUGIN_EXPORT extern "C" __attribute__((visibility("default")))

// Bumped whenever Connector, ConnectorFactory, Transport, the plugin entry points or the structs
// they use change. 2: async_submit(BatchView, BatchSink&), and an entry point that reports its
// status (chakong_register_connectors_v2). 3: TransportDone is a move-only UniqueFunction with
// 32 bytes inline (transport.h), not a std::function; the entry points are those of ABI 2.
// 4: BatchSink has takes_parts() and part() (streamed query answers), Response a `part` mark;
// the entry points are those of ABI 2.
inline constexpr int kPluginAbiVersion = 4;

// What a plugin's chakong_register_connectors_v2 returns for `status`: 0 when OK, else the
// status code (non-zero), with the message copied into `error` (NUL-terminated, truncated to
// error_size - 1 bytes).
//   return plugin_status(registry->add(std::make_unique<MyFactory>()), error, error_size);
inline int plugin_status(const Status& status, char* error, size_t error_size) {
  if (status.ok()) return 0;
  if (error != nullptr && error_size > 0) {
    const size_t n = std::min(status.message().size(), error_size - 1);
    std::memcpy(error, status.message().data(), n);
    error[n] = '\0';
  }
  return static_cast<int>(status.code());
}

// What a connector is built with.
struct ConnectorContext {
  // Runs the connector's timers and completions.
  Executor* executor = nullptr;
  // Carries the connector's bytes to its institution.
  std::unique_ptr<Transport> transport;
};

// Sandbox behaviour of an endpoint, for the kit's fault checks.
struct EndpointOptions {
  // Time from receipt to reply; `latency_fn`, when set, decides per batch instead.
  TimeUs latency = kMicrosPerSecond;
  std::function<TimeUs(const std::vector<Request>&)> latency_fn;
  // When work taken at `start` and due at `due` is actually done (e.g. later, after an
  // outage); unset: at `due`. The ground truth acts at that time and the reply leaves then.
  std::function<TimeUs(TimeUs start, TimeUs due)> process_at;
  bool duplicate_results = false;  // Every result appears twice in the reply.
  bool reverse_results = false;    // Results come back in reverse order.
};

class ConnectorFactory {
 public:
  virtual ~ConnectorFactory() = default;

  // The kind: the first part of every connector name it builds ("bank").
  virtual std::string_view kind() const = 0;
  // What its institutions hold.
  virtual AssetCategory category() const = 0;
  // A config with defaults and the instance name "sandbox".
  virtual std::unique_ptr<google::protobuf::Message> default_config() const = 0;
  // OK, or kInvalidArgument naming the field and value. kInvalidArgument too when `config` is
  // not this kind's config type.
  virtual Status validate(const google::protobuf::Message& config) const = 0;
  // Builds a connector; validates first. `context.executor` and `context.transport` required.
  virtual StatusOr<std::unique_ptr<Connector>> create(const google::protobuf::Message& config,
                                                      ConnectorContext context) const = 0;
  // A transport that serves this kind's protocol from `truth` on `executor`.
  virtual std::unique_ptr<Transport> sandbox_endpoint(GroundTruth& truth, Executor& executor,
                                                      EndpointOptions options) const = 0;
};

class ConnectorRegistry {
 public:
  // Registers a factory; kAlreadyExists for a kind already registered.
  Status add(std::unique_ptr<ConnectorFactory> factory);
  // The factory of `kind_or_name` ("bank" or "bank.icbc"), or nullptr.
  const ConnectorFactory* find(std::string_view kind_or_name) const;
  // Registered kinds, sorted.
  std::vector<std::string> registered_names() const;

 private:
  std::map<std::string, std::unique_ptr<ConnectorFactory>, std::less<>> factories_;
};

// Loads a plugin shared library and lets it register its factories. kNotFound when it cannot
// be opened, kFailedPrecondition for a missing entry point or an ABI mismatch, the plugin's own
// code and message when its entry point reports a failure, kAlreadyExists for a kind already
// registered; each message names the path.
Status load_plugin(const std::string& path, ConnectorRegistry& registry);

}  // namespace chakong::connectors

#endif  // CHAKONG_CONNECTORS_FACTORY_H_
