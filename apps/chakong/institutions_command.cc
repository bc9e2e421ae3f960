// `chakong institutions --scenario FILE --listen ADDR`: simulated institutions (sandbox
// endpoints over in-memory ground truth, each behind its adapter's real wire protocol) served
// over TCP or a Unix socket, for `chakong serve` to connect to (docs/service.md).
//
// FILE (YAML) lists the institutions; institution i is channel i on the server:
//   institutions:
//     - adapter: bank            # a registered adapter kind (built-ins or a --plugin's)
//       name: bank.a             # the institution's name (the connector "<adapter>.<name>")
//       latency_ms: 2            # reply delay, 0..600000 (default 2)
//       assets:
//         - {category: deposit, reference: "6222000011112222", holder: "11010519491231002X",
//            fen: 500000}
// FILE may instead be a `chakong simulate` scenario (any file that is not such a list): then
// its institutions are served holding its generated population, as a run of the scenario has
// them at its start (sim/sandbox.h), institution i being channel i.
// With --tls-cert and --tls-key the TCP listener is TLS; with --tls-client-ca too, clients must
// present a certificate of that CA (mutual TLS).
// Every error names the file, the field and the value; exit 2. Prints one line
// `listening <address> port <port> channels <n>` on stdout once it listens, then one line
// `channel <i> <name> <adapter>` per channel, then runs until SIGTERM or SIGINT (exit 0).
#include <signal.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "chakong/connectors/factory.h"
#include "chakong/connectors/socket_transport.h"
#include "chakong/engine/asio_executor.h"
#include "chakong/institution/institution.h"
#include "chakong/sim/sandbox.h"
#include "chakong/sim/scenario.h"
#include "commands.h"
#include "connector_registry.h"

namespace chakong::cli {
namespace {

struct Spec {
  std::string adapter, name;
  TimeUs latency = 2'000;
  std::vector<Asset> assets;
};

std::string q(const std::string& s) { return "'" + s + "'"; }

// Reads a scalar field; absent: `fallback` (nullopt: required).
StatusOr<std::string> scalar(const YAML::Node& node, const std::string& key, const std::string& at,
                             std::optional<std::string> fallback) {
  const YAML::Node v = node[key];
  if (!v) {
    if (fallback) return *fallback;
    return invalid_argument_error(at + "." + key + ": required");
  }
  if (!v.IsScalar()) return invalid_argument_error(at + "." + key + ": must be a value");
  return v.Scalar();
}

Status known_keys(const YAML::Node& node, const std::string& at,
                  const std::vector<std::string>& keys) {
  for (const auto& kv : node) {
    const std::string k = kv.first.as<std::string>();
    if (std::find(keys.begin(), keys.end(), k) == keys.end()) {
      return invalid_argument_error(at + "." + k + ": unknown field");
    }
  }
  return ok_status();
}

StatusOr<int64_t> integer(const std::string& text, const std::string& field, int64_t lo,
                          int64_t hi) {
  const bool digits = !text.empty() && text.size() <= 18 &&
                      text.find_first_not_of("0123456789") == std::string::npos;
  const int64_t v = digits ? std::stoll(text) : -1;
  if (!digits || v < lo || v > hi) {
    return invalid_argument_error(field + ": " + q(text) + " is not an integer " +
                                  std::to_string(lo) + ".." + std::to_string(hi));
  }
  return v;
}

StatusOr<std::vector<Spec>> parse(const YAML::Node& root,
                                  const connectors::ConnectorRegistry& registry) {
  if (!root.IsMap()) return invalid_argument_error("institutions: required (a list)");
  for (const auto& kv : root) {
    const std::string k = kv.first.as<std::string>();
    if (k != "institutions") return invalid_argument_error(k + ": unknown field");
  }
  const YAML::Node list = root["institutions"];
  if (!list || !list.IsSequence() || list.size() == 0) {
    return invalid_argument_error("institutions: required (a non-empty list)");
  }
  std::vector<Spec> specs;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string at = "institutions[" + std::to_string(i) + "]";
    const YAML::Node n = list[i];
    if (!n.IsMap()) return invalid_argument_error(at + ": must be a map");
    CHAKONG_RETURN_IF_ERROR(known_keys(n, at, {"adapter", "name", "latency_ms", "assets"}));
    Spec s;
    StatusOr<std::string> adapter = scalar(n, "adapter", at, std::nullopt);
    if (!adapter.ok()) return adapter.status();
    if (!registry.find(*adapter)) {
      return invalid_argument_error(at + ".adapter: " + q(*adapter) +
                                    " is not a registered adapter");
    }
    s.adapter = *adapter;
    StatusOr<std::string> name = scalar(n, "name", at, std::nullopt);
    if (!name.ok()) return name.status();
    for (const Spec& other : specs) {
      if (other.name == *name) return invalid_argument_error(at + ".name: " + q(*name) + " twice");
    }
    s.name = *name;
    StatusOr<std::string> latency = scalar(n, "latency_ms", at, "2");
    if (!latency.ok()) return latency.status();
    StatusOr<int64_t> ms = integer(*latency, at + ".latency_ms", 0, 600'000);
    if (!ms.ok()) return ms.status();
    s.latency = *ms * 1000;
    if (const YAML::Node assets = n["assets"]) {
      if (!assets.IsSequence()) return invalid_argument_error(at + ".assets: must be a list");
      for (size_t j = 0; j < assets.size(); ++j) {
        const std::string aat = at + ".assets[" + std::to_string(j) + "]";
        const YAML::Node a = assets[j];
        if (!a.IsMap()) return invalid_argument_error(aat + ": must be a map");
        CHAKONG_RETURN_IF_ERROR(known_keys(a, aat, {"category", "reference", "holder", "fen"}));
        Asset asset;
        StatusOr<std::string> category = scalar(a, "category", aat, "deposit");
        if (!category.ok()) return category.status();
        bool found = false;
        for (int c = 1; c <= 5; ++c) {
          if (asset_category_name(static_cast<AssetCategory>(c)) == *category) {
            asset.category = static_cast<AssetCategory>(c);
            found = true;
          }
        }
        if (!found || asset.category == AssetCategory::kSecurities) {
          return invalid_argument_error(aat + ".category: " + q(*category) +
                                        " is not deposit, provident_fund, vehicle or "
                                        "real_estate");
        }
        StatusOr<std::string> reference = scalar(a, "reference", aat, std::nullopt);
        if (!reference.ok()) return reference.status();
        StatusOr<std::string> holder = scalar(a, "holder", aat, std::nullopt);
        if (!holder.ok()) return holder.status();
        StatusOr<std::string> fen = scalar(a, "fen", aat, std::nullopt);
        if (!fen.ok()) return fen.status();
        StatusOr<int64_t> value = integer(*fen, aat + ".fen", 0, int64_t{1} << 53);
        if (!value.ok()) return value.status();
        asset.reference = *reference;
        asset.holder_id = *holder;
        asset.value = Fen(*value);
        s.assets.push_back(std::move(asset));
      }
    }
    specs.push_back(std::move(s));
  }
  return specs;
}

struct TlsFiles {
  std::string cert, key, client_ca;
};

// The TLS options of the files given; nullopt and an error line (exit 2) when one is wrong.
std::optional<connectors::TlsServerOptions> tls_options(const TlsFiles& files,
                                                        const std::string& listen, int& rc) {
  rc = 0;
  if (files.cert.empty() && files.key.empty() && files.client_ca.empty()) return std::nullopt;
  auto fail = [&rc](const std::string& why) {
    std::cerr << "chakong institutions: " << why << "\n";
    rc = 2;
    return std::nullopt;
  };
  if (files.cert.empty() || files.key.empty()) {
    return fail("--tls-cert and --tls-key: both are needed for TLS");
  }
  if (listen.starts_with("unix:")) return fail("--tls-cert: TLS is for a TCP --listen address");
  connectors::TlsServerOptions o;
  for (auto [flag, path, out] :
       {std::tuple{"--tls-cert", &files.cert, &o.cert_pem},
        std::tuple{"--tls-key", &files.key, &o.key_pem},
        std::tuple{"--tls-client-ca", &files.client_ca, &o.client_ca_pem}}) {
    if (path->empty()) continue;
    std::ifstream in(*path);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in) return fail(std::string(flag) + ": cannot read " + q(*path));
    *out = text.str();
  }
  if (Status s = connectors::check_tls_server_options(o); !s.ok()) {
    return fail(std::string(s.message()));
  }
  return o;
}

// A list of institutions (the format above): a map whose only key is `institutions`, a list
// whose first item names an `adapter`. Anything else is read as a simulate scenario.
bool is_institution_list(const YAML::Node& root) {
  if (!root.IsMap() || root.size() != 1 || !root["institutions"]) return false;
  const YAML::Node list = root["institutions"];
  return !list.IsSequence() || list.size() == 0 || !list[0].IsMap() || list[0]["adapter"];
}

// The institutions of a `chakong simulate` scenario holding its generated population; an
// error line (exit 2) for a bad scenario.
int load_scenario_sandbox(const std::string& file, const connectors::ConnectorRegistry& registry,
                          std::vector<Spec>& specs,
                          std::vector<std::unique_ptr<institution::Institution>>& truths) {
  StatusOr<v1::Scenario> scenario = sim::load_scenario_file(file);
  StatusOr<sim::SimulationConfig> config = scenario.ok()
                                               ? sim::compile_scenario(*scenario, file)
                                               : StatusOr<sim::SimulationConfig>(scenario.status());
  if (!config.ok()) {
    std::cerr << "chakong institutions: " << config.status().message() << "\n";
    return 2;
  }
  StatusOr<sim::Sandbox> box = sim::make_sandbox(
      *config, static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  if (!box.ok()) {
    std::cerr << "chakong institutions: " << file << ": " << box.status().message() << "\n";
    return 1;
  }
  for (sim::SandboxInstitution& in : box->institutions) {
    if (registry.find(in.adapter) == nullptr) {
      std::cerr << "chakong institutions: " << file << ": " << in.name << ": '" << in.adapter
                << "' is not a registered adapter\n";
      return 2;
    }
    specs.push_back({in.adapter, in.name, 2'000, {}});
    truths.push_back(std::move(in.truth));
  }
  return 0;
}

int run_institutions(const std::string& file, const std::string& listen,
                     const std::vector<std::string>& plugins, const TlsFiles& tls_files) {
  int tls_rc = 0;
  const std::optional<connectors::TlsServerOptions> tls = tls_options(tls_files, listen, tls_rc);
  if (tls_rc != 0) return tls_rc;
  connectors::ConnectorRegistry registry;
  if (int rc = load_connectors("institutions", plugins, 1, registry); rc != 0) return rc;
  YAML::Node root;
  try {
    root = YAML::LoadFile(file);
  } catch (const YAML::Exception& e) {
    std::cerr << "chakong institutions: " << file << ": " << e.what() << "\n";
    return 2;
  }
  std::vector<Spec> listed;
  std::vector<std::unique_ptr<institution::Institution>> truths;
  if (!is_institution_list(root)) {
    if (int rc = load_scenario_sandbox(file, registry, listed, truths); rc != 0) return rc;
  } else {
    StatusOr<std::vector<Spec>> parsed = parse(root, registry);
    if (!parsed.ok()) {
      std::cerr << "chakong institutions: " << file << ": " << parsed.status().message() << "\n";
      return 2;
    }
    listed = std::move(*parsed);
    for (const Spec& s : listed) {
      truths.push_back(
          std::make_unique<institution::Institution>(s.name, connectors::Capabilities::all()));
      for (size_t j = 0; j < s.assets.size(); ++j) {
        if (Status st = truths.back()->add_asset(s.assets[j]); !st.ok()) {
          std::cerr << "chakong institutions: " << file << ": institutions[" << truths.size() - 1
                    << "].assets[" << j << "]: " << st.message() << "\n";
          return 2;
        }
      }
    }
  }
  const std::vector<Spec>* specs = &listed;
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  AsioExecutor ex;
  std::vector<std::unique_ptr<connectors::Transport>> endpoints;
  std::vector<connectors::Transport*> channels;
  for (size_t i = 0; i < specs->size(); ++i) {
    connectors::EndpointOptions eo;
    eo.latency = (*specs)[i].latency;
    endpoints.push_back(registry.find((*specs)[i].adapter)->sandbox_endpoint(*truths[i], ex, eo));
    channels.push_back(endpoints.back().get());
  }
  StatusOr<std::unique_ptr<connectors::SocketServer>> server =
      listen.starts_with("unix:") ? connectors::SocketServer::listen(listen.substr(5), channels)
                                  : connectors::SocketServer::listen_tcp(listen, channels, tls);
  if (!server.ok()) {
    std::cerr << "chakong institutions: --listen: " << server.status().message() << "\n";
    return server.status().code() == StatusCode::kInvalidArgument ? 2 : 1;
  }
  ex.add_work();
  std::thread thread([&ex] { ex.run(); });
  std::cout << "listening " << listen << " port " << (*server)->port() << " channels "
            << channels.size() << "\n";
  for (size_t i = 0; i < specs->size(); ++i) {
    std::cout << "channel " << i << " " << (*specs)[i].name << " " << (*specs)[i].adapter << "\n";
  }
  std::cout << std::flush;
  int sig = 0;
  sigwait(&signals, &sig);
  server->reset();
  ex.stop();
  thread.join();
  return 0;
}

}  // namespace

void add_institutions_command(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand(
      "institutions", "Serve simulated institutions over TCP or a Unix socket (for chakong serve)");
  auto file = std::make_shared<std::string>();
  auto listen = std::make_shared<std::string>();
  auto plugins = std::make_shared<std::vector<std::string>>();
  cmd->add_option("--scenario", *file,
                  "YAML list of institutions and their assets, or a chakong simulate scenario "
                  "(its institutions holding its generated population)")
      ->required();
  cmd->add_option("--listen", *listen, "host:port (port 0 picks one) or unix:PATH")->required();
  cmd->add_option("--plugin", *plugins, "Connector plugin to load (repeatable)");
  auto tls = std::make_shared<TlsFiles>();
  cmd->add_option("--tls-cert", tls->cert, "PEM certificate chain: serve TCP over TLS");
  cmd->add_option("--tls-key", tls->key, "PEM private key of --tls-cert");
  cmd->add_option("--tls-client-ca", tls->client_ca,
                  "PEM CA bundle: clients must present a certificate of it (mutual TLS)");
  cmd->callback([&exit_code, file, listen, plugins, tls] {
    exit_code = run_institutions(*file, *listen, *plugins, *tls);
  });
}

}  // namespace chakong::cli
