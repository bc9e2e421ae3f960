// The case machine's restoration driven with scripted inputs, asserting the exact effects it
// returns (as case_machine_test.cc does for measures): which cases may be restored, the
// original marked restored, and the restored case taking its leads as findings whose 48-hour
// clocks start at once. No executor, dispatcher or journal is involved.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/src/case_machine.h"
#include "tests/engine/case_machine_fixture.h"

namespace chakong::engine::machine {
namespace {

using connectors::Capabilities;

constexpr char kOriginal[] = "（2025）渝0110执1001号";
constexpr char kRestored[] = "（2026）渝0110执恢7号";

using test_support::at;
using test_support::day;

class CaseMachineRestoration : public test_support::CaseMachineTest {
 protected:
  CaseMachineRestoration() {
    connectors_ = {{nullptr, "bank.a", Capabilities::all(), false}};
    // The restored case as the shell files it: 400.00 still owed, received now.
    file(kRestored, 40'000);
    c_.filing.received_at = now_;
    Lead lead;
    lead.connector = 0;
    lead.asset.holder_id = "d1";
    lead.asset.reference = "acct-new";
    lead.asset.category = AssetCategory::kDeposit;
    lead.asset.value = Fen(90'000);
    lead.found_at = now_;
    leads_.push_back(lead);
  }

  // A terminated original case owing 400.00 of 1,000.00.
  static CaseState terminated() {
    CaseState o;
    o.number = kOriginal;
    o.status = CaseStatus::kTerminated;
    o.ledger = Ledger::restore(Fen(100'000), Fen(), Fen(), Fen(), Fen(60'000), Fen());
    return o;
  }

  const TimeUs now_ = day(2026, 4, 14).start_us() + 9 * kMicrosPerHour;
  std::vector<Lead> leads_;
};

TEST_F(CaseMachineRestoration, OnlyATerminatedCaseWithMoneyOwedIsRestored) {
  CaseState o = terminated();
  EXPECT_TRUE(restoration::restorable(o).ok());
  restoration::mark_restored(o, kRestored, fx_);
  EXPECT_EQ(o.status, CaseStatus::kRestored);
  EXPECT_EQ(o.restored_as, kRestored);
  ASSERT_EQ(fx_.list().size(), 1u);
  EXPECT_EQ(describe(fx_.list()[0]), "case changed");
  EXPECT_EQ(restoration::restorable(o),
            failed_precondition_error("case " + std::string(kOriginal) +
                                      " is restored; only a terminated case can be restored"));
  o = terminated();
  o.ledger = Ledger::restore(Fen(100'000), Fen(), Fen(), Fen(), Fen(100'000), Fen());
  EXPECT_EQ(restoration::restorable(o), failed_precondition_error("case " + std::string(kOriginal) +
                                                                  " has nothing left to enforce"));
}

TEST_F(CaseMachineRestoration, ALeadBecomesAFindingOfTheRestoredCaseWithItsClockAtOnce) {
  EXPECT_EQ(feed(Input::of(InputKind::kFiled), now_),
            (std::vector<std::string>{"emit case_filed - 40000 ", "arm start at=" + at(now_)}));
  const TimeUs due = now_ + 48 * kMicrosPerHour;
  EXPECT_EQ(feed(Input::restored(leads_, /*fan_out=*/true), now_),
            (std::vector<std::string>{
                "case changed",
                "emit finding c0 90000 deposit",
                "arm clock f0 at=" + at(due),
                "plan",
            }));
  EXPECT_EQ(c_.status, CaseStatus::kControlling);
  ASSERT_EQ(c_.findings.size(), 1u);
  EXPECT_EQ(c_.findings[0].asset.reference, "acct-new");
  EXPECT_TRUE(c_.findings[0].clock_open);
  EXPECT_EQ(stats_.control_started, 1u);
  EXPECT_FALSE(c_.queries_started);  // Its own fan-out still runs (kStart).
  // The planner freezes what is owed on the lead, by its clock.
  EXPECT_EQ(feed(Input::of(InputKind::kPlan), now_ + 1),
            (std::vector<std::string>{
                "case changed",
                "send freeze f0 c0 key=" + std::string(kRestored) +
                    "/freeze/0 measure= amount=40000 lane=urgent deadline=" + at(due),
            }));
}

TEST_F(CaseMachineRestoration, ASweepHitRestoresWithoutASecondFanOut) {
  feed(Input::of(InputKind::kFiled), now_);
  EXPECT_EQ(feed(Input::restored(leads_, /*fan_out=*/false), now_),
            (std::vector<std::string>{
                "cancel start",
                "case changed",
                "emit finding c0 90000 deposit",
                "arm clock f0 at=" + at(now_ + 48 * kMicrosPerHour),
                "plan",
            }));
  EXPECT_TRUE(c_.queries_started);
  EXPECT_TRUE(c_.query_scored);
  EXPECT_EQ(c_.status, CaseStatus::kControlling);
  // Its start, had it fired, finds the queries done.
  EXPECT_EQ(feed(Input::timer_fired(TimerKind::kStart, 0), now_ + 1), std::vector<std::string>{});
}

TEST_F(CaseMachineRestoration, ARestorationWithoutLeadsWaitsForItsOwnQueries) {
  feed(Input::of(InputKind::kFiled), now_);
  EXPECT_EQ(feed(Input::restored({}, /*fan_out=*/true), now_), std::vector<std::string>{});
  EXPECT_EQ(c_.status, CaseStatus::kFiled);
}

}  // namespace
}  // namespace chakong::engine::machine
