// Proportionate control (issue 24, DOMAIN rule 2, docs/domain.md): an indivisible asset is not
// sealed for a remainder that is small beside the claim, and securities frozen in whole shares
// cover the remainder by rounding up (by less than one unit price) instead of leaving a few
// yuan for which a flat would be sealed.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <gtest/gtest.h>

#include <cmath>

#include "chakong/connectors/builtin.h"
#include "chakong/connectors/factory.h"
#include "chakong/engine/engine.h"
#include "engine/src/freeze_planner.h"
#include "engine/src/ledger.h"
#include "engine_world.h"

namespace chakong::engine {
namespace {

using connectors::AssetCategory;
using testing::EngineWorld;
using testing::kDebtor;

constexpr Fen kSharePrice(3'777);  // ¥37.77 a share.

// The securities depository's real adapter (whole-share freezes on its wire) over `truth`.
std::unique_ptr<connectors::Connector> securities_over_wire(institution::Institution& truth,
                                                            Executor& ex) {
  connectors::ConnectorRegistry registry;
  EXPECT_TRUE(connectors::register_builtin_connectors(registry).ok());
  const connectors::ConnectorFactory* f = registry.find("securities");
  std::unique_ptr<google::protobuf::Message> config = f->default_config();
  config->GetReflection()->SetString(config.get(), config->GetDescriptor()->FindFieldByName("name"),
                                     "csdc");
  connectors::ConnectorContext ctx;
  ctx.executor = &ex;
  ctx.transport = f->sandbox_endpoint(truth, ex, {});
  StatusOr<std::unique_ptr<connectors::Connector>> c = f->create(*config, std::move(ctx));
  EXPECT_TRUE(c.ok()) << c.status().to_string();
  return std::move(c).value();
}

// Regression: a freeze of the whole claim on a securities position was sent as
// floor(claim / price) shares; the few yuan that left uncovered re-opened planning once every
// query had answered, and the debtor's flat was sealed for them.
TEST(ProportionalityTest, WholeShareRoundingRemainderSealsNoFlat) {
  EngineWorld w;
  institution::Institution& csdc = w.add_institution("securities.csdc");
  institution::Institution& registry = w.add_institution("real_estate.cq");
  ASSERT_TRUE(csdc.add_asset({AssetCategory::kSecurities, "A000123", Fen(10'000 * 3'777), kDebtor,
                              10'000, kSharePrice})
                  .ok());
  ASSERT_TRUE(
      registry.add_asset({AssetCategory::kRealEstate, "渝(2020)0110-1", Fen(80'000'000), kDebtor})
          .ok());
  w.add_connector(securities_over_wire(csdc, w.ex()));
  w.connect(registry, sim::fixed_latency(kMicrosPerHour));
  EngineConfig config;
  config.auto_deduct = false;
  Engine& e = w.start(config);
  const Fen claim(10'000'000);  // ¥100,000: 2,647.6 shares.
  ASSERT_TRUE(e.file_case(EngineWorld::filing("（2025）渝0110执1号", claim)).ok());
  w.virt().run_until(w.ex().now() + 5 * kMicrosPerDay);

  const EngineStats s = e.stats();
  EXPECT_EQ(s.indivisible_sealed, 0u);
  EXPECT_EQ(registry.frozen_for_case("（2025）渝0110执1号"), Fen());
  StatusOr<CaseView> v = e.case_view("（2025）渝0110执1号");
  ASSERT_TRUE(v.ok()) << v.status().to_string();
  ASSERT_EQ(v->measures.size(), 1u);
  EXPECT_EQ(v->measures[0].category, AssetCategory::kSecurities);
  // 2,648 whole shares: over the claim by less than one share, the one tolerance allowed.
  EXPECT_EQ(v->measures[0].amount, Fen(2'648 * 3'777));
  EXPECT_LT(v->measures[0].amount - claim, kSharePrice);
  EXPECT_EQ(csdc.frozen_for_case("（2025）渝0110执1号"), Fen(2'648 * 3'777));
  EXPECT_EQ(s.over_seizure, 0u);
  EXPECT_EQ(s.control_missed, 0u);
}

// A debtor with a deposit of `deposit` and a flat, on in-process connectors; one case of
// `claim`, run for five days.
struct DepositAndFlat {
  EngineWorld w;
  institution::Institution& bank = w.add_institution("bank.p1");
  institution::Institution& registry = w.add_institution("real_estate.cq");
  Engine* e = nullptr;
  static constexpr char kNumber[] = "（2025）渝0110执7号";

  DepositAndFlat(Fen deposit, Fen claim, EngineConfig config = {}) {
    EXPECT_TRUE(bank.add_asset({AssetCategory::kDeposit, "6222-1", deposit, kDebtor}).ok());
    EXPECT_TRUE(
        registry.add_asset({AssetCategory::kRealEstate, "渝(2020)0110-7", Fen(80'000'000), kDebtor})
            .ok());
    w.connect(bank, sim::fixed_latency(kMicrosPerHour));
    w.connect(registry, sim::fixed_latency(2 * kMicrosPerHour));
    config.auto_deduct = false;
    e = &w.start(config);
    EXPECT_TRUE(e->file_case(EngineWorld::filing(kNumber, claim)).ok());
    w.virt().run_until(w.ex().now() + 5 * kMicrosPerDay);
  }
  std::vector<MeasureView> measures() const { return e->case_view(kNumber)->measures; }
};

TEST(ProportionalityTest, RemainderBelowTheFloorIsReportedNotSealed) {
  // ¥99,990.00 frozen of a ¥100,000.00 claim: ¥10.00 left, under the ¥1,000 floor.
  DepositAndFlat t(Fen(9'999'000), Fen(10'000'000));
  const EngineStats s = t.e->stats();
  EXPECT_EQ(s.indivisible_sealed, 0u);
  ASSERT_EQ(t.measures().size(), 1u);
  EXPECT_EQ(t.measures()[0].category, AssetCategory::kDeposit);
  EXPECT_EQ(s.remainders_uncovered, 1u);
  EXPECT_EQ(s.seals_avoided, 1u);
  EXPECT_EQ(s.uncovered, Fen(1'000));
  ASSERT_EQ(t.w.count(EventType::kRemainderUncovered), 1);
  const Event* ev = t.w.first(EventType::kRemainderUncovered);
  EXPECT_EQ(ev->case_number, DepositAndFlat::kNumber);
  EXPECT_EQ(ev->amount, Fen(1'000));
  EXPECT_EQ(ev->detail,
            "¥10.00 of the budget left uncovered: below the proportionality floor of "
            "¥1,000.00; not sealing real_estate worth ¥800,000.00");
  // The flat's 48-hour clock stops as not required: no miss for a seal the law forbids.
  EXPECT_EQ(s.control_missed, 0u);
  EXPECT_EQ(s.control_met, 1u);
  EXPECT_EQ(s.control_not_required, 1u);
  EXPECT_EQ(s.over_seizure, 0u);
}

TEST(ProportionalityTest, RemainderUnderOnePercentOfTheClaimIsNotSealedFor) {
  // ¥50,000 left of a ¥10,000,000 claim: over the ¥1,000 floor, under 1 % (¥100,000).
  DepositAndFlat t(Fen(995'000'000), Fen(1'000'000'000));
  EXPECT_EQ(t.e->stats().indivisible_sealed, 0u);
  EXPECT_EQ(t.e->stats().uncovered, Fen(5'000'000));
  EXPECT_EQ(t.measures().size(), 1u);
}

TEST(ProportionalityTest, RemainderOverBothFloorsIsSealedForWithTheReason) {
  // ¥2,000 left of a ¥100,000 claim: 2 % and over ¥1,000.
  DepositAndFlat t(Fen(9'800'000), Fen(10'000'000));
  const EngineStats s = t.e->stats();
  EXPECT_EQ(s.indivisible_sealed, 1u);
  EXPECT_EQ(s.remainders_uncovered, 0u);
  EXPECT_EQ(t.w.count(EventType::kRemainderUncovered), 0);
  EXPECT_EQ(t.measures().size(), 2u);
  ASSERT_EQ(t.e->case_view(DepositAndFlat::kNumber)->indivisible_reasons.size(), 1u);
}

TEST(ProportionalityTest, ZeroFloorsRestoreTheUnproportionateRule) {
  EngineConfig config;
  config.min_seal_share = 0;
  config.min_seal_remainder = Fen();
  DepositAndFlat t(Fen(9'999'000), Fen(10'000'000), config);
  EXPECT_EQ(t.e->stats().indivisible_sealed, 1u);
}

TEST(ProportionalityTest, ConfigIsValidatedNamingFieldAndValue) {
  EngineConfig c;
  EXPECT_EQ(validate(c), ok_status());
  c.min_seal_share = -0.5;
  EXPECT_EQ(validate(c),
            invalid_argument_error("min_seal_share = -0.5: must be a share of the claim in 0..1"));
  c.min_seal_share = 1.5;
  EXPECT_EQ(validate(c).code(), StatusCode::kInvalidArgument);
  c.min_seal_share = std::nan("");
  EXPECT_EQ(validate(c),
            invalid_argument_error("min_seal_share = nan: must be a share of the claim in 0..1"));
  c.min_seal_share = 0.01;
  c.min_seal_remainder = Fen(-1);
  EXPECT_EQ(validate(c), invalid_argument_error("min_seal_remainder = -¥0.01: must be in "
                                                "¥0.00..¥1,000,000,000,000.00"));
}

TEST(FreezePlannerTest, SecuritiesInWholeSharesRoundedUpByLessThanOneShare) {
  std::vector<Candidate> c = {
      {0, AssetCategory::kSecurities, Fen(10'000 * 3'777), false, kSharePrice},
      {1, AssetCategory::kRealEstate, Fen(80'000'000), false},
  };
  Plan p = plan_freezes(c, Fen(10'000'000), PlanPolicy{true, Fen(100'000)});
  ASSERT_EQ(p.freezes.size(), 1u);
  EXPECT_EQ(p.freezes[0].amount, Fen(2'648 * 3'777));  // Not 2,647 shares and a flat.
  EXPECT_EQ(p.freezes[0].whole_unit, kSharePrice);
  EXPECT_EQ(p.seals_avoided, 0u);
  // A position smaller than the rest is frozen whole, in whole shares (a fraction is left).
  c[0].value = Fen(100 * 3'777 + 5);
  p = plan_freezes(c, Fen(10'000'000), PlanPolicy{false, Fen()});
  ASSERT_EQ(p.freezes.size(), 1u);
  EXPECT_EQ(p.freezes[0].amount, Fen(100 * 3'777));
  // Less than one share: nothing to freeze.
  c[0].value = Fen(3'000);
  EXPECT_TRUE(plan_freezes(c, Fen(10'000'000), PlanPolicy{false, Fen()}).freezes.empty());
}

TEST(FreezePlannerTest, DisproportionateRemainderLeftUncoveredWithTheSealsAvoided) {
  std::vector<Candidate> c = {
      {0, AssetCategory::kDeposit, Fen(9'000), false},
      {1, AssetCategory::kVehicle, Fen(500), false},
      {2, AssetCategory::kRealEstate, Fen(900'000), false},
  };
  // ¥10 left: the ¥5 car, then the flat, would have been sealed.
  Plan p = plan_freezes(c, Fen(10'000), PlanPolicy{true, Fen(1'001)});
  ASSERT_EQ(p.freezes.size(), 1u);
  EXPECT_EQ(p.uncovered, Fen(1'000));
  EXPECT_EQ(p.seals_avoided, 1u);  // The flat alone covers ¥10.
  EXPECT_EQ(p.uncovered_reason,
            "¥10.00 of the budget left uncovered: below the proportionality floor of ¥10.01; "
            "not sealing real_estate worth ¥9,000.00");
  // At the floor exactly, the seal is proportionate.
  p = plan_freezes(c, Fen(10'000), PlanPolicy{true, Fen(1'000)});
  ASSERT_EQ(p.freezes.size(), 2u);
  EXPECT_EQ(p.freezes[1].finding, 2u);
  EXPECT_TRUE(p.uncovered.is_zero());
  // Not allowed yet: nothing uncovered is reported.
  p = plan_freezes(c, Fen(10'000), PlanPolicy{false, Fen(1'001)});
  EXPECT_TRUE(p.uncovered.is_zero());
  EXPECT_EQ(p.seals_avoided, 0u);
}

// The form Engine::Shard::plan() uses: into a Plan kept from call to call, sorting the
// candidates in place (stable: equal values keep their order). Every field of the plan is set
// anew, so nothing of an earlier plan shows.
TEST(FreezePlannerTest, APlanReusedFromAnEarlierCallHoldsOnlyTheNewPlan) {
  std::vector<Candidate> c = {
      {0, AssetCategory::kDeposit, Fen(9'000), false},
      {1, AssetCategory::kVehicle, Fen(500), false},
      {2, AssetCategory::kRealEstate, Fen(900'000), false},
  };
  Plan p;
  plan_freezes(c, Fen(10'000), PlanPolicy{true, Fen(1'001)}, p);
  ASSERT_EQ(p.freezes.size(), 1u);
  EXPECT_EQ(p.uncovered, Fen(1'000));
  EXPECT_EQ(p.seals_avoided, 1u);
  std::vector<Candidate> d = {
      {5, AssetCategory::kRealEstate, Fen(900'000), false},
      {6, AssetCategory::kDeposit, Fen(3'000), true},
      {7, AssetCategory::kDeposit, Fen(4'000), false},
      {8, AssetCategory::kDeposit, Fen(3'000), false},
  };
  plan_freezes(d, Fen(8'000), PlanPolicy{false, Fen()}, p);
  ASSERT_EQ(p.freezes.size(), 3u);
  EXPECT_EQ(p.freezes[0].finding, 7u);
  EXPECT_EQ(p.freezes[0].amount, Fen(4'000));
  EXPECT_EQ(p.freezes[1].finding, 6u);  // Before 8: equal values keep their order.
  EXPECT_EQ(p.freezes[1].amount, Fen(3'000));
  EXPECT_TRUE(p.freezes[1].waitlist);
  EXPECT_EQ(p.freezes[2].finding, 8u);
  EXPECT_EQ(p.freezes[2].amount, Fen(1'000));
  EXPECT_TRUE(p.uncovered.is_zero());
  EXPECT_EQ(p.seals_avoided, 0u);
  EXPECT_EQ(p.uncovered_reason, "");
  // Sorted in place: deposits by value (stable), then the flat.
  EXPECT_EQ(d[0].finding, 7u);
  EXPECT_EQ(d[1].finding, 6u);
  EXPECT_EQ(d[2].finding, 8u);
  EXPECT_EQ(d[3].finding, 5u);
}

TEST(FreezePlannerTest, ProportionateFloorIsTheLargerOfShareAndMinimum) {
  EXPECT_EQ(proportionate_seal_floor(Fen(10'000'000), 0.01, Fen(100'000)), Fen(100'000));
  EXPECT_EQ(proportionate_seal_floor(Fen(1'000'000'000), 0.01, Fen(100'000)), Fen(10'000'000));
  EXPECT_EQ(proportionate_seal_floor(Fen(12'345'678), 0.01, Fen()), Fen(123'457));  // Up.
  EXPECT_EQ(proportionate_seal_floor(Fen(12'345'678), 0, Fen()), Fen());
}

TEST(LedgerTest, WholeUnitReservationMayExceedTheRestByLessThanOneUnit) {
  Ledger l(Fen(10'000));
  EXPECT_EQ(l.reserve(Fen(10'100), Fen(100)).code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(l.reserve(Fen(10'099), Fen(100)), ok_status());
  EXPECT_EQ(l.unit_allowance(), Fen(99));
  EXPECT_EQ(l.remaining(), Fen(-99));
  EXPECT_EQ(l.reserve(Fen(1), Fen(100)).code(), StatusCode::kResourceExhausted);
  Ledger m(Fen(10'000));
  EXPECT_EQ(m.reserve(Fen(10'001)).code(), StatusCode::kResourceExhausted);  // No unit: exact.
  EXPECT_EQ(m.reserve(Fen(9'900), Fen(100)), ok_status());                   // Within: no slack.
  EXPECT_EQ(m.unit_allowance(), Fen());
}

}  // namespace
}  // namespace chakong::engine
