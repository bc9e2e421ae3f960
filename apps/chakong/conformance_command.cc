// `chakong conformance`: prove connector adapters in the sandbox.
#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "chakong/conformance/conformance.h"
#include "chakong/connectors/factory.h"
#include "commands.h"
#include "connector_registry.h"

namespace chakong::cli {
namespace {

struct ConformanceArgs {
  std::vector<std::string> connectors;
  std::vector<std::string> plugins;
  std::vector<std::string> checks;
  std::string golden;
  uint64_t seed = 1;
  double submit_bound_ms = 5;
  int64_t check_timeout_ms = 60'000;
  bool json = false;
};

int run_conformance(const ConformanceArgs& args) {
  connectors::ConnectorRegistry registry;
  if (int rc = load_connectors("conformance", args.plugins, 2, registry); rc != 0) return rc;
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
  // Golden exchanges, read after the plugins (their message types must be known).
  std::vector<conformance::GoldenFile> golden;
  if (!args.golden.empty()) {
    StatusOr<std::vector<conformance::GoldenFile>> g = conformance::load_golden(args.golden);
    if (!g.ok()) {
      fmt::print(stderr, "chakong conformance: --golden: {}\n", g.status().message());
      return 2;
    }
    golden = std::move(*g);
    for (const conformance::GoldenFile& f : golden) {
      if (registry.find(f.kind) == nullptr) {
        fmt::print(stderr,
                   "chakong conformance: --golden: {} is for kind '{}', which is not "
                   "registered\n",
                   f.path, f.kind);
        return 2;
      }
    }
  }
  std::vector<std::string> all = conformance::check_names();
  if (!golden.empty()) all.push_back("golden");
  for (const conformance::GoldenFile& f : golden) all.push_back(f.name);
  for (const std::string& c : args.checks) {
    if (std::find(all.begin(), all.end(), c) == all.end()) {
      std::string known;
      for (const std::string& k : all) known += (known.empty() ? "" : ", ") + k;
      fmt::print(stderr, "chakong conformance: --check '{}' is not a check (checks: {})\n", c,
                 known);
      return 2;
    }
  }
  conformance::Options options;
  options.seed = args.seed;
  options.submit_bound_us = std::llround(args.submit_bound_ms * 1000);
  options.check_timeout_ms = args.check_timeout_ms;
  options.checks = args.checks;
  options.golden = std::move(golden);
  options.fork_checks = true;  // An adapter that crashes fails its check, not the run.
  int failed = 0;
  for (const connectors::ConnectorFactory* f : factories) {
    const std::string connector = std::string(f->kind()) + ".sandbox";
    // Each result is printed as it finishes.
    const conformance::Report r =
        conformance::run(*f, options, [&](const conformance::CheckResult& c) {
          if (args.json) {
            fmt::print("{}\n", conformance::to_json(connector, c));
          } else {
            fmt::print("{:<5} {:<22} {:<34} {}\n", conformance::result_name(c.result), connector,
                       c.name, c.detail);
          }
          std::fflush(stdout);
        });
    failed += r.failed;
    if (args.json) {
      fmt::print("{}\n", conformance::summary_json(r));
    } else {
      fmt::print("{}: {} passed, {} failed, {} skipped (seed {})\n\n", r.connector, r.passed,
                 r.failed, r.skipped, args.seed);
    }
    std::fflush(stdout);
  }
  const int code = failed == 0 ? 0 : 1;
  if (conformance::abandoned_checks() > 0) {
    // A timed-out check's thread may still be inside the adapter: leave without destroying
    // the registry (and the plugin's factories) under it.
    std::fflush(stdout);
    std::fflush(stderr);
    std::_Exit(code);
  }
  return code;
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
  cmd->add_option(
      "--check", args->checks,
      "check to run (repeatable; default: every check): a check's name, 'golden' (every "
      "golden exchange) or 'golden:<file>'");
  cmd->add_option("--golden", args->golden,
                  "directory of golden exchanges (*.textproto, chakong.conformance.v1."
                  "GoldenExchange): each file of a connector's kind is a check of its encoder and "
                  "decoder against the recorded wire calls")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--submit-bound-ms", args->submit_bound_ms,
                  "contract rule 3: async_submit() must return within this many ms")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--check-timeout-ms", args->check_timeout_ms,
                  "a check that takes longer (wall clock) fails as timed out")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_flag("--json", args->json,
                "JSON lines: one object per check as it finishes, then a summary per connector");
  cmd->callback([args, &exit_code] { exit_code = run_conformance(*args); });
}

}  // namespace chakong::cli
