// The configuration of `chakong serve`: a YAML file mapped onto chakong.v1.ServeConfig
// (proto/chakong/v1/serve_config.proto; reference in docs/service.md), checked whole before
// anything starts. Every error is kInvalidArgument naming the file, the field and the value:
//   "serve.yaml: listen.address: '0.0.0.0:50051' is not a loopback address (plaintext is
//    allowed only on loopback or a Unix socket)".
#ifndef CHAKONG_SERVICE_CONFIG_H_
#define CHAKONG_SERVICE_CONFIG_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chakong/base/calendar.h"
#include "chakong/base/status.h"
#include "chakong/connectors/factory.h"
#include "chakong/connectors/socket_transport.h"
#include "chakong/engine/engine.h"
#include "chakong/v1/serve_config.pb.h"

namespace chakong::service {

struct ServeSettings {
  std::string file;  // The config file, as named in errors.

  // Listener.
  std::string address;
  bool plaintext = false;
  std::string tls_cert_pem, tls_key_pem, client_ca_pem;  // Contents, read at load.

  std::string journal_path;
  bool journal_truncate_torn_tail = true;  // See serve_config.proto.
  size_t shards = 1;
  std::vector<std::pair<std::string, std::string>> officers;  // (id, court)
  std::vector<std::string> clients;                           // Case-server principals.
  std::optional<WorkCalendar> calendar;                       // Absent: WorkCalendar::china().

  struct Connector {
    std::string adapter;  // Factory kind.
    std::string name;     // "<adapter>.<config.name>"
    std::unique_ptr<google::protobuf::Message> config;
    std::string socket;  // Unix socket of the institutions server, or
    std::string tcp;     // its TCP "host:port" (exactly one of the two is set).
    std::optional<connectors::TlsClientOptions> tls;  // TLS on tcp (PEM contents, read at load).
    uint32_t channel = 0;
  };
  std::vector<Connector> connectors;

  // HTTP /metrics, /healthz, /readyz ("host:port"); empty: none.
  std::string metrics_address;
  // Lowest log level written: "debug", "info", "warn" or "error".
  std::string log_level = "info";

  // Engine settings from the file (dispatch overrides included). The service sets journal,
  // journal_cases and calendar itself.
  engine::EngineConfig engine;
};

// Parses a duration: "250ms", "90s", "30m", "6h", "2d". kInvalidArgument naming the text.
StatusOr<TimeUs> parse_service_duration(std::string_view text);

// True for "127.x.x.x:port", "localhost:port", "[::1]:port" and "unix:...".
bool is_loopback_address(std::string_view address);

// Parses `yaml` (named `file` in errors; relative paths resolve against `base_dir`).
[[nodiscard]] StatusOr<ServeSettings> parse_serve_config(
    std::string_view yaml, const std::string& file, const std::string& base_dir,
    const connectors::ConnectorRegistry& registry);
// Reads and parses the file at `path`; kNotFound naming it when it cannot be read.
[[nodiscard]] StatusOr<ServeSettings> load_serve_config(
    const std::string& path, const connectors::ConnectorRegistry& registry);

}  // namespace chakong::service

#endif  // CHAKONG_SERVICE_CONFIG_H_
