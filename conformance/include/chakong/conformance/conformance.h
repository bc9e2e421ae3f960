// The conformance kit: checks that prove a connector keeps the contract of connector.h and
// the domain's semantics, end to end against a seeded ground truth in a sandbox.
//
// Every check builds a fresh sandbox: a virtual-time executor, an institution::Institution seeded
// from the seed with known accounts (or properties, vehicles, holdings) for a debtor and one for
// another person, the factory's sandbox endpoint serving the connector's own protocol from
// that institution, and sometimes a faulty transport in between (a black hole, an outage,
// corrupt bytes). The connector under test is built from the factory's default config.
//
// A check passes, fails with a detail saying what was expected and what came, or is skipped
// with the reason (an operation the connector does not declare). run() is deterministic for a
// seed. Used by `chakong conformance` and by the parameterized GoogleTest suite.
//
//   conformance::Report r = conformance::run(*registry.find("bank"), {.seed = 7});
//   std::puts(conformance::to_json(r).c_str());
#ifndef CHAKONG_CONFORMANCE_CONFORMANCE_H_
#define CHAKONG_CONFORMANCE_CONFORMANCE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "chakong/connectors/factory.h"

namespace chakong::conformance {

enum class Result : uint8_t { kPass, kFail, kSkip };
std::string_view result_name(Result r);  // "pass", "fail", "skip"

struct CheckResult {
  std::string name;
  Result result = Result::kPass;
  std::string detail;
};

struct Report {
  std::string connector;  // "<kind>.sandbox"
  std::vector<CheckResult> checks;
  int passed = 0, failed = 0, skipped = 0;
};

struct Options {
  uint64_t seed = 1;
};

// The names of every check, in the order run() runs them.
std::vector<std::string> check_names();

// One check; kFail with "unknown check" for a name not in check_names().
CheckResult run_check(const connectors::ConnectorFactory& factory, std::string_view check,
                      const Options& options);

// Every check.
Report run(const connectors::ConnectorFactory& factory, const Options& options);

// {"connector": ..., "checks": [{"name", "result", "detail"}], "passed", "failed", "skipped"}
std::string to_json(const Report& report);

}  // namespace chakong::conformance

#endif  // CHAKONG_CONFORMANCE_CONFORMANCE_H_
