// CaseServer: the engine as the gRPC service chakong.v1.CaseService (docs/service.md).
//
// It owns everything `chakong serve` runs: the RocksDB journal (case-server mode: every
// case, finding, measure and request in flight is journaled and recovered), one AsioExecutor
// thread per shard and one for the connectors, the connectors (each on a Unix-socket
// transport to an institutions server), the engine, the service's event log (in the same
// journal) and the gRPC server with the standard health service.
//
// Each RPC is carried to the case's shard (Engine::executor_of) as one posted task; the gRPC
// thread waits for its answer. Changes are acknowledged only after Engine::sync() says they
// are durable. No lock is taken on the request path beyond the journal's own group commit.
//
//   CHAKONG_ASSIGN_OR_RETURN(ServeSettings settings, load_serve_config(path, registry));
//   CHAKONG_ASSIGN_OR_RETURN(std::unique_ptr<CaseServer> server,
//                            CaseServer::start(std::move(settings), registry));
//   ... wait for SIGTERM ...
//   server->shutdown(std::chrono::seconds(10));
#ifndef CHAKONG_SERVICE_SERVER_H_
#define CHAKONG_SERVICE_SERVER_H_

#include <chrono>
#include <cstdint>
#include <memory>

#include "chakong/base/status.h"
#include "chakong/connectors/factory.h"
#include "chakong/service/config.h"

namespace chakong::service {

struct ServiceCounters {
  uint64_t calls = 0;              // RPCs received (health excluded).
  uint64_t unauthenticated = 0;    // Refused: no principal.
  uint64_t permission_denied = 0;  // Refused: principal may not make the call.
  uint64_t filings_replayed = 0;   // FileCase retries answered OK again.
  uint64_t events = 0;             // Events journaled so far (all lives of the journal).
  uint64_t recovered_cases = 0;    // Cases the engine rebuilt at start.
  uint64_t journal_failures = 0;   // The service's own journal writes that failed (health then
                                   // reports NOT_SERVING).
  uint64_t config_generation = 0;  // Engine::config_generation(): 0 as started, +1 a reload.
  uint64_t reloads_refused = 0;    // reload() calls refused (nothing applied).
};

class CaseServer {
 public:
  // Opens (or creates) the journal, connects the connectors, builds the engine, recovers
  // (Engine::start), then listens. Errors name what failed: the journal (kUnavailable when
  // another process holds it), a connector's socket, the listen address.
  [[nodiscard]] static StatusOr<std::unique_ptr<CaseServer>> start(
      ServeSettings settings, const connectors::ConnectorRegistry& registry);
  // Shuts down (as shutdown() with a 5 s grace) if not done yet.
  ~CaseServer();
  CaseServer(const CaseServer&) = delete;
  CaseServer& operator=(const CaseServer&) = delete;

  // The TCP port listened on (the one chosen, for a ":0" address); 0 for a Unix socket.
  int port() const;
  // The port of the HTTP endpoint (/metrics, /healthz, /readyz); 0 without metrics.address.
  int metrics_port() const;

  // Graceful shutdown: health turns NOT_SERVING, no new call is accepted, calls in flight
  // finish (each waits for its journal sync) for up to `grace`, event streams end, the last
  // journal group is synced, the shards stop and the journal is closed. Requests still out at
  // institutions stay journaled and are re-sent with their keys at the next start. Returns
  // the journal's status (OK unless a write failed). Idempotent.
  Status shutdown(std::chrono::milliseconds grace);

  // SIGHUP: applies what can change while serving, from a freshly loaded and validated config
  // (load_serve_config), checked whole first: nothing is applied when a check fails
  // (kInvalidArgument naming the file, the field and the value). Applied, and returned as
  // the fields applied: the case-server principals ("clients") and the officers
  // ("officers"; a call already past its check is not affected), both for the service's
  // role check and in the engine, and the dispatcher settings ("dispatch"; for the next
  // sends and attempts), through Engine::reload(), which this waits for (up to 10 s) so
  // that the new generation serves when it returns (counters().config_generation); the TLS
  // material (CA, certificate, key, server name) of each TCP connection to institutions
  // that is TLS in both configs, used from its next reconnection
  // ("connectors.transport.tls"). The rest (connectors, engine.*, listeners, journal,
  // shards, calendar, metrics address) is fixed at start: docs/service.md says why.
  // Thread-safe; one reload runs at a time.
  [[nodiscard]] StatusOr<std::vector<std::string>> reload(const ServeSettings& fresh);
  // A reload refused before it reached reload() (the file did not load or did not pass its
  // checks): counted with the refused ones (counters().reloads_refused, /metrics).
  void count_refused_reload();

  // Counters; thread-safe.
  ServiceCounters counters() const;

  struct Impl;

 private:
  explicit CaseServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace chakong::service

#endif  // CHAKONG_SERVICE_SERVER_H_
