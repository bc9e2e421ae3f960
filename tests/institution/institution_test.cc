#include "chakong/institution/institution.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <unordered_map>

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

TEST_F(InstitutionTest, AQueryIsNeverAReplayEvenUnderARememberedKey) {
  Request freeze = control(RequestKind::kFreeze, "shared");
  freeze.amount = Fen(40'000);
  const Response frozen = bank_.handle(freeze, d("2025-03-10"));
  ASSERT_TRUE(frozen.status.ok()) << frozen.status.to_string();
  ASSERT_TRUE(frozen.assets.empty());
  // Only control requests are remembered: a query under the same key is answered as a query
  // (the debtor's account), not with the freeze's remembered answer.
  Request query = control(RequestKind::kQuery, "shared");
  const Response found = bank_.handle(query, d("2025-03-11"));
  ASSERT_TRUE(found.status.ok()) << found.status.to_string();
  ASSERT_EQ(found.assets.size(), 1u);
  EXPECT_EQ(found.assets[0].reference, "acct-1");
  EXPECT_TRUE(found.measure_id.empty());
  EXPECT_EQ(bank_.idempotent_replays(), 0u);
  EXPECT_EQ(bank_.measures_on("acct-1").size(), 1u);
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

TEST_F(InstitutionTest, MeasureStatusReportsAWaiterAndItsConversion) {
  Request first = control(RequestKind::kFreeze, "o1", kOther);
  first.amount = Fen(100'000);
  const Response held = bank_.handle(first, d("2025-03-10"));
  Request wait = control(RequestKind::kWaitlistFreeze, "m1");
  wait.amount = Fen(60'000);
  const Response queued = bank_.handle(wait, d("2025-03-11"));
  Request ask = control(RequestKind::kMeasureStatus, "s1");
  ask.ruling_number.clear();  // A question about a measure needs no ruling.
  ask.measure_id = queued.measure_id;
  Response waiting = bank_.handle(ask, d("2025-03-12"));
  ASSERT_TRUE(waiting.status.ok()) << waiting.status.to_string();
  EXPECT_EQ(waiting.queue_position, 1);
  EXPECT_EQ(waiting.frozen, Fen());
  EXPECT_EQ(waiting.requested, Fen(60'000));
  EXPECT_EQ(waiting.measure_id, queued.measure_id);
  EXPECT_EQ(waiting.end_date, Date());
  // The prior measure is released: the same key asked again gets the state now (a status
  // answer is never replayed).
  Request release = control(RequestKind::kRelease, "o2", kOther);
  release.measure_id = held.measure_id;
  ASSERT_TRUE(bank_.handle(release, d("2025-04-01")).status.ok());
  const Response in_force = bank_.handle(ask, d("2025-04-02"));
  ASSERT_TRUE(in_force.status.ok()) << in_force.status.to_string();
  EXPECT_EQ(in_force.queue_position, 0);
  EXPECT_EQ(in_force.frozen, Fen(60'000));
  EXPECT_EQ(in_force.effective_date, d("2025-04-01"));
  EXPECT_EQ(in_force.end_date, d("2026-03-31"));
  EXPECT_EQ(bank_.idempotent_replays(), 0u);
  // Released: no longer in force, named.
  Request mine = control(RequestKind::kRelease, "m2");
  mine.measure_id = queued.measure_id;
  ASSERT_TRUE(bank_.handle(mine, d("2025-04-03")).status.ok());
  const Response ended = bank_.handle(ask, d("2025-04-04"));
  EXPECT_EQ(ended.status.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(ended.status.message(), "measure '" + queued.measure_id + "' is released");
  // Another case's measure, or none, is not told.
  Request other = ask;
  other.case_number = kOther;
  EXPECT_EQ(bank_.handle(other, d("2025-04-04")).status.code(), StatusCode::kPermissionDenied);
  ask.measure_id = "bank.t/99";
  EXPECT_EQ(bank_.handle(ask, d("2025-04-04")).status.code(), StatusCode::kNotFound);
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

// What the simulator's incremental checks rely on: every change to a measure's state, frozen
// amount or transfers is noted, the measures' holdings add up to add_held_by_case, and
// live_duplicates() is duplicate_measures() after every step, without a pass.
TEST_F(InstitutionTest, ChangeNotesHoldingsAndDuplicatesFollowEveryChange) {
  bank_.note_changes(true);
  std::vector<uint32_t> noted;
  const auto expect_consistent = [&](const char* step, std::vector<uint32_t> changed) {
    bank_.take_changed_measures(noted);
    std::sort(noted.begin(), noted.end());
    noted.erase(std::unique(noted.begin(), noted.end()), noted.end());
    EXPECT_EQ(noted, changed) << step;
    EXPECT_EQ(bank_.live_duplicates(), bank_.duplicate_measures()) << step;
    std::unordered_map<std::string, Fen> held, summed;
    bank_.add_held_by_case(held);
    for (uint32_t i = 0; i < bank_.measure_count(); ++i) {
      const Institution::Holding h = bank_.holding_of(i);
      if (h.listed) summed[bank_.measure_at(i).case_number] += h.amount;
    }
    EXPECT_EQ(held, summed) << step;
  };
  Request a = control(RequestKind::kFreeze, "a");
  a.amount = Fen(30'000);
  const Response fa = bank_.handle(a, d("2025-03-10"));
  expect_consistent("freeze", {0});
  Request b = control(RequestKind::kFreeze, "b");  // The same case on the same account again.
  b.amount = Fen(20'000);
  const Response fb = bank_.handle(b, d("2025-03-10"));
  expect_consistent("second freeze", {1});
  EXPECT_EQ(bank_.live_duplicates(), 1);
  Request w = control(RequestKind::kWaitlistFreeze, "w", kOther);
  w.amount = Fen(80'000);
  ASSERT_TRUE(bank_.handle(w, d("2025-03-11")).status.ok());  // 50,000 free: it takes effect.
  expect_consistent("waitlist", {2});
  Request release = control(RequestKind::kRelease, "r");
  release.measure_id = fa.measure_id;
  ASSERT_TRUE(bank_.handle(release, d("2025-03-12")).status.ok());  // The waiter fills up.
  expect_consistent("release", {0, 2});
  EXPECT_EQ(bank_.live_duplicates(), 0);
  Request deduct = control(RequestKind::kDeduct, "d");
  deduct.measure_id = fb.measure_id;
  deduct.amount = Fen(5'000);
  ASSERT_TRUE(bank_.handle(deduct, d("2025-03-20")).status.ok());
  expect_consistent("partial deduction", {1});
  EXPECT_EQ(bank_.holding_of(1).amount, Fen(20'000));  // 15,000 frozen + 5,000 transferred.
  ASSERT_TRUE(bank_.credit("acct-1", Fen(1'000), d("2025-03-21")).ok());
  expect_consistent("credit (no short measure to top up)", {});
  EXPECT_EQ(bank_.expire(d("2026-06-01")), 2);
  expect_consistent("lapses", {1, 2});
  EXPECT_TRUE(bank_.holding_of(1).listed);  // Its deduction lists the case for good.
  EXPECT_EQ(bank_.holding_of(1).amount, Fen(5'000));
  EXPECT_FALSE(bank_.holding_of(2).listed);

  Institution depository("securities.t", connectors::Capabilities::all());
  Asset shares{AssetCategory::kSecurities, "sh-1", Fen(120'000), kDebtor};
  shares.quantity = 40;
  shares.unit_price = Fen(3'000);
  ASSERT_TRUE(depository.add_asset(shares).ok());
  Request s = control(RequestKind::kFreeze, "s");
  s.asset.reference = "sh-1";
  s.asset.category = AssetCategory::kSecurities;
  s.amount = Fen(10'000);
  ASSERT_TRUE(depository.handle(s, d("2025-03-10")).status.ok());
  std::unordered_map<std::string, Fen> slack;
  depository.add_unit_slack_by_case(slack);
  EXPECT_EQ(depository.holding_of(0).unit_slack, Fen(2'999));
  EXPECT_EQ(slack[kCase], Fen(2'999));
}

// The holder index (an open-addressing table grown as holders are added): every holder's query
// finds exactly its own assets, in the order added, across the table's growths; IDs that differ
// only in their last byte, or are short or long, are told apart; an unknown ID is an
// empty answer.
TEST(InstitutionHolderTest, EveryHolderFindsItsOwnAssetsAcrossTheIndexGrowing) {
  Institution bank("bank.h", connectors::Capabilities::all());
  std::vector<std::string> ids = {"7", "1234567", "12345678", "123456789"};
  for (int i = 0; i < 2000; ++i) {
    char id[19];
    std::snprintf(id, sizeof id, "110105194912%05d", i);
    ids.emplace_back(id);
    ids.back().push_back(i % 2 ? 'X' : '1');
  }
  ids.push_back(std::string(100, 'a'));
  // Two assets each (the second added after every holder's first, so the table grows between).
  for (int round = 0; round < 2; ++round) {
    for (size_t k = 0; k < ids.size(); ++k) {
      ASSERT_TRUE(bank.add_asset({AssetCategory::kDeposit,
                                  "acct-" + std::to_string(k) + "-" + std::to_string(round),
                                  Fen(100 + static_cast<int64_t>(k)), ids[k]})
                      .ok())
          << k;
    }
  }
  Request q;
  q.kind = RequestKind::kQuery;
  q.case_number = kCase;
  for (size_t k = 0; k < ids.size(); ++k) {
    q.idempotency_key = "q" + std::to_string(k);
    q.debtor_id = ids[k];
    const Response r = bank.handle(q, d("2025-03-03"));
    ASSERT_EQ(r.assets.size(), 2u) << k;
    EXPECT_EQ(r.assets[0].reference, "acct-" + std::to_string(k) + "-0");
    EXPECT_EQ(r.assets[1].reference, "acct-" + std::to_string(k) + "-1");
    EXPECT_EQ(r.assets[1].holder_id, ids[k]);
  }
  for (const char* unknown : {"11010519491200000X", "123456", "1234567890", "b"}) {
    q.debtor_id = unknown;
    const Response r = bank.handle(q, d("2025-03-03"));
    EXPECT_EQ(r.status, ok_status()) << unknown;
    EXPECT_TRUE(r.assets.empty()) << unknown;
  }
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
