// `chakong conformance`: prove connector adapters in the sandbox.
#include <fmt/core.h>

#include <memory>
#include <string>
#include <vector>

#include "chakong/conformance/conformance.h"
#include "chakong/connectors/builtin.h"
#include "chakong/connectors/factory.h"
#include "commands.h"

namespace chakong::cli {
namespace {

struct ConformanceArgs {
  std::vector<std::string> connectors;
  std::vector<std::string> plugins;
  uint64_t seed = 1;
  bool json = false;
};

int run_conformance(const ConformanceArgs& args) {
  connectors::ConnectorRegistry registry;
  if (Status s = connectors::register_builtin_connectors(registry); !s.ok()) {
    fmt::print(stderr, "chakong conformance: {}\n", s.to_string());
    return 2;
  }
  for (const std::string& path : args.plugins) {
    if (Status s = connectors::load_plugin(path, registry); !s.ok()) {
      fmt::print(stderr, "chakong conformance: --plugin: {}\n", s.message());
      return 2;
    }
  }
  std::vector<std::string> names = args.connectors;
  if (names.empty()) names = registry.registered_names();
  std::vector<const connectors::ConnectorFactory*> factories;
  for (const std::string& name : names) {
    const connectors::ConnectorFactory* f = registry.find(name);
    if (f == nullptr) {
      std::string known;
      for (const std::string& k : registry.registered_names())
        known += (known.empty() ? "" : ", ") + k;
      fmt::print(stderr,
                 "chakong conformance: --connector '{}' is not registered (registered: {})\n", name,
                 known);
      return 2;
    }
    factories.push_back(f);
  }
  int failed = 0;
  for (const connectors::ConnectorFactory* f : factories) {
    const conformance::Report r = conformance::run(*f, {args.seed});
    failed += r.failed;
    if (args.json) {
      fmt::print("{}\n", conformance::to_json(r));
      continue;
    }
    for (const conformance::CheckResult& c : r.checks) {
      fmt::print("{:<5} {:<22} {:<30} {}\n", conformance::result_name(c.result), r.connector,
                 c.name, c.detail);
    }
    fmt::print("{}: {} passed, {} failed, {} skipped (seed {})\n\n", r.connector, r.passed,
               r.failed, r.skipped, args.seed);
  }
  return failed == 0 ? 0 : 1;
}

}  // namespace

void add_conformance_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<ConformanceArgs>();  // Freed with the app.
  CLI::App* cmd = app.add_subcommand(
      "conformance", "Run the connector conformance kit against a seeded sandbox institution");
  cmd->add_option("--connector", args->connectors,
                  "connector kind or name to check (repeatable; default: every registered one)");
  cmd->add_option("--plugin", args->plugins,
                  "shared library with more connectors to load first (repeatable)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--seed", args->seed, "seed of the sandbox's ground truth")
      ->capture_default_str();
  cmd->add_flag("--json", args->json, "one JSON report per connector, one per line");
  cmd->callback([args, &exit_code] { exit_code = run_conformance(*args); });
}

}  // namespace chakong::cli
