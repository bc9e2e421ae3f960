// `chakong serve --config FILE [--plugin PATH]...`: runs chakong::service::CaseServer until
// SIGTERM or SIGINT, then shuts down gracefully (docs/service.md).
#include <signal.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "chakong/connectors/factory.h"
#include "chakong/service/config.h"
#include "chakong/service/log.h"
#include "chakong/service/server.h"
#include "commands.h"
#include "connector_registry.h"

namespace chakong::cli {
namespace {

int run_serve(const std::string& config_path, const std::vector<std::string>& plugins,
              int grace_ms) {
  connectors::ConnectorRegistry registry;
  if (int rc = load_connectors("serve", plugins, 1, registry); rc != 0) return rc;
  StatusOr<service::ServeSettings> settings = service::load_serve_config(config_path, registry);
  if (!settings.ok()) {
    std::cerr << "chakong serve: " << settings.status().message() << "\n";
    return 2;
  }
  const std::string address = settings->address;
  // The signals are taken by sigwait() below: block them before any thread starts, so that
  // every thread the server makes inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  StatusOr<std::unique_ptr<service::CaseServer>> server =
      service::CaseServer::start(std::move(*settings), registry);
  if (!server.ok()) {
    std::cerr << "chakong serve: " << server.status().to_string() << "\n";
    return server.status().code() == StatusCode::kInvalidArgument ? 2 : 1;
  }
  const service::ServiceCounters start = (*server)->counters();
  service::LogLine(service::LogLevel::kInfo, "serving")
      .str("address", address)
      .num("port", (*server)->port())
      .num("metrics_port", (*server)->metrics_port())
      .num("recovered_cases", static_cast<int64_t>(start.recovered_cases))
      .num("events", static_cast<int64_t>(start.events));
  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      // The file is read and checked again whole; log_level, clients, officers, dispatch
      // settings and the institutions connections' TLS material (for their next connection)
      // are applied, nothing if any of it does not pass. Connectors, engine settings, the
      // listeners' addresses, the journal and the shards are fixed at start (docs/service.md).
      StatusOr<service::ServeSettings> again = service::load_serve_config(config_path, registry);
      StatusOr<std::vector<std::string>> applied =
          again.ok() ? (*server)->reload(*again)
                     : StatusOr<std::vector<std::string>>(again.status());
      if (!applied.ok()) {
        if (!again.ok()) (*server)->count_refused_reload();
        service::LogLine(service::LogLevel::kError, "sighup")
            .str("reloaded", "")
            .str("error", applied.status().message())
            .num("generation", static_cast<int64_t>((*server)->counters().config_generation));
        continue;
      }
      service::set_log_level(again->log_level);
      std::string fields = "log_level";
      for (const std::string& f : *applied) fields += "," + f;
      service::LogLine(service::LogLevel::kWarn, "sighup")
          .str("reloaded", fields)
          .str("log_level", again->log_level)
          .num("clients", static_cast<int64_t>(again->clients.size()))
          .num("officers", static_cast<int64_t>(again->officers.size()))
          .num("generation", static_cast<int64_t>((*server)->counters().config_generation))
          .str("note", "the rest of the config applies at the next start");
      continue;
    }
    break;
  }
  service::LogLine(service::LogLevel::kInfo, "shutdown").num("grace_ms", grace_ms);
  const auto t0 = std::chrono::steady_clock::now();
  const Status last = (*server)->shutdown(std::chrono::milliseconds(grace_ms));
  const auto took =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  const service::ServiceCounters end = (*server)->counters();
  server->reset();
  service::LogLine(service::LogLevel::kInfo, "stopped")
      .str("journal", last.ok() ? "ok" : last.to_string())
      .num("shutdown_ms", took.count())
      .num("calls", static_cast<int64_t>(end.calls))
      .num("events", static_cast<int64_t>(end.events));
  return last.ok() ? 0 : 1;
}

}  // namespace

void add_serve_command(CLI::App& app, int& exit_code) {
  CLI::App* cmd = app.add_subcommand("serve",
                                     "Run the engine as the gRPC service "
                                     "chakong.v1.CaseService (docs/service.md)");
  auto config = std::make_shared<std::string>();
  auto plugins = std::make_shared<std::vector<std::string>>();
  auto grace_ms = std::make_shared<int>(10'000);
  cmd->add_option("--config", *config, "The service's YAML config")->required();
  cmd->add_option("--plugin", *plugins, "A connector plugin to load (repeatable)");
  cmd->add_option("--grace-ms", *grace_ms, "How long calls in flight may take at shutdown")
      ->check(CLI::Range(0, 600'000));
  cmd->callback([=, &exit_code] { exit_code = run_serve(*config, *plugins, *grace_ms); });
}

}  // namespace chakong::cli
