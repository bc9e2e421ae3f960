#include "chakong/institution/institution.h"

#include <gtest/gtest.h>

namespace chakong::institution {
namespace {

using connectors::AssetCategory;
using connectors::Request;
using connectors::RequestKind;
using connectors::Response;

constexpr char kDebtor[] = "11010519491231002X";
constexpr char kCase[] = "（2025）渝0110执9号";
constexpr char kOther[] = "（2025）渝0112执3号";

Date d(const char* s) { return Date::parse(s).value(); }

class InstitutionTest : public ::testing::Test {
 protected:
  InstitutionTest() : bank_("bank.t", connectors::Capabilities::all()) {
    EXPECT_TRUE(bank_.add_asset({AssetCategory::kDeposit, "acct-1", Fen(100'000), kDebtor}).ok());
  }
  Request control(RequestKind kind, std::string key, const char* case_number = kCase) {
    Request r;
    r.kind = kind;
    r.idempotency_key = std::move(key);
    r.case_number = case_number;
    r.debtor_id = kDebtor;
    r.ruling_number = std::string(case_number) + "之一";
    r.asset.reference = "acct-1";
    r.asset.category = AssetCategory::kDeposit;
    return r;
  }
  Institution bank_;
};

TEST_F(InstitutionTest, LimitedFreezeCapsAtTheBalance) {
  Request r = control(RequestKind::kFreeze, "k1");
  r.amount = Fen(250'000);
  Response resp = bank_.handle(r, d("2025-03-10"));
  ASSERT_TRUE(resp.status.ok()) << resp.status.to_string();
  EXPECT_EQ(resp.requested, Fen(250'000));
  EXPECT_EQ(resp.frozen, Fen(100'000));
  EXPECT_EQ(resp.balance, Fen(100'000));
  EXPECT_EQ(resp.end_date, d("2026-03-09"));
  EXPECT_EQ(bank_.frozen_for_case(kCase), Fen(100'000));
}

TEST_F(InstitutionTest, TopUpFromLaterCreditsUpToTheLimit) {
  Request r = control(RequestKind::kFreeze, "k1");
  r.amount = Fen(150'000);
  ASSERT_TRUE(bank_.handle(r, d("2025-03-10")).status.ok());
  ASSERT_TRUE(bank_.credit("acct-1", Fen(80'000), d("2025-03-11")).ok());
  EXPECT_EQ(bank_.frozen_for_case(kCase), Fen(150'000));
  EXPECT_EQ(*bank_.balance("acct-1"), Fen(180'000));
  EXPECT_EQ(*bank_.debit("acct-1", Fen(50'000)), Fen(30'000));  // Only unfrozen funds.
}

TEST_F(InstitutionTest, RepeatedKeyReplaysTheFirstAnswer) {
  Request r = control(RequestKind::kFreeze, "same");
  r.amount = Fen(40'000);
  Response a = bank_.handle(r, d("2025-03-10"));
  Response b = bank_.handle(r, d("2025-03-12"));
  EXPECT_EQ(a.measure_id, b.measure_id);
  EXPECT_EQ(bank_.measures_on("acct-1").size(), 1u);
  EXPECT_EQ(bank_.idempotent_replays(), 1u);
}

TEST_F(InstitutionTest, WaitlistFillsOnReleaseAndOnLapse) {
  Request first = control(RequestKind::kFreeze, "o1", kOther);
  first.amount = Fen(100'000);
  Response held = bank_.handle(first, d("2025-03-10"));
  ASSERT_EQ(held.frozen, Fen(100'000));
  // A second authority's freeze is refused with the prior measure listed...
  Request mine = control(RequestKind::kFreeze, "m1");
  mine.amount = Fen(60'000);
  Response refused = bank_.handle(mine, d("2025-03-11"));
  EXPECT_EQ(refused.status.code(), StatusCode::kFailedPrecondition);
  ASSERT_EQ(refused.prior_measures.size(), 1u);
  EXPECT_EQ(refused.prior_measures[0].authority, kOther);
  EXPECT_EQ(refused.prior_measures[0].amount, Fen(100'000));
  // ...and queues on the waiting list.
  Request wait = control(RequestKind::kWaitlistFreeze, "m2");
  wait.amount = Fen(60'000);
  Response queued = bank_.handle(wait, d("2025-03-11"));
  ASSERT_TRUE(queued.status.ok());
  EXPECT_EQ(queued.queue_position, 1);
  EXPECT_EQ(queued.frozen, Fen(0));
  // The prior measure lapses (never renewed): the waiter takes effect with a fresh term.
  EXPECT_EQ(bank_.expire(d("2026-03-10")), 1);
  const MeasureRecord* m = bank_.measure(queued.measure_id);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->state, MeasureState::kActive);
  EXPECT_EQ(m->frozen, Fen(60'000));
  EXPECT_EQ(m->effective, d("2026-03-10"));
  EXPECT_EQ(m->end, d("2027-03-09"));
  EXPECT_EQ(bank_.lapsed(), 1u);
}

TEST_F(InstitutionTest, RenewExtendsByTheTermFromTheDayAfterTheEnd) {
  Request r = control(RequestKind::kFreeze, "k1");
  r.amount = Fen(10'000);
  Response f = bank_.handle(r, d("2024-02-29"));
  EXPECT_EQ(f.end_date, d("2025-02-28"));
  Request renew = control(RequestKind::kRenew, "k2");
  renew.measure_id = f.measure_id;
  Response rr = bank_.handle(renew, d("2025-02-01"));
  ASSERT_TRUE(rr.status.ok());
  EXPECT_EQ(rr.end_date, d("2026-02-28"));
}

TEST_F(InstitutionTest, DeductMovesExactlyTheFrozenAmount) {
  Request r = control(RequestKind::kFreeze, "k1");
  r.amount = Fen(30'000);
  Response f = bank_.handle(r, d("2025-03-10"));
  Request ded = control(RequestKind::kDeduct, "k2");
  ded.measure_id = f.measure_id;
  Response dr = bank_.handle(ded, d("2025-03-20"));
  ASSERT_TRUE(dr.status.ok());
  EXPECT_EQ(dr.frozen, Fen(30'000));
  EXPECT_EQ(*bank_.balance("acct-1"), Fen(70'000));
  EXPECT_EQ(bank_.deducted_for_case(kCase), Fen(30'000));
  EXPECT_EQ(bank_.measure(f.measure_id)->state, MeasureState::kDeducted);
}

TEST(InstitutionDisposalTest, FullDisposalVoidsLaterWaiters) {
  Institution registry("real_estate.t", connectors::Capabilities::all());
  ASSERT_TRUE(
      registry.add_asset({AssetCategory::kRealEstate, "渝(2020)1", Fen(90'000'000), kDebtor}).ok());
  Request seal;
  seal.kind = RequestKind::kFreeze;
  seal.idempotency_key = "s1";
  seal.case_number = kCase;
  seal.debtor_id = kDebtor;
  seal.ruling_number = "r";
  seal.asset.reference = "渝(2020)1";
  Response first = registry.handle(seal, d("2025-01-06"));
  ASSERT_TRUE(first.status.ok());
  seal.kind = RequestKind::kWaitlistFreeze;
  seal.idempotency_key = "s2";
  seal.case_number = kOther;
  Response waiter = registry.handle(seal, d("2025-01-07"));
  EXPECT_EQ(waiter.queue_position, 1);
  EXPECT_EQ(*registry.dispose("渝(2020)1"), 1);
  EXPECT_EQ(registry.measure(waiter.measure_id)->state, MeasureState::kVoided);
  EXPECT_EQ(registry.measure(first.measure_id)->state, MeasureState::kDeducted);
  EXPECT_EQ(registry.dispose("nowhere").status().code(), StatusCode::kNotFound);
}

TEST_F(InstitutionTest, RefusalsCarryExactCodes) {
  Request r = control(RequestKind::kFreeze, "k1");
  r.amount = Fen(10);
  r.ruling_number.clear();
  EXPECT_EQ(bank_.handle(r, d("2025-03-10")).status,
            invalid_argument_error("freeze needs ruling_number"));
  r = control(RequestKind::kFreeze, "k2");
  r.debtor_id = "500110200002290017";
  r.amount = Fen(10);
  EXPECT_EQ(bank_.handle(r, d("2025-03-10")).status.code(), StatusCode::kPermissionDenied);
  Institution registry("vehicle.cq", {RequestKind::kQuery, RequestKind::kFreeze});
  Request ded = control(RequestKind::kDeduct, "k3");
  EXPECT_EQ(registry.handle(ded, d("2025-03-10")).status,
            unimplemented_error("vehicle.cq does not support deduct"));
}

}  // namespace
}  // namespace chakong::institution
