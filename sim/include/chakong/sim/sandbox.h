// A sandbox of a `chakong simulate` scenario: its institutions holding its generated
// population, as a run of the scenario has them when it starts. The debtors (their IDs),
// their accounts and holdings, where they are and what they are worth come from the
// simulator's own generator (from the scenario's seed and each debtor's index alone), so a
// debtor a planner's run finds at bank X with ¥5,000 is at bank X with ¥5,000 in the sandbox.
// `chakong institutions --scenario FILE` serves one, for `chakong serve` to run against.
//
// Left out: time and behaviour (the scenario's latencies, business hours, outages, errors,
// capacity), property that appears during a run (the population's later accounts, balance
// movements) and the terminated-case library's debtors.
//
// Threading: make_sandbox() uses up to `threads` threads and returns when done; the result
// is plain data (each Institution's own threading rules apply).
//
//   StatusOr<SimulationConfig> c = compile_scenario(*load_scenario_file(path), path);
//   StatusOr<Sandbox> box = make_sandbox(*c);
//   SandboxDebtor d = sandbox_debtor(*c, 0);   // d.id, d.holdings[0].institution, .asset.value
#ifndef CHAKONG_SIM_SANDBOX_H_
#define CHAKONG_SIM_SANDBOX_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "chakong/base/status.h"
#include "chakong/connectors/connector.h"
#include "chakong/institution/institution.h"
#include "chakong/sim/scenario.h"

namespace chakong::sim {

struct SandboxInstitution {
  std::string name;     // "bank.b001": the connector's name, "<adapter>.<config name>".
  std::string adapter;  // The adapter kind ("bank", "real_estate", ...): the group's kind.
  std::unique_ptr<institution::Institution> truth;
};

struct Sandbox {
  // In the simulator's order: the scenario's groups in turn, each group's instances (a hub
  // group is one institution holding every member's accounts).
  std::vector<SandboxInstitution> institutions;
  uint64_t debtors = 0;  // Debtors 0..debtors-1 of the population.
  uint64_t assets = 0;   // Assets placed.
};

// Generates the population of `config` and places every asset at its institution. Errors:
// an institution refusing an asset (kInternal: the generator made a duplicate reference).
[[nodiscard]] StatusOr<Sandbox> make_sandbox(const SimulationConfig& config, int threads = 1);

struct SandboxHolding {
  size_t institution = 0;   // Index into Sandbox::institutions.
  connectors::Asset asset;  // As the institution holds it (reference, holder, value).
};

struct SandboxDebtor {
  std::string id;  // Resident ID (a person) or unified social credit code (an organisation).
  bool organisation = false;
  std::vector<SandboxHolding> holdings;  // At the start; empty for a debtor without property.
};

// Debtor `index` (< config.debtors) of the population, alone: what make_sandbox() places for
// it.
SandboxDebtor sandbox_debtor(const SimulationConfig& config, uint64_t index);

}  // namespace chakong::sim

#endif  // CHAKONG_SIM_SANDBOX_H_
