#include "engine/src/ledger.h"

#include <gtest/gtest.h>

#include "engine/src/freeze_planner.h"

namespace chakong::engine {
namespace {

using connectors::AssetCategory;

TEST(LedgerTest, ReserveCommitGivesBackTheUnusedPart) {
  Ledger l(Fen(10'000));
  ASSERT_TRUE(l.reserve(Fen(6'000)).ok());
  ASSERT_TRUE(l.reserve(Fen(4'000)).ok());
  EXPECT_EQ(l.remaining(), Fen(0));
  Status s = l.reserve(Fen(1));
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(s.message(), "reservation ¥0.01 exceeds the ¥0.00 left of the ¥100.00 budget");
  EXPECT_EQ(l.commit(Fen(6'000), Fen(2'500)), Fen(3'500));
  EXPECT_EQ(l.frozen(), Fen(2'500));
  EXPECT_EQ(l.reserved(), Fen(4'000));
  EXPECT_EQ(l.remaining(), Fen(3'500));
  EXPECT_EQ(l.reserve(Fen(0)).code(), StatusCode::kInvalidArgument);
}

TEST(LedgerTest, CommitLimitKeepsTheTopUpClaimed) {
  Ledger l(Fen(10'000));
  ASSERT_TRUE(l.reserve(Fen(8'000)).ok());
  l.commit_limit(Fen(8'000), Fen(3'000));
  EXPECT_EQ(l.frozen(), Fen(3'000));
  EXPECT_EQ(l.pending(), Fen(5'000));
  EXPECT_EQ(l.remaining(), Fen(2'000));
  l.fill_pending(Fen(1'000));
  EXPECT_EQ(l.frozen(), Fen(4'000));
  l.deduct(Fen(4'000));
  l.settle_pending(Fen(4'000));
  EXPECT_EQ(l.deducted(), Fen(4'000));
  EXPECT_EQ(l.committed(), Fen(4'000));
  EXPECT_EQ(l.remaining(), Fen(6'000));
  EXPECT_FALSE(l.satisfied());
}

TEST(LedgerTest, IndivisibleCoverIsCappedAtWhatRemains) {
  Ledger l(Fen(10'000));
  ASSERT_TRUE(l.reserve(Fen(4'000)).ok());
  EXPECT_EQ(l.cover_indivisible(Fen(50'000)), Fen(6'000));
  EXPECT_EQ(l.remaining(), Fen(0));
  EXPECT_EQ(l.committed(), Fen(4'000));  // Seals are not divisible money.
  l.uncover_indivisible(Fen(6'000));
  EXPECT_EQ(l.remaining(), Fen(6'000));
}

TEST(FreezePlannerTest, LiquidFirstLargestFirstWithinBudget) {
  std::vector<Candidate> c = {
      {0, AssetCategory::kSecurities, Fen(9'000), false},
      {1, AssetCategory::kDeposit, Fen(3'000), false},
      {2, AssetCategory::kDeposit, Fen(5'000), false},
      {3, AssetCategory::kProvidentFund, Fen(4'000), false},
      {4, AssetCategory::kRealEstate, Fen(900'000), false},
  };
  std::vector<PlannedFreeze> p = plan_freezes(c, Fen(10'000), /*allow_indivisible=*/true);
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0].finding, 2u);
  EXPECT_EQ(p[0].amount, Fen(5'000));
  EXPECT_EQ(p[1].finding, 1u);
  EXPECT_EQ(p[1].amount, Fen(3'000));
  EXPECT_EQ(p[2].finding, 3u);
  EXPECT_EQ(p[2].amount, Fen(2'000));
  for (const PlannedFreeze& f : p) EXPECT_TRUE(f.reason.empty());
}

TEST(FreezePlannerTest, LargestIndivisibleFirstWhenNoneCoversTheRest) {
  std::vector<Candidate> c = {
      {0, AssetCategory::kVehicle, Fen(3'000), false},
      {1, AssetCategory::kVehicle, Fen(5'000), false},
      {2, AssetCategory::kRealEstate, Fen(4'000), false},
  };
  std::vector<PlannedFreeze> p = plan_freezes(c, Fen(7'000), true);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].finding, 1u);  // ¥50 first (none covers ¥70), then ¥20 is covered by ¥30.
  EXPECT_EQ(p[0].amount, Fen(5'000));
  EXPECT_EQ(p[1].finding, 0u);
  EXPECT_EQ(p[1].amount, Fen(2'000));
}

TEST(FreezePlannerTest, IndivisibleOnlyWhenDivisibleIsInsufficientWithAReason) {
  std::vector<Candidate> c = {
      {0, AssetCategory::kDeposit, Fen(1'000), false},
      {1, AssetCategory::kRealEstate, Fen(500'000), false},
      {2, AssetCategory::kVehicle, Fen(20'000), false},
      {3, AssetCategory::kVehicle, Fen(8'000), true},
  };
  EXPECT_EQ(plan_freezes(c, Fen(10'000), false).size(), 1u);
  std::vector<PlannedFreeze> p = plan_freezes(c, Fen(10'000), true);
  ASSERT_EQ(p.size(), 2u);
  // ¥90.00 uncovered: the ¥80.00 car does not cover it, the ¥200.00 one does.
  EXPECT_EQ(p[1].finding, 2u);
  EXPECT_EQ(p[1].amount, Fen(9'000));
  EXPECT_FALSE(p[1].waitlist);
  EXPECT_EQ(p[1].reason,
            "divisible property insufficient: ¥90.00 of the budget uncovered after freezing "
            "every divisible asset found; sealing vehicle worth ¥200.00");
}

}  // namespace
}  // namespace chakong::engine
