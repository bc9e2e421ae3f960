// The case machine's query fan-out and findings driven with scripted inputs, asserting the
// exact effects it returns (as case_machine_test.cc does for measures): rounds to every
// connector in scope, answers becoming findings, the 48-hour clock, leads, refusals and the
// open rounds a restart sends again. No executor, dispatcher or journal is involved.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/src/case_machine.h"
#include "tests/engine/case_machine_fixture.h"

namespace chakong::engine::machine {
namespace {

using connectors::Capabilities;
using connectors::RequestKind;
using connectors::Response;

constexpr char kNumber[] = "（2025）渝0110执1001号";

using test_support::at;
using test_support::day;

class CaseMachineQueries : public test_support::CaseMachineTest {
 protected:
  CaseMachineQueries() {
    // c0 queries and freezes; c1 only answers queries (a registry); c2 only freezes; c3 is
    // out of scope.
    connectors_ = {{nullptr, "bank.a", Capabilities::all(), false},
                   {nullptr, "land.registry", Capabilities{RequestKind::kQuery}, false},
                   {nullptr, "tax", Capabilities{RequestKind::kFreeze}, false},
                   {nullptr, "bank.c", Capabilities::all(), false}};
    config_.query_scope = [](std::string_view name) { return name != "bank.c"; };
    file(kNumber, 100'000);
    c_.filing.claim = Fen();  // The budget alone.
    c_.filing.debtors.push_back({DebtorInfo::Kind::kPerson, "d2", "Li"});
    c_.filing.received_at = received_;  // A Monday.
  }

  std::string query(uint64_t round, int connector) const {
    return "send query round=" + std::to_string(round) + " c" + std::to_string(connector) +
           " lane=normal deadline=" + at(received_ + 7 * kMicrosPerDay);
  }
  static Asset asset(std::string holder, std::string reference, AssetCategory category,
                     int64_t fen) {
    Asset a;
    a.holder_id = std::move(holder);
    a.reference = std::move(reference);
    a.category = category;
    a.value = Fen(fen);
    return a;
  }

  const TimeUs received_ = day(2025, 10, 13).start_us();
  const TimeUs now_ = day(2025, 10, 15).start_us() + 9 * kMicrosPerHour;  // 2 working days.
};

TEST_F(CaseMachineQueries, StartSendsARoundPerDebtorToEveryConnectorInScopeThatQueries) {
  EXPECT_EQ(feed(Input::of(InputKind::kStartQueries), now_),
            (std::vector<std::string>{
                "case changed",
                "emit queries_started - 0 2 working days after receipt",
                query(1, 0),
                query(1, 1),
                query(2, 0),
                query(2, 1),
            }));
  EXPECT_EQ(c_.status, CaseStatus::kQuerying);
  EXPECT_EQ(c_.queries_outstanding, 4);
  ASSERT_EQ(c_.open_rounds.size(), 2u);
  EXPECT_EQ(c_.open_rounds[1].round, 2u);
  EXPECT_EQ(c_.open_rounds[1].debtor, "d2");
  EXPECT_EQ(c_.open_rounds[1].officer, "officer-1");
  EXPECT_EQ(stats_.query_scored, 1u);
  EXPECT_EQ(stats_.query_within_5wd, 1u);
  // Once only.
  EXPECT_EQ(feed(Input::of(InputKind::kStartQueries), now_ + 1), std::vector<std::string>{});
  // The key the shell writes for round 2 at land.registry.
  std::string key = "prefix:";
  queries::append_key(key, c_, 2, "d2", "land.registry");
  EXPECT_EQ(key, "prefix:" + std::string(kNumber) + "/query/2/d2/land.registry");
}

TEST_F(CaseMachineQueries, AnswersBecomeFindingsWithFortyEightHourClocksWhereTheyCanBeFrozen) {
  feed(Input::of(InputKind::kStartQueries), now_);
  Response bank;
  bank.assets = {asset("d1", "acct-7", AssetCategory::kDeposit, 80'000),
                 asset("d2", "acct-9", AssetCategory::kDeposit, 10'000),  // Not round 1's.
                 asset("d1", "acct-8", AssetCategory::kDeposit, 0)};      // Nothing to freeze.
  const TimeUs t = now_ + kMicrosPerHour;
  EXPECT_EQ(feed(Input::query_answer(0, 1, bank), t),
            (std::vector<std::string>{
                "case changed",
                "emit finding c0 80000 deposit",
                "arm clock f0 at=" + at(t + 48 * kMicrosPerHour),
                "emit finding c0 0 deposit",
                "plan",
            }));
  EXPECT_EQ(c_.status, CaseStatus::kControlling);
  EXPECT_EQ(c_.queries_outstanding, 3);
  ASSERT_EQ(c_.findings.size(), 2u);
  EXPECT_TRUE(c_.findings[0].clock_open);
  EXPECT_EQ(c_.findings[0].due, t + 48 * kMicrosPerHour);
  EXPECT_FALSE(c_.findings[1].clock_open);
  EXPECT_EQ(stats_.findings, 2u);
  EXPECT_EQ(stats_.control_started, 1u);
  // A registry that cannot freeze: a finding without a clock.
  Response land;
  land.assets = {asset("d1", "house-1", AssetCategory::kRealEstate, 5'000'000)};
  EXPECT_EQ(
      feed(Input::query_answer(1, 1, land), t + 1),
      (std::vector<std::string>{"case changed", "emit finding c1 5000000 real_estate", "plan"}));
  // A failure is reported; "not found" is an answer (nothing held).
  EXPECT_EQ(feed(Input::query_answer(0, 2, Response::error(unavailable_error("bank down"))), t + 2),
            (std::vector<std::string>{
                "case changed", "emit request_failed c0 0 query: UNAVAILABLE: bank down", "plan"}));
  EXPECT_EQ(feed(Input::query_answer(1, 2, Response::error(not_found_error("no record"))), t + 3),
            (std::vector<std::string>{"case changed", "plan"}));
  EXPECT_EQ(c_.queries_outstanding, 0);
  EXPECT_TRUE(c_.open_rounds.empty());
  // An officer's round finds the same account again: one finding, never two.
  EXPECT_EQ(feed(Input::query("d1", "officer-2"), t + 4),
            (std::vector<std::string>{"case changed", query(3, 0), query(3, 1)}));
  EXPECT_EQ(c_.open_rounds[0].officer, "officer-2");
  EXPECT_EQ(feed(Input::query_answer(0, 3, bank), t + 5),
            (std::vector<std::string>{"case changed", "plan"}));
  EXPECT_EQ(c_.findings.size(), 3u);
  EXPECT_EQ(stats_.query_scored, 1u);  // Scored at the first round only.
}

TEST_F(CaseMachineQueries, ClockRunningOutIsReportedMissedOnceAndAStoppedClockIsNot) {
  c_.status = CaseStatus::kQuerying;
  Response bank;
  bank.assets = {asset("d1", "acct-7", AssetCategory::kDeposit, 80'000),
                 asset("d1", "acct-8", AssetCategory::kDeposit, 20'000)};
  c_.open_rounds = {{1, "d1", "officer-1"}};
  c_.queries_outstanding = 2;
  feed(Input::query_answer(0, 1, bank), now_);
  const TimeUs due = now_ + 48 * kMicrosPerHour;
  EXPECT_EQ(feed(Input::timer_fired(TimerKind::kClock, 0), due),
            (std::vector<std::string>{
                "case changed",
                "emit control_missed c0 80000 not controlled within 48 hours of the finding"}));
  EXPECT_FALSE(c_.findings[0].clock_open);
  EXPECT_EQ(stats_.control_missed, 1u);
  EXPECT_EQ(feed(Input::timer_fired(TimerKind::kClock, 0), due + 1), std::vector<std::string>{});
  // Finding 1 controlled in time: its clock stops, and a late firing reports nothing.
  fx_.clear();
  findings::stop_clock(c_, 1, fx_);
  EXPECT_EQ(lines(), (std::vector<std::string>{"case changed", "cancel clock f1"}));
  fx_.clear();
  findings::stop_clock(c_, 1, fx_);
  EXPECT_EQ(lines(), std::vector<std::string>{});
  EXPECT_EQ(feed(Input::timer_fired(TimerKind::kClock, 1), due), std::vector<std::string>{});
  EXPECT_EQ(stats_.control_missed, 1u);
}

TEST_F(CaseMachineQueries, LeadsAreFindingsOfACaseControllingThem) {
  c_.status = CaseStatus::kFiled;
  const TimeUs found = now_ - kMicrosPerHour;
  const std::vector<Lead> leads{{0, asset("d2", "acct-3", AssetCategory::kDeposit, 5'000), found},
                                {1, asset("d2", "house-2", AssetCategory::kRealEstate, 9), found}};
  EXPECT_EQ(feed(Input::leads_of(leads), now_),
            (std::vector<std::string>{
                "case changed",
                "emit finding c0 5000 deposit",
                "arm clock f0 at=" + at(found + 48 * kMicrosPerHour),
                "emit finding c1 9 real_estate",
                "plan",
            }));
  EXPECT_EQ(c_.status, CaseStatus::kControlling);
  EXPECT_EQ(feed(Input::leads_of({}), now_), std::vector<std::string>{});
  // The same lead again is known.
  EXPECT_EQ(feed(Input::leads_of(leads), now_), std::vector<std::string>{"plan"});
}

TEST_F(CaseMachineQueries, AConcludedCaseFindsWithoutAClock) {
  c_.status = CaseStatus::kConcluded;
  EXPECT_EQ(feed(Input::of(InputKind::kStartQueries), now_), std::vector<std::string>{});
  c_.open_rounds = {{4, "d1", "officer-1"}};
  c_.queries_outstanding = 1;
  Response bank;
  bank.assets = {asset("d1", "acct-7", AssetCategory::kDeposit, 80'000)};
  EXPECT_EQ(feed(Input::query_answer(0, 4, bank), now_),
            (std::vector<std::string>{"case changed", "emit finding c0 80000 deposit", "plan"}));
  EXPECT_EQ(stats_.control_started, 0u);
}

TEST_F(CaseMachineQueries, RefusedQueriesAreNoLongerOutstandingAndTheLastClosesTheRounds) {
  feed(Input::of(InputKind::kStartQueries), now_);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(feed(Input::query_refused(0, 1), now_), std::vector<std::string>{"case changed"});
  }
  EXPECT_EQ(c_.open_rounds.size(), 2u);
  feed(Input::query_refused(1, 2), now_);
  EXPECT_EQ(c_.queries_outstanding, 0);
  EXPECT_TRUE(c_.open_rounds.empty());
}

TEST_F(CaseMachineQueries, ARestartSendsTheOpenRoundsAgainWithTheirRounds) {
  // As recovered: two rounds open, nothing in flight.
  c_.status = CaseStatus::kQuerying;
  c_.queries_started = c_.query_scored = true;
  c_.open_rounds = {{3, "d1", "officer-1"}, {5, "d2", "officer-1"}};
  EXPECT_EQ(feed(Input::of(InputKind::kResendQueries), now_),
            (std::vector<std::string>{query(3, 0), query(3, 1), query(5, 0), query(5, 1)}));
  EXPECT_EQ(c_.queries_outstanding, 4);
  // No connector in scope any more: the rounds close.
  config_.query_scope = [](std::string_view) { return false; };
  c_.queries_outstanding = 0;
  EXPECT_EQ(feed(Input::of(InputKind::kResendQueries), now_),
            std::vector<std::string>{"case changed"});
  EXPECT_TRUE(c_.open_rounds.empty());
}

}  // namespace
}  // namespace chakong::engine::machine
