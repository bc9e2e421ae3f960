// sim::make_sandbox / sandbox_debtor: a scenario's institutions holding its generated
// population, from the simulator's own generator.
#include "chakong/sim/sandbox.h"

#include <gtest/gtest.h>

#include "../../sim/src/population.h"

namespace chakong::sim {
namespace {

constexpr char kScenario[] = R"(
name: sandbox
seed: 7
population: {debtors: 300}
institutions:
  - {kind: bank, name: a}
  - {kind: bank, name: b, count: 2}
  - {kind: real_estate, name: cq}
)";

SimulationConfig compile(const std::string& yaml) {
  StatusOr<v1::Scenario> s = parse_scenario_yaml(yaml, "sandbox.yaml");
  EXPECT_TRUE(s.ok()) << s.status();
  StatusOr<SimulationConfig> c = compile_scenario(*s, "sandbox.yaml");
  EXPECT_TRUE(c.ok()) << c.status();
  return *c;
}

TEST(SandboxTest, HoldsWhatTheSimulatorsGeneratorPlacesForEveryDebtor) {
  const SimulationConfig c = compile(kScenario);
  StatusOr<Sandbox> box = make_sandbox(c, 2);
  ASSERT_TRUE(box.ok()) << box.status();
  ASSERT_EQ(box->institutions.size(), 4u);
  EXPECT_EQ(box->institutions[0].name, "bank.a");
  EXPECT_EQ(box->institutions[1].name, "bank.b001");
  EXPECT_EQ(box->institutions[2].name, "bank.b002");
  EXPECT_EQ(box->institutions[3].name, "real_estate.cq");
  EXPECT_EQ(box->institutions[3].adapter, "real_estate");
  EXPECT_EQ(box->debtors, 300u);

  // Debtor by debtor, the plain reference generator (make_debtor, what the compact one the
  // simulator runs on is tested against) and the sandbox agree, and the institution holds it.
  const PlaceLayout layout = lay_out_places(c);
  uint64_t holdings = 0;
  for (uint64_t i = 0; i < 300; ++i) {
    const SandboxDebtor d = sandbox_debtor(c, i);
    const Debtor plain = make_debtor(c, layout.index, i);
    EXPECT_EQ(d.id, plain.id);
    EXPECT_EQ(d.organisation, plain.organisation);
    ASSERT_EQ(d.holdings.size(), plain.assets.size()) << i;
    for (size_t k = 0; k < d.holdings.size(); ++k) {
      const SandboxHolding& h = d.holdings[k];
      EXPECT_EQ(h.institution, layout.place_instance[plain.assets[k].institution]);
      EXPECT_EQ(h.asset.reference, plain.assets[k].asset.reference);
      EXPECT_EQ(h.asset.holder_id, d.id);
      EXPECT_EQ(h.asset.value, plain.assets[k].asset.value);
      StatusOr<Fen> held = box->institutions[h.institution].truth->balance(h.asset.reference);
      ASSERT_TRUE(held.ok()) << h.asset.reference;
      EXPECT_EQ(*held, h.asset.value);
    }
    holdings += d.holdings.size();
  }
  EXPECT_EQ(box->assets, holdings);
  // The first debtor's property, pinned: the generator is seeded by (seed, index) alone.
  const SandboxDebtor first = sandbox_debtor(c, 0);
  std::string seen;
  for (const SandboxHolding& h : first.holdings) {
    seen += box->institutions[h.institution].name + " " + h.asset.reference + " " +
            std::to_string(h.asset.value.value()) + "; ";
  }
  EXPECT_EQ(first.id, "500101195001060009");
  EXPECT_EQ(seen, "bank.a 0:0:0 179832; ");
}

}  // namespace
}  // namespace chakong::sim
